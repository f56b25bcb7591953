#include "sse/app/recorder.h"

#include "sse/util/log.h"

namespace sse {

PollRecorder::PollRecorder(Metrics& metrics, Tracker& tracker,
                           StateKeeper& keeper, WallClock now)
    : metrics_(metrics),
      tracker_(tracker),
      keeper_(keeper),
      now_(std::move(now)) {}

PollRecorder::~PollRecorder() {
  for (auto& [name, record] : records_) record->closed = true;
}

void PollRecorder::Track(const std::string& name, const std::string& type,
                         const TrackerOptions& options) {
  const PersistedService* saved = keeper_.Claim(name);
  if (tracker_.Has(name)) {
    tracker_.Add(name, type, options, now_());
    return;
  }
  if (saved != nullptr && saved->type == type) {
    tracker_.Restore(name, *saved, options);
    Log(LogLevel::kDebug, "service restored from state file",
        {{"service", name}, {"state", saved->state}});
  } else {
    tracker_.Add(name, type, options, now_());
  }
}

void PollRecorder::Untrack(const std::string& name) {
  tracker_.Remove(name);
  Close(name);
  keeper_.Release(name);
}

std::shared_ptr<PollRecorder::Record> PollRecorder::Open(
    const std::string& name) {
  auto& record = records_[name];
  if (!record) record = std::make_shared<Record>();
  return record;
}

const PollRecorder::Record* PollRecorder::Find(const std::string& name) const {
  auto it = records_.find(name);
  return it == records_.end() ? nullptr : it->second.get();
}

void PollRecorder::Close(const std::string& name) {
  auto it = records_.find(name);
  if (it == records_.end()) return;
  Record& record = *it->second;
  for (Series*& counter : record.series.polls) {
    if (counter != nullptr) metrics_.polls.Remove(counter);
    counter = nullptr;
  }
  if (record.series.last_poll)
    metrics_.last_poll.Remove(record.series.last_poll);
  record.series.last_poll = nullptr;
  record.tracked = nullptr;
  record.closed = true;
  records_.erase(it);
}

void PollRecorder::CountPoll(Record& record, const std::string& target,
                             Outcome outcome, const PollResult& result) {
  Series*& counter = record.series.polls[static_cast<std::size_t>(outcome)];
  if (counter == nullptr) {
    counter = &metrics_.polls.Add(
        {{"service_name", target}, {"outcome", OutcomeName(outcome)}});
  }
  counter->Increment();
  if (record.series.last_poll == nullptr) {
    record.series.last_poll =
        &metrics_.last_poll.Add({{"service_name", target}});
  }
  record.series.last_poll->Set(result.finished_at);
  metrics_.poll_duration.Observe(result.duration_seconds);
}

void PollRecorder::Observe(Record& record, const std::string& name,
                           const std::string& type, const std::string& state,
                           Outcome outcome, const std::string& error,
                           double when, double duration) {
  PollStatus& st = record.status;
  const bool was_ok = !st.polled || st.outcome == OutcomeName(Outcome::kOk);
  st.polled = true;
  st.outcome = OutcomeName(outcome);
  st.error = error;
  st.last_poll = when;
  st.duration_seconds = duration;
  Tracker::Ref tracked =
      record.tracked != nullptr ? record.tracked : tracker_.Find(name);
  ObserveResult observed =
      tracker_.Observe(tracked, state, when, ObserveCause{outcome, error});
  st.last_state = observed.state;
  if (outcome != Outcome::kOk) {
    // The first failure after a success is a warning; repeats are debug so
    // that a dead target does not flood the log.
    Log(was_ok ? LogLevel::kWarn : LogLevel::kDebug, "poll failed",
        {{"service", name},
         {"outcome", OutcomeName(outcome)},
         {"state", observed.state},
         {"err", error}});
  } else {
    Log(LogLevel::kDebug, "poll",
        {{"service", name}, {"state", observed.state}});
  }
  if (observed.cap_reached) {
    Log(LogLevel::kWarn,
        "service reports more distinct states than allowed; extra states are "
        "reported as 'other'",
        {{"service", name}});
  }
  if (observed.commit) {
    Log(LogLevel::kInfo,
        observed.commit->counted ? "state change" : "initial state",
        {{"service", name},
         {"type", type},
         {"from", observed.commit->from},
         {"to", observed.commit->to}});
    if (keeper_.enabled()) {
      if (auto p = tracker_.Persist(name)) keeper_.Update(name, std::move(*p));
    }
    if (on_commit_) {
      HistoryEvent event;
      event.time = when;
      event.from = observed.commit->from;
      event.to = observed.commit->to;
      event.outcome = outcome;
      event.error = TruncateUtf8(error, kMaxHistoryErrorLength);
      event.counted = observed.commit->counted;
      on_commit_(FleetEvent{name, type, std::move(event)});
    }
  }
}

}  // namespace sse
