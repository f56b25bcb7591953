#include "sse/core/tracker.h"

#include <algorithm>
#include <queue>
#include <set>
#include <tuple>

namespace sse {

namespace {

bool IsUp(const TrackerOptions& options, const std::string& state) {
  return std::find(options.up_states.begin(), options.up_states.end(), state) !=
         options.up_states.end();
}

}  // namespace

void Tracker::Add(const std::string& name, const std::string& type,
                  const TrackerOptions& options, double now) {
  auto it = services_.find(name);
  if (it != services_.end()) {
    if (it->second->type == type) {
      Service& s = *it->second;
      s.options = Intern(options);
      s.up->Set(IsUp(options, s.state) ? 1 : 0);
      return;
    }
    Remove(name);
  }
  auto s = std::make_unique<Service>();
  s->name = name;
  s->type = type;
  s->options = Intern(options);
  s->since = now;
  const prometheus::Labels labels{{"service_name", name},
                                  {"service_type", type}};
  s->up = &metrics_.up.Add(labels);
  s->entered = &metrics_.entered.Add(labels);
  s->changes = &metrics_.changes.Add(labels);
  s->entered->Set(now);
  StateGauge(*s, s->state).Set(1);
  s->up->Set(IsUp(options, s->state) ? 1 : 0);
  services_.emplace(name, std::move(s));
}

std::shared_ptr<const TrackerOptions> Tracker::Intern(
    const TrackerOptions& options) {
  // Few distinct options (most services take the global ones): drop those
  // no service uses any more, share an equal one if there is one.
  std::erase_if(options_, [](const auto& o) { return o.use_count() == 1; });
  for (const auto& known : options_) {
    if (*known == options) return known;
  }
  options_.push_back(std::make_shared<const TrackerOptions>(options));
  return options_.back();
}

void Tracker::Restore(const std::string& name, const PersistedService& saved,
                      const TrackerOptions& options) {
  Remove(name);
  Add(name, saved.type, options, saved.since);
  Service& s = *services_.at(name);
  s.observed = true;
  StateGauge(s, s.state).Set(0);
  s.state = saved.state;
  if (s.state != kStateUnknown && s.state != kStateOther) {
    s.raw_states.insert(s.state);
  }
  StateGauge(s, s.state).Set(1);
  s.up->Set(IsUp(options, s.state) ? 1 : 0);
  double total = 0;
  for (const auto& [pair, value] : saved.transitions) {
    TransitionCounter(s, pair.first, pair.second).Increment(value);
    TransitionCounter(s, pair.second, pair.first);
    total += value;
    StateGauge(s, pair.first);
    StateGauge(s, pair.second);
  }
  s.changes->Increment(total);
  if (!saved.history.empty()) {
    const std::vector<HistoryEvent> events = saved.history.Unpack();
    const std::size_t skip =
        events.size() > history_size_ ? events.size() - history_size_ : 0;
    for (std::size_t i = skip; i < events.size(); ++i)
      s.history.Push(symbols_, events[i], history_size_);
  }
}

void Tracker::Remove(const std::string& name) {
  auto it = services_.find(name);
  if (it == services_.end()) return;
  Service& s = *it->second;
  metrics_.up.Remove(s.up);
  metrics_.entered.Remove(s.entered);
  metrics_.changes.Remove(s.changes);
  for (auto& [state, gauge] : s.state_gauges) metrics_.state.Remove(gauge);
  for (auto& [pair, counter] : s.transitions)
    metrics_.transitions.Remove(counter);
  s.history.Clear(symbols_);
  services_.erase(it);
}

Series& Tracker::StateGauge(Service& s, const std::string& state) {
  auto it = s.state_gauges.find(state);
  if (it != s.state_gauges.end()) return *it->second;
  Series& gauge = metrics_.state.Add(
      {{"service_name", s.name}, {"service_type", s.type}, {"state", state}});
  s.state_gauges.emplace(state, &gauge);
  return gauge;
}

Series& Tracker::TransitionCounter(Service& s, const std::string& from,
                                   const std::string& to) {
  auto key = std::make_pair(from, to);
  auto it = s.transitions.find(key);
  if (it != s.transitions.end()) return *it->second;
  Series& counter = metrics_.transitions.Add({{"service_name", s.name},
                                              {"service_type", s.type},
                                              {"from_state", from},
                                              {"to_state", to}});
  s.transitions.emplace(key, &counter);
  return counter;
}

void Tracker::CommitState(Service& s, const std::string& to, bool counted,
                          double now, const ObserveCause& cause) {
  const std::string from = s.state;
  if (history_size_ > 0) {
    HistoryEvent event;
    event.time = now;
    event.from = from;
    event.to = to;
    event.outcome = cause.outcome;
    event.error = cause.error;
    event.counted = counted;
    s.history.Push(symbols_, event, history_size_);
  }
  StateGauge(s, from).Set(0);
  StateGauge(s, to).Set(1);
  s.state = to;
  s.since = now;
  s.entered->Set(now);
  s.up->Set(IsUp(*s.options, to) ? 1 : 0);
  s.candidate.clear();
  s.streak = 0;
  if (counted) {
    TransitionCounter(s, from, to).Increment();
    // Export the likely next transition at 0 so that its first increment is
    // not lost to increase().
    TransitionCounter(s, to, from);
    s.changes->Increment();
  }
}

Tracker::Ref Tracker::Find(const std::string& name) {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second.get();
}

ObserveResult Tracker::Observe(const std::string& name,
                               const std::string& raw_state, double now,
                               const ObserveCause& cause) {
  return Observe(Find(name), raw_state, now, cause);
}

ObserveResult Tracker::Observe(Ref service, const std::string& raw_state,
                               double now, const ObserveCause& cause) {
  ObserveResult result;
  if (service == nullptr) return result;
  Service& s = *service;

  // Cardinality guard: `unknown` and `other` do not count towards the cap.
  // The current state needs no look-up (the usual case): it is one of them
  // or already counted.
  std::string state = raw_state;
  if (state != s.state && state != kStateUnknown && state != kStateOther &&
      !s.raw_states.contains(state)) {
    if (static_cast<int>(s.raw_states.size()) >= s.options->max_states) {
      state = kStateOther;
      if (!s.cap_warned) {
        s.cap_warned = true;
        result.cap_reached = true;
      }
    } else {
      s.raw_states.insert(state);
    }
  }
  result.state = state;

  if (!s.observed) {
    // The first real observation replaces the placeholder without counting:
    // an exporter restart must not look like a fleet-wide flap.
    if (state == kStateUnknown) return result;
    s.observed = true;
    result.commit = Commit{s.state, state, false};
    CommitState(s, state, false, now, cause);
    return result;
  }
  if (state == s.state) {
    s.candidate.clear();
    s.streak = 0;
    return result;
  }
  if (state == s.candidate) {
    ++s.streak;
  } else {
    s.candidate = state;
    s.streak = 1;
  }
  if (s.streak >= s.options->transition_after) {
    result.commit = Commit{s.state, state, true};
    CommitState(s, state, true, now, cause);
  }
  return result;
}

ServiceView Tracker::MakeView(const Service& s, bool with_history) const {
  ServiceView v;
  v.name = s.name;
  v.type = s.type;
  v.state = s.state;
  v.since = s.since;
  v.up = IsUp(*s.options, s.state);
  v.observed = s.observed;
  v.changes = static_cast<std::uint64_t>(s.changes->Value());
  v.candidate = s.candidate;
  v.streak = s.streak;
  for (const auto& [pair, counter] : s.transitions)
    v.transitions[pair] = static_cast<std::uint64_t>(counter->Value());
  if (with_history) {
    v.history = s.history.All(symbols_);
    v.up_states = s.options->up_states;
  }
  return v;
}

std::optional<ServiceView> Tracker::View(const std::string& name) const {
  auto it = services_.find(name);
  if (it == services_.end()) return std::nullopt;
  return MakeView(*it->second, true);
}

std::vector<ServiceView> Tracker::ViewAll() const {
  std::vector<ServiceView> out;
  out.reserve(services_.size());
  for (const auto& [name, s] : services_) out.push_back(MakeView(*s, false));
  std::sort(out.begin(), out.end(),
            [](const ServiceView& a, const ServiceView& b) {
              return a.name < b.name;
            });
  return out;
}

std::vector<ServiceBrief> Tracker::Briefs() const {
  std::vector<ServiceBrief> out;
  out.reserve(services_.size());
  for (const auto& [name, s] : services_) {
    out.push_back(ServiceBrief{
        &s->name, &s->type, &s->state, s->since, IsUp(*s->options, s->state),
        static_cast<std::uint64_t>(s->changes->Value())});
  }
  return out;
}

std::optional<PersistedService> Tracker::Persist(
    const std::string& name) const {
  auto it = services_.find(name);
  if (it == services_.end() || !it->second->observed) return std::nullopt;
  const Service& s = *it->second;
  PersistedService p;
  p.type = s.type;
  p.state = s.state;
  p.since = s.since;
  for (const auto& [pair, counter] : s.transitions) {
    if (counter->Value() > 0) p.transitions[pair] = counter->Value();
  }
  if (!s.history.empty())
    p.history = PackedHistory::Pack(s.history.All(symbols_));
  return p;
}

void Tracker::SetHistorySize(std::size_t size) {
  history_size_ = std::min(size, kMaxHistorySize);
  for (auto& [name, s] : services_) s->history.Shrink(symbols_, history_size_);
}

std::vector<FleetEvent> Tracker::Events(const EventQuery& query) const {
  // Each history is sorted by time: merge them newest first with a heap of
  // one cursor per service.
  struct Cursor {
    double time;
    const Service* service;
    std::size_t index;  // into its ring, 0 oldest
  };
  auto older = [](const Cursor& a, const Cursor& b) {
    return std::tie(a.time, b.service->name) <
           std::tie(b.time, a.service->name);
  };
  std::priority_queue<Cursor, std::vector<Cursor>, decltype(older)> heap(older);
  auto add = [&](const Service& s) {
    if (s.history.empty()) return;
    if (!query.type.empty() && s.type != query.type) return;
    const std::size_t last = s.history.size() - 1;
    if (s.history.TimeAt(last) < query.since) return;
    heap.push(Cursor{s.history.TimeAt(last), &s, last});
  };
  if (!query.service.empty()) {
    if (auto it = services_.find(query.service); it != services_.end())
      add(*it->second);
  } else {
    for (const auto& [name, s] : services_) add(*s);
  }
  std::vector<FleetEvent> out;
  while (!heap.empty() && out.size() < query.limit) {
    Cursor c = heap.top();
    heap.pop();
    out.push_back(FleetEvent{c.service->name, c.service->type,
                             c.service->history.At(symbols_, c.index)});
    if (c.index > 0 && c.service->history.TimeAt(c.index - 1) >= query.since) {
      --c.index;
      c.time = c.service->history.TimeAt(c.index);
      heap.push(c);
    }
  }
  return out;
}

std::size_t Tracker::HistoryBytes() const {
  std::size_t bytes = 0;
  for (const auto& [name, s] : services_) bytes += s->history.HeapBytes();
  return bytes;
}

std::vector<std::string> Tracker::Names() const {
  std::vector<std::string> out;
  out.reserve(services_.size());
  for (const auto& [name, s] : services_) out.push_back(name);
  return out;
}

}  // namespace sse
