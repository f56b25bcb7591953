#include "sse/app/fleet.h"

#include <boost/asio/co_spawn.hpp>

#include "sse/http/client.h"
#include "sse/probe/prober.h"

namespace sse {

namespace net = boost::asio;

namespace {

TrackerOptions OptionsFor(const ServiceConfig& s) {
  return TrackerOptions{s.up_states, s.transition_after, s.max_states};
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

const NameRegistry::Owner* NameRegistry::Find(const std::string& name) const {
  auto it = owners_.find(name);
  return it == owners_.end() ? nullptr : &it->second;
}

void NameRegistry::ClearListsAndServices() {
  std::erase_if(owners_, [](const auto& entry) {
    return entry.second.kind != Kind::kMember;
  });
}

// A service list being polled, and the services it currently reports.
struct Fleet::ListEntry {
  std::size_t index = 0;  // position in the config: lower wins a name
  ListConfig config;
  std::shared_ptr<PollLoop> poller;
  std::shared_ptr<McpSession> mcp;
  std::map<std::string, int> members;  // name -> polls absent in a row
  bool polled = false;
  std::size_t items = 0;  // in its last good answer
};

Fleet::Fleet(net::any_io_executor io, PollRecorder& recorder,
             PollerFactory make_poller, ShardFilter in_shard)
    : io_(io),
      recorder_(recorder),
      make_poller_(std::move(make_poller)),
      in_shard_(std::move(in_shard)) {}

Fleet::~Fleet() { Stop(); }

void Fleet::WarnOnce(const std::string& key, const char* msg,
                     std::initializer_list<LogField> fields) {
  if (conflicts_warned_.insert(key).second) Log(LogLevel::kWarn, msg, fields);
}

// ---- services ---------------------------------------------------------------

// The services to poll: config first, then discovered targets in block
// order; a name already taken is skipped (reported once); a list's member
// gives its name up to a service. Not copies: each shares the config or
// target list it is part of.
std::vector<std::shared_ptr<const ServiceConfig>> Fleet::DesiredServices(
    const std::vector<DiscoveredTargets>& discovered) {
  names_.ClearListsAndServices();
  // A list's own poll series and status go by its name.
  for (const auto& list : config_->lists) {
    if (const auto* o = names_.Find(list.name);
        o != nullptr && o->kind == NameRegistry::Kind::kMember) {
      if (auto it = lists_.find(o->list); it != lists_.end())
        DropMember(*it->second, list.name);
    }
    names_.Set(list.name, {NameRegistry::Kind::kList, list.name});
  }
  seen_services_ = config_->services.size();
  for (const auto& block : discovered) seen_services_ += block.targets->size();
  std::vector<std::shared_ptr<const ServiceConfig>> out;
  auto add = [&](const std::shared_ptr<const void>& owner,
                 const ServiceConfig& s, const std::string& origin) {
    if (!in_shard_(s.name)) return;
    const auto* o = names_.Find(s.name);
    if (o != nullptr && o->kind != NameRegistry::Kind::kMember) {
      WarnOnce(origin + "/" + s.name,
               "duplicate service name; keeping the first",
               {{"service", s.name}, {"origin", origin}});
      return;
    }
    if (o != nullptr) {
      // A service in the config or discovery takes its name from a list.
      if (auto it = lists_.find(o->list); it != lists_.end())
        DropMember(*it->second, s.name);
    }
    names_.Set(s.name, {NameRegistry::Kind::kService, ""});
    out.emplace_back(owner, &s);
  };
  for (const auto& s : config_->services) add(config_, s, "services");
  for (const auto& block : discovered) {
    for (const auto& s : *block.targets) add(block.targets, s, block.id);
  }
  return out;
}

void Fleet::ReconcileServices(
    const std::vector<DiscoveredTargets>& discovered) {
  std::vector<std::shared_ptr<const ServiceConfig>> desired =
      DesiredServices(discovered);
  std::set<std::string> wanted;
  for (const auto& s : desired) wanted.insert(s->name);
  std::vector<std::string> removed;
  for (const auto& [name, poller] : pollers_) {
    if (!wanted.contains(name)) removed.push_back(name);
  }
  for (const auto& name : removed) {
    Log(LogLevel::kInfo, "service removed", {{"service", name}});
    StopService(name);
    recorder_.Untrack(name);
  }
  for (const auto& shared : desired) {
    const ServiceConfig& service = *shared;
    auto it = pollers_.find(service.name);
    if (it != pollers_.end() && it->second->service().SamePolling(service)) {
      // Polls on, now sharing the new config: the old one can go.
      it->second->Rebind(shared);
      continue;
    }
    StopService(service.name);
    recorder_.Track(service.name, service.type, OptionsFor(service));
    std::shared_ptr<PollRecorder::Record> record = recorder_.Open(service.name);
    record->tracked = recorder_.tracker().Find(service.name);
    record->status.url = service.url.text;
    record->status.interval_seconds = Seconds(service.interval);
    auto poller = make_poller_(
        shared,
        [this, record](const ServiceConfig& s, const PollResult& r) {
          if (!record->closed && !stopped_) OnServicePoll(s, r, *record);
        },
        {});
    poller->Start();
    pollers_.emplace(service.name, std::move(poller));
  }
  PublishShard();
}

void Fleet::OnServicePoll(const ServiceConfig& service,
                          const PollResult& result,
                          PollRecorder::Record& record) {
  const Probe probe = RunProbe(ProbeTarget{service}, result.http);
  recorder_.CountPoll(record, service.name, probe.outcome, result);
  recorder_.Observe(record, service.name, service.type, probe.state,
                    probe.outcome, probe.error, result.finished_at,
                    result.duration_seconds);
}

void Fleet::StopService(const std::string& name) {
  if (auto it = pollers_.find(name); it != pollers_.end()) {
    it->second->Stop();
    pollers_.erase(it);
  }
}

// ---- lists ------------------------------------------------------------------

bool Fleet::ClaimMember(ListEntry& entry, const std::string& name) {
  if (const auto* o = names_.Find(name)) {
    if (o->kind != NameRegistry::Kind::kMember) return false;
    auto other = lists_.find(o->list);
    if (other != lists_.end() && other->second.get() != &entry) {
      if (other->second->index < entry.index) return false;
      DropMember(*other->second, name);  // the earlier list wins the name
    }
  }
  names_.Set(name, {NameRegistry::Kind::kMember, entry.config.name});
  return true;
}

void Fleet::DropMember(ListEntry& entry, const std::string& name) {
  if (entry.members.erase(name) == 0) return;
  if (const auto* o = names_.Find(name);
      o != nullptr && o->kind == NameRegistry::Kind::kMember &&
      o->list == entry.config.name) {
    names_.Erase(name);
  }
  recorder_.Untrack(name);
}

void Fleet::OnListPoll(const std::string& list_name, const PollResult& result) {
  auto it = lists_.find(list_name);
  if (it == lists_.end()) return;
  ListEntry& entry = *it->second;
  const ListConfig& list = entry.config;
  const TrackerOptions options = OptionsFor(list.poll);
  Probe probe = RunProbe(ProbeTarget{list.poll, &list}, result.http);

  std::shared_ptr<PollRecorder::Record> record = recorder_.Open(list.name);
  recorder_.CountPoll(*record, list.name, probe.outcome, result);
  PollStatus& ls = record->status;
  const bool was_ok = !ls.polled || ls.outcome == OutcomeName(Outcome::kOk);
  if (probe.outcome != Outcome::kOk) {
    // As for services: the first failure after a success (or a first poll
    // that fails) is a warning, repeats are debug.
    Log(was_ok ? LogLevel::kWarn : LogLevel::kDebug, "list poll failed",
        {{"list", list.name},
         {"url", RedactUrl(list.poll.url.text)},
         {"outcome", OutcomeName(probe.outcome)},
         {"members", std::to_string(entry.members.size())},
         {"err", probe.error}});
  } else if (!was_ok) {
    Log(LogLevel::kInfo, "list poll ok again",
        {{"list", list.name}, {"url", RedactUrl(list.poll.url.text)}});
  }
  ls.polled = true;
  ls.outcome = OutcomeName(probe.outcome);
  ls.error = probe.error;
  ls.last_poll = result.finished_at;
  ls.duration_seconds = result.duration_seconds;
  entry.polled = true;

  if (!probe.list) {
    // A failed poll of the list: every service of it is unreachable (or
    // unknown for a bad answer); none is removed.
    for (const auto& [name, absent] : entry.members) {
      auto view = recorder_.tracker().View(name);
      recorder_.Observe(name, view ? view->type : list.default_type,
                        probe.state, probe.outcome, probe.error,
                        result.finished_at, result.duration_seconds);
    }
    return;
  }
  const ServiceList& doc = *probe.list;
  entry.items = doc.items.size();
  if (!doc.problems.empty()) {
    Log(LogLevel::kDebug, "list has unusable items",
        {{"list", list.name},
         {"count", std::to_string(doc.problems.size())},
         {"first", doc.problems.front()}});
  }
  std::set<std::string> present;
  for (const auto& item : doc.items) {
    if (!in_shard_(item.name)) continue;
    if (!entry.members.contains(item.name)) {
      if (!ClaimMember(entry, item.name)) {
        WarnOnce(list.name + "/" + item.name,
                 "list reports a service whose name is taken; skipped",
                 {{"list", list.name}, {"service", item.name}});
        continue;
      }
      entry.members.emplace(item.name, 0);
      Log(LogLevel::kInfo, "service added from list",
          {{"list", list.name}, {"service", item.name}, {"type", item.type}});
    }
    present.insert(item.name);
    recorder_.Track(item.name, item.type, options);
    PollStatus& member = recorder_.Open(item.name)->status;
    member.url = list.poll.url.text;
    member.interval_seconds = Seconds(list.poll.interval);
    entry.members[item.name] = 0;
    recorder_.Observe(item.name, item.type, item.state, Outcome::kOk, "",
                      result.finished_at, result.duration_seconds);
  }
  std::vector<std::string> gone;
  for (auto& [name, absent] : entry.members) {
    if (present.contains(name)) continue;
    if (++absent >= list.absent_after) gone.push_back(name);
  }
  for (const auto& name : gone) {
    Log(LogLevel::kInfo, "service missing from list; removed",
        {{"list", list.name},
         {"service", name},
         {"absent_polls", std::to_string(list.absent_after)}});
    DropMember(entry, name);
  }
  PublishShard();
}

void Fleet::StartList(ListEntry& entry) {
  const ListConfig& list = entry.config;
  PollFetch fetch;
  if (list.kind == ListKind::kMcp) {
    entry.mcp = std::make_shared<McpSession>(list.tool, list.arguments);
    fetch = [mcp = entry.mcp](HttpClient& client) { return mcp->Poll(client); };
  }
  PollStatus& status = recorder_.Open(list.name)->status;
  status.url = list.poll.url.text;
  status.interval_seconds = Seconds(list.poll.interval);
  entry.poller = make_poller_(
      std::make_shared<ServiceConfig>(list.poll),
      [this, name = list.name](const ServiceConfig&, const PollResult& r) {
        if (!stopped_) OnListPoll(name, r);
      },
      std::move(fetch));
  entry.poller->Start();
}

// Stops a list's poller and ends its MCP session on the server (HTTP
// DELETE), on a client of its own, bounded by the list's poll timeout. The
// session and client live until it is done; so does io.run() at shutdown.
void Fleet::StopList(ListEntry& entry) {
  if (entry.poller) entry.poller->Stop();
  if (!entry.mcp || entry.mcp->session_id().empty()) {
    entry.mcp.reset();
    return;
  }
  auto client = std::make_shared<HttpClient>(
      io_, entry.config.poll.url, ClientOptionsFor(entry.config.poll));
  Log(LogLevel::kDebug, "closing MCP session", {{"list", entry.config.name}});
  net::co_spawn(
      io_,
      [mcp = entry.mcp, client]() -> net::awaitable<void> {
        co_await mcp->Close(*client);
      },
      [](std::exception_ptr e) { LogEscaped(e, "closing an MCP session"); });
  entry.mcp.reset();
}

void Fleet::RemoveList(const std::string& name) {
  auto it = lists_.find(name);
  if (it == lists_.end()) return;
  ListEntry& entry = *it->second;
  StopList(entry);
  std::vector<std::string> members;
  for (const auto& [member, absent] : entry.members) members.push_back(member);
  for (const auto& member : members) DropMember(entry, member);
  lists_.erase(it);
  if (const auto* o = names_.Find(name);
      o != nullptr && o->kind == NameRegistry::Kind::kList) {
    names_.Erase(name);
  }
  recorder_.Close(name);
}

void Fleet::ReconcileLists(const Config& next) {
  for (std::size_t i = 0; i < next.lists.size(); ++i) {
    const ListConfig& l = next.lists[i];
    auto it = lists_.find(l.name);
    if (it != lists_.end() && it->second->config == l) {
      it->second->index = i;
      continue;
    }
    if (it != lists_.end()) {
      // Changed: poll anew, keep the members and their state.
      StopList(*it->second);
      it->second->config = l;
      it->second->index = i;
      StartList(*it->second);
      continue;
    }
    auto entry = std::make_unique<ListEntry>();
    entry->index = i;
    entry->config = l;
    auto [pos, fresh] = lists_.emplace(l.name, std::move(entry));
    StartList(*pos->second);
  }
}

// ---- the fleet --------------------------------------------------------------

void Fleet::Apply(std::shared_ptr<const Config> config,
                  const std::vector<DiscoveredTargets>& discovered) {
  config_ = std::move(config);
  // Lists gone from the config go first: their names are free for services
  // from now on.
  std::set<std::string> wanted;
  for (const auto& l : config_->lists) wanted.insert(l.name);
  std::vector<std::string> removed;
  for (const auto& [name, entry] : lists_) {
    if (!wanted.contains(name)) removed.push_back(name);
  }
  for (const auto& name : removed) RemoveList(name);
  ReconcileServices(discovered);
  ReconcileLists(*config_);
  PublishShard();
}

void Fleet::ApplyDiscovered(const std::vector<DiscoveredTargets>& discovered) {
  if (config_ && !stopped_) ReconcileServices(discovered);
}

void Fleet::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [name, poller] : pollers_) poller->Stop();
  for (auto& [name, entry] : lists_) StopList(*entry);
}

std::pair<std::size_t, std::size_t> Fleet::Readiness() const {
  const std::size_t total = pollers_.size() + lists_.size();
  std::size_t polled = 0;
  for (const auto& [name, poller] : pollers_) {
    const auto* record = recorder_.Find(name);
    polled += record != nullptr && record->status.polled ? 1 : 0;
  }
  for (const auto& [name, entry] : lists_) polled += entry->polled ? 1 : 0;
  return {polled, total};
}

Fleet::ShardCounts Fleet::Shard() const {
  ShardCounts counts{pollers_.size(), seen_services_};
  for (const auto& [name, entry] : lists_) {
    counts.owned += entry->members.size();
    counts.seen += entry->items;
  }
  return counts;
}

void Fleet::PublishShard() {
  const ShardCounts counts = Shard();
  recorder_.metrics().shard_services_owned.Set(
      static_cast<double>(counts.owned));
  recorder_.metrics().shard_services_seen.Set(static_cast<double>(counts.seen));
}

std::vector<ListStatus> Fleet::ListStatuses() const {
  std::vector<ListStatus> out;
  for (const auto& [name, entry] : lists_) {
    ListStatus ls;
    ls.name = name;
    ls.source = ProbeKindName(KindOf(entry->config));
    if (const auto* record = recorder_.Find(name)) ls.poll = record->status;
    ls.poll.url = RedactUrl(entry->config.poll.url.text);
    ls.members = entry->members.size();
    ls.items = entry->items;
    ls.mcp_mode = entry->mcp ? McpModeName(entry->mcp->mode()) : "";
    out.push_back(std::move(ls));
  }
  return out;
}

std::set<std::string> Fleet::Members(const std::string& list) const {
  std::set<std::string> out;
  if (auto it = lists_.find(list); it != lists_.end()) {
    for (const auto& [name, absent] : it->second->members) out.insert(name);
  }
  return out;
}

}  // namespace sse
