#include "sse/app.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "sse/config.h"
#include "sse/discovery.h"
#include "sse/file_read.h"
#include "sse/handlers.h"
#include "sse/http_client.h"
#include "sse/list_source.h"
#include "sse/log.h"
#include "sse/mcp.h"
#include "sse/metrics.h"
#include "sse/poller.h"
#include "sse/process_metrics.h"
#include "sse/state_store.h"
#include "sse/tracker.h"
#include "sse/version.h"
#include "sse/web.h"
#include "sse/web_config.h"

namespace sse {
namespace {

namespace net = boost::asio;

double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every kept-alive poll connection is a file descriptor: 10,000 services
// need more than the usual soft limit of 1024. Raise it to the hard limit,
// as the Go runtime does for Prometheus' own exporters.
// Returns the limit in force afterwards (0 if unknown).
rlim_t RaiseOpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur >= limit.rlim_max) return limit.rlim_cur;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    Log(LogLevel::kDebug, "raised the open files limit",
        {{"from", std::to_string(before)},
         {"to", std::to_string(limit.rlim_cur)}});
    return limit.rlim_cur;
  }
  return before;
}

// Descriptors kept out of the poll connections' reach: the web server's
// connections, the state file, config and file_sd reads, the resolver, the
// process's own (stdio, epoll, timers, threads). A sixteenth of the limit,
// at least 32 and at most 1024.
std::size_t ReservedDescriptors(rlim_t limit) {
  return std::clamp<std::size_t>(static_cast<std::size_t>(limit / 16), 32,
                                 1024);
}

// A co_spawn completion handler that logs an exception escaping the
// coroutine (nothing escapes silently).
auto LogEscaped(const char* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      Log(LogLevel::kError, what, {{"err", ex.what()}});
    }
  };
}

TrackerOptions OptionsFor(const ServiceConfig& s) {
  return TrackerOptions{s.up_states, s.transition_after, s.max_states};
}

bool IsTransportFailure(Outcome o) {
  return o == Outcome::kTimeout || o == Outcome::kConnectError ||
         o == Outcome::kTlsError;
}

// The StatefulSet ordinal at the end of the hostname ("sse-2" -> 2).
int HostnameOrdinal() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return -1;
  std::string name(host);
  std::size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 >= name.size()) return -1;
  try {
    std::size_t used = 0;
    int ordinal = std::stoi(name.substr(dash + 1), &used);
    return used == name.size() - dash - 1 ? ordinal : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

struct App::Impl {
  // Series of one poll target that the exporter (not the tracker) owns.
  struct PollSeries {
    std::array<Series*, kOutcomeCount> polls{};  // by outcome, made on use
    Series* last_poll = nullptr;
  };
  // A service list being polled, and the services it currently reports.
  struct ListEntry {
    std::size_t index = 0;  // position in the config: lower wins a name
    ListConfig config;
    std::shared_ptr<Poller> poller;
    std::shared_ptr<McpSession> mcp;
    std::map<std::string, int> members;  // name -> polls absent in a row
    bool polled = false;
    std::size_t items = 0;  // in its last good answer
  };
  // A file_sd or http_sd block and its last good targets.
  struct SdEntry {
    std::string id;  // "file_sd[0]", "http_sd[1]"
    std::optional<FileSdConfig> file;
    std::optional<HttpSdConfig> http;
    std::map<std::string, std::pair<std::int64_t, std::vector<ServiceConfig>>>
        per_file;
    // Shared with the pollers of its services (never changed: replaced).
    std::shared_ptr<const std::vector<ServiceConfig>> targets =
        std::make_shared<const std::vector<ServiceConfig>>();
    std::shared_ptr<net::steady_timer> timer;
    std::shared_ptr<HttpClient> client;
    bool stopped = false;
  };

  Flags flags;
  net::io_context io{1};
  net::signal_set signals{io, SIGTERM, SIGINT, SIGHUP};
  std::shared_ptr<const Config> config;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Tracker> tracker;
  std::unique_ptr<WebServer> web;
  std::map<std::string, std::shared_ptr<Poller>> pollers;  // services
  std::map<std::string, ListEntry> lists;
  std::vector<std::shared_ptr<SdEntry>> sds;
  // Hashed: looked up on every poll (a std::map cost 13% of the CPU at
  // 10,000 services; bench/README.md). Not iterated in order.
  std::unordered_map<std::string, PollStatus> status;  // services and lists
  std::unordered_map<std::string, PollSeries> series;  // by poll target name
  std::set<std::string> conflicts_warned;
  PersistedState persisted;
  // Saved services that nothing polls now, and since when (Unix seconds):
  // kept for --storage.state-retention, then pruned.
  std::unordered_map<std::string, double> orphaned_since;
  bool state_dirty = false;
  bool save_scheduled = false;
  bool save_running = false;  // a write is under way on the file thread
  bool save_failing = false;  // the last write failed
  net::steady_timer save_timer{io};
  net::steady_timer prune_timer{io};
  // File reads, parses and writes that may take long (state file, config,
  // file_sd): off the I/O thread, one at a time, in order.
  net::thread_pool files{1};
  double started_at = UnixNow();
  std::optional<WebConfig> web_config;
  double last_reload_attempt = 0;
  double last_reload_success = 0;
  bool reload_ok = true;
  std::string last_reload_error;
  bool stopping = false;
  bool reload_running = false;
  std::vector<std::function<void(bool, const std::string&)>> reload_waiting;

  explicit Impl(Flags f) : flags(std::move(f)) {}

  bool InShard(const std::string& name) const {
    return flags.shard_count <= 1 ||
           static_cast<int>(StableHash(name) %
                            static_cast<std::uint64_t>(flags.shard_count)) ==
               flags.shard_index;
  }

  // ---- metrics of polls -------------------------------------------------

  void RecordPoll(const std::string& target, Outcome outcome,
                  const PollResult& result) {
    RecordPoll(series[target], target, outcome, result);
  }

  void RecordPoll(PollSeries& s, const std::string& target, Outcome outcome,
                  const PollResult& result) {
    Series*& counter = s.polls[static_cast<std::size_t>(outcome)];
    if (counter == nullptr) {
      counter = &metrics->polls.Add(
          {{"service_name", target}, {"outcome", OutcomeName(outcome)}});
    }
    counter->Increment();
    if (s.last_poll == nullptr) {
      s.last_poll = &metrics->last_poll.Add({{"service_name", target}});
    }
    s.last_poll->Set(result.finished_at);
    metrics->poll_duration.Observe(result.duration_seconds);
  }

  void DropSeries(const std::string& target) {
    if (auto it = series.find(target); it != series.end()) {
      for (Series* counter : it->second.polls) {
        if (counter != nullptr) metrics->polls.Remove(counter);
      }
      if (it->second.last_poll) metrics->last_poll.Remove(it->second.last_poll);
      series.erase(it);
    }
  }

  // ---- the tracker side ----------------------------------------------------

  // Starts tracking a service, continuing from the state file if it knows it.
  void Track(const std::string& name, const std::string& type,
             const TrackerOptions& options) {
    orphaned_since.erase(name);
    if (tracker->Has(name)) {
      tracker->Add(name, type, options, UnixNow());
      return;
    }
    auto saved = persisted.find(name);
    if (saved != persisted.end() && saved->second.type == type) {
      tracker->Restore(name, saved->second, options);
      Log(LogLevel::kDebug, "service restored from state file",
          {{"service", name}, {"state", saved->second.state}});
    } else {
      tracker->Add(name, type, options, UnixNow());
    }
  }

  // Stops tracking a service. Its saved state stays for the retention
  // period: a service that a reload or a list drops for a while continues
  // its counters when it comes back.
  void Untrack(const std::string& name) {
    tracker->Remove(name);
    status.erase(name);
    if (persisted.contains(name)) orphaned_since[name] = UnixNow();
  }

  // Feeds one observation of a service and records its poll status.
  void Observe(const std::string& name, const std::string& type,
               const std::string& state, Outcome outcome,
               const std::string& error, double when, double duration) {
    Observe(status[name], tracker->Find(name), name, type, state, outcome,
            error, when, duration);
  }

  void Observe(PollStatus& st, Tracker::Ref tracked, const std::string& name,
               const std::string& type, const std::string& state,
               Outcome outcome, const std::string& error, double when,
               double duration) {
    const bool was_ok = !st.polled || st.outcome == OutcomeName(Outcome::kOk);
    st.polled = true;
    st.outcome = OutcomeName(outcome);
    st.error = error;
    st.last_poll = when;
    st.duration_seconds = duration;
    ObserveResult observed = tracker->Observe(tracked, state, when);
    st.last_state = observed.state;
    if (outcome != Outcome::kOk) {
      // The first failure after a success is a warning; repeats are debug
      // so that a dead target does not flood the log.
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
      if (auto p = tracker->Persist(name)) {
        persisted[name] = *p;
        MarkDirty();
      }
    }
  }

  // ---- state file --------------------------------------------------------

  void MarkDirty() {
    if (flags.state_file.empty()) return;
    state_dirty = true;
    if (save_scheduled || stopping) return;
    // Batched: at most one write a second.
    save_scheduled = true;
    save_timer.expires_after(std::chrono::seconds(1));
    save_timer.async_wait([this](boost::system::error_code ec) {
      save_scheduled = false;
      if (!ec) SaveState();
    });
  }

  // Writes the state file on the file thread from a snapshot taken here,
  // so that neither the copy's serialisation nor the disk holds up polls and
  // scrapes. A failed write keeps the state dirty and is tried again.
  void SaveState() {
    if (flags.state_file.empty() || !state_dirty) return;
    if (save_running) return;  // SaveDone saves again: still dirty
    state_dirty = false;
    save_running = true;
    auto snapshot = std::make_shared<const PersistedState>(persisted);
    net::post(files, [this, snapshot, now = UnixNow()] {
      std::string error;
      try {
        WriteFileAtomic(flags.state_file, SerializeState(*snapshot, now));
      } catch (const std::exception& e) {  // I/O errors, bad_alloc
        error = e.what();
      }
      net::post(io, [this, error] { SaveDone(error); });
    });
  }

  void SaveDone(const std::string& error) {
    save_running = false;
    if (!error.empty()) {
      state_dirty = true;
      if (!save_failing) {
        Log(LogLevel::kError, "cannot write state file; retrying every 5s",
            {{"file", flags.state_file}, {"err", error}});
      }
      save_failing = true;
      if (!stopping) {
        save_timer.cancel();
        save_scheduled = true;
        save_timer.expires_after(std::chrono::seconds(5));
        save_timer.async_wait([this](boost::system::error_code ec) {
          save_scheduled = false;
          if (!ec) SaveState();
        });
      }
      return;
    }
    if (save_failing) {
      Log(LogLevel::kInfo, "state file written again",
          {{"file", flags.state_file}});
    }
    save_failing = false;
    if (state_dirty) MarkDirty();
  }

  // The last save, when the I/O thread has stopped: waits for a write under
  // way, then writes what changed since (or what a failed write lost).
  void SaveStateAtExit() {
    files.join();
    if (flags.state_file.empty() || !(state_dirty || save_running)) return;
    try {
      WriteFileAtomic(flags.state_file, SerializeState(persisted, UnixNow()));
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "cannot write state file",
          {{"file", flags.state_file}, {"err", e.what()}});
    }
  }

  // Drops saved services that nothing has polled for the retention period.
  void PruneState() {
    const double cutoff =
        UnixNow() -
        std::chrono::duration<double>(flags.state_retention).count();
    std::size_t pruned = 0;
    for (auto it = orphaned_since.begin(); it != orphaned_since.end();) {
      if (it->second <= cutoff) {
        pruned += persisted.erase(it->first);
        it = orphaned_since.erase(it);
      } else {
        ++it;
      }
    }
    if (pruned > 0) {
      Log(LogLevel::kInfo, "services no longer polled dropped from the state",
          {{"count", std::to_string(pruned)},
           {"retention", FormatDuration(flags.state_retention)}});
      MarkDirty();
    }
  }

  void SchedulePrune() {
    if (flags.state_file.empty() || stopping) return;
    prune_timer.expires_after(std::min<std::chrono::milliseconds>(
        flags.state_retention / 4 + std::chrono::milliseconds(1),
        std::chrono::minutes(1)));
    prune_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      PruneState();
      SchedulePrune();
    });
  }

  // ---- services ----------------------------------------------------------

  // Where a polled service's poll results go, found once when its poller
  // starts (the maps keep their elements in place). Valid while the poller
  // runs: its service is only untracked, and its series only dropped,
  // after the poller stopped.
  struct ServiceSlot {
    PollSeries* series = nullptr;
    PollStatus* status = nullptr;
    Tracker::Ref tracked = nullptr;
  };

  void OnServicePoll(const ServiceConfig& service, const PollResult& result,
                     const ServiceSlot& slot) {
    if (stopping) return;
    Observation obs;
    try {
      obs = ObserveService(service, result.http);
    } catch (const std::bad_alloc&) {
      obs = {Outcome::kTooLarge, kStateUnknown,
             "out of memory parsing the answer (" +
                 std::to_string(result.http.body.size()) + " bytes)"};
    }
    RecordPoll(*slot.series, service.name, obs.outcome, result);
    Observe(*slot.status, slot.tracked, service.name, service.type, obs.state,
            obs.outcome, obs.error, result.finished_at,
            result.duration_seconds);
  }

  void StopService(const std::string& name) {
    if (auto it = pollers.find(name); it != pollers.end()) {
      it->second->Stop();
      pollers.erase(it);
    }
  }

  // The services to poll: config first, then discovered targets in block
  // order; a name already taken is skipped (reported once). Not copies:
  // each shares the config or target list it is part of.
  std::vector<std::shared_ptr<const ServiceConfig>> DesiredServices() {
    std::vector<std::shared_ptr<const ServiceConfig>> out;
    // A list's own poll series and status go by its name: a service may
    // not take it.
    std::set<std::string> names;
    for (const auto& list : config->lists) names.insert(list.name);
    auto add = [&](const std::shared_ptr<const void>& owner,
                   const ServiceConfig& s, const std::string& origin) {
      if (!InShard(s.name)) return;
      if (!names.insert(s.name).second) {
        if (conflicts_warned.insert(origin + "/" + s.name).second) {
          Log(LogLevel::kWarn, "duplicate service name; keeping the first",
              {{"service", s.name}, {"origin", origin}});
        }
        return;
      }
      out.emplace_back(owner, &s);
    };
    for (const auto& s : config->services) add(config, s, "services");
    for (const auto& sd : sds) {
      for (const auto& s : *sd->targets) add(sd->targets, s, sd->id);
    }
    return out;
  }

  // Brings the service pollers in line with DesiredServices(): unchanged
  // ones keep polling and keep their state; changed ones restart polling;
  // removed ones lose their series; new ones start.
  void ReconcileServices() {
    std::vector<std::shared_ptr<const ServiceConfig>> desired =
        DesiredServices();
    std::set<std::string> wanted;
    for (const auto& s : desired) wanted.insert(s->name);
    std::vector<std::string> removed;
    for (const auto& [name, poller] : pollers) {
      if (!wanted.contains(name)) removed.push_back(name);
    }
    for (const auto& name : removed) {
      Log(LogLevel::kInfo, "service removed", {{"service", name}});
      StopService(name);
      Untrack(name);
      DropSeries(name);
    }
    for (const auto& shared : desired) {
      const ServiceConfig& service = *shared;
      // A service in the config or discovery takes its name from a list.
      for (auto& [list_name, entry] : lists) {
        if (entry.members.erase(service.name) > 0)
          tracker->Remove(service.name);
      }
      auto it = pollers.find(service.name);
      if (it != pollers.end() && it->second->service().SamePolling(service)) {
        // Polls on, now sharing the new config: the old one can go.
        it->second->Rebind(shared);
        continue;
      }
      StopService(service.name);
      Track(service.name, service.type, OptionsFor(service));
      ServiceSlot slot{&series[service.name], &status[service.name],
                       tracker->Find(service.name)};
      slot.status->url = service.url.text;
      auto poller = std::make_shared<Poller>(
          io.get_executor(), shared,
          [this, slot](const ServiceConfig& s, const PollResult& r) {
            OnServicePoll(s, r, slot);
          });
      poller->Start();
      pollers.emplace(service.name, std::move(poller));
    }
  }

  // ---- lists
  // -----------------------------------------------------------------

  // Who may use `name` for a member of list `entry`: not a service, not a
  // list earlier in the config.
  bool ClaimName(ListEntry& entry, const std::string& name) {
    if (pollers.contains(name)) return false;
    for (auto& [other_name, other] : lists) {
      if (&other == &entry || !other.members.contains(name)) continue;
      if (other.index < entry.index) return false;
      other.members.erase(name);  // the earlier list wins the name
      tracker->Remove(name);
    }
    return true;
  }

  void OnListPoll(const std::string& list_name, const PollResult& result) {
    if (stopping) return;
    auto it = lists.find(list_name);
    if (it == lists.end()) return;
    ListEntry& entry = it->second;
    const ListConfig& list = entry.config;
    const TrackerOptions options = OptionsFor(list.poll);
    const HttpResult& http = result.http;

    Outcome outcome = http.outcome;
    std::string error = http.error;
    std::optional<ServiceList> doc;
    if (outcome == Outcome::kOk && (http.status < 200 || http.status >= 300)) {
      outcome = Outcome::kHttpError;
      error = "HTTP status " + std::to_string(http.status);
    } else if (outcome == Outcome::kOk) {
      bool too_many = false;
      try {
        doc = ParseServiceList(http.body, list, error, &too_many);
        if (!doc)
          outcome = too_many ? Outcome::kTooLarge : Outcome::kInvalidBody;
      } catch (const std::bad_alloc&) {
        // A body within max_body_bytes whose parse needs more memory than
        // the process may have: this poll fails, the exporter goes on.
        doc.reset();
        outcome = Outcome::kTooLarge;
        error = "out of memory parsing the list (" +
                std::to_string(http.body.size()) + " bytes)";
      }
    }
    RecordPoll(list.name, outcome, result);
    PollStatus& ls = status[list.name];
    const bool was_ok = !ls.polled || ls.outcome == OutcomeName(Outcome::kOk);
    if (outcome != Outcome::kOk) {
      // As for services: the first failure after a success (or a first
      // poll that fails) is a warning, repeats are debug.
      Log(was_ok ? LogLevel::kWarn : LogLevel::kDebug, "list poll failed",
          {{"list", list.name},
           {"url", RedactUrl(list.poll.url.text)},
           {"outcome", OutcomeName(outcome)},
           {"members", std::to_string(entry.members.size())},
           {"err", error}});
    } else if (!was_ok) {
      Log(LogLevel::kInfo, "list poll ok again",
          {{"list", list.name}, {"url", RedactUrl(list.poll.url.text)}});
    }
    ls.polled = true;
    ls.outcome = OutcomeName(outcome);
    ls.error = error;
    ls.last_poll = result.finished_at;
    ls.duration_seconds = result.duration_seconds;
    entry.polled = true;

    if (!doc) {
      // A failed poll of the list: every service of it is unreachable (or
      // unknown for a bad answer); none is removed.
      const std::string state =
          IsTransportFailure(outcome) ? kStateUnreachable : kStateUnknown;
      for (const auto& [name, absent] : entry.members) {
        auto view = tracker->View(name);
        Observe(name, view ? view->type : list.default_type, state, outcome,
                error, result.finished_at, result.duration_seconds);
      }
      return;
    }
    entry.items = doc->items.size();
    if (!doc->problems.empty()) {
      Log(LogLevel::kDebug, "list has unusable items",
          {{"list", list.name},
           {"count", std::to_string(doc->problems.size())},
           {"first", doc->problems.front()}});
    }
    std::set<std::string> present;
    for (const auto& item : doc->items) {
      if (!InShard(item.name)) continue;
      if (!entry.members.contains(item.name)) {
        if (!ClaimName(entry, item.name)) {
          if (conflicts_warned.insert(list.name + "/" + item.name).second) {
            Log(LogLevel::kWarn,
                "list reports a service whose name is taken; skipped",
                {{"list", list.name}, {"service", item.name}});
          }
          continue;
        }
        entry.members.emplace(item.name, 0);
        Log(LogLevel::kInfo, "service added from list",
            {{"list", list.name}, {"service", item.name}, {"type", item.type}});
      }
      present.insert(item.name);
      Track(item.name, item.type, options);
      status[item.name].url = list.poll.url.text;
      entry.members[item.name] = 0;
      Observe(item.name, item.type, item.state, Outcome::kOk, "",
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
      entry.members.erase(name);
      Untrack(name);
    }
  }

  void StartList(ListEntry& entry) {
    const ListConfig& list = entry.config;
    PollFetch fetch;
    if (list.kind == ListKind::kMcp) {
      entry.mcp = std::make_shared<McpSession>(list.tool, list.arguments);
      fetch = [mcp = entry.mcp](HttpClient& client) {
        return mcp->Poll(client);
      };
    }
    status[list.name].url = list.poll.url.text;
    entry.poller = std::make_shared<Poller>(
        io.get_executor(), std::make_shared<ServiceConfig>(list.poll),
        [this, name = list.name](const ServiceConfig&, const PollResult& r) {
          OnListPoll(name, r);
        },
        std::move(fetch));
    entry.poller->Start();
  }

  // Ends a list's MCP session on the server (HTTP DELETE), on a client of
  // its own, bounded by the list's poll timeout. The session and client live
  // until it is done; so does io.run() at shutdown.
  void CloseMcpSession(ListEntry& entry) {
    if (!entry.mcp || entry.mcp->session_id().empty()) return;
    auto client =
        std::make_shared<HttpClient>(io.get_executor(), entry.config.poll.url,
                                     ClientOptionsFor(entry.config.poll));
    Log(LogLevel::kDebug, "closing MCP session", {{"list", entry.config.name}});
    net::co_spawn(
        io,
        [mcp = entry.mcp, client]() -> net::awaitable<void> {
          co_await mcp->Close(*client);
        },
        LogEscaped("closing an MCP session"));
    entry.mcp.reset();
  }

  void RemoveList(const std::string& name) {
    auto it = lists.find(name);
    if (it == lists.end()) return;
    it->second.poller->Stop();
    CloseMcpSession(it->second);
    for (const auto& [member, absent] : it->second.members) Untrack(member);
    lists.erase(it);
    // A service that took the name on this reload (services are reconciled
    // first) uses its status and series from now on: its poller holds them.
    if (pollers.contains(name)) return;
    status.erase(name);
    DropSeries(name);
  }

  void ReconcileLists(const Config& next) {
    std::set<std::string> wanted;
    for (const auto& l : next.lists) wanted.insert(l.name);
    std::vector<std::string> removed;
    for (const auto& [name, entry] : lists) {
      if (!wanted.contains(name)) removed.push_back(name);
    }
    for (const auto& name : removed) RemoveList(name);
    for (std::size_t i = 0; i < next.lists.size(); ++i) {
      const ListConfig& l = next.lists[i];
      auto it = lists.find(l.name);
      if (it != lists.end() && it->second.config == l) {
        it->second.index = i;
        continue;
      }
      if (it != lists.end()) {
        // Changed: poll anew, keep the members and their state.
        it->second.poller->Stop();
        CloseMcpSession(it->second);
        it->second.config = l;
        it->second.index = i;
        StartList(it->second);
        continue;
      }
      ListEntry entry;
      entry.index = i;
      entry.config = l;
      auto [pos, fresh] = lists.emplace(l.name, std::move(entry));
      StartList(pos->second);
    }
  }

  // ---- service discovery -------------------------------------------------

  // What a scan of a file_sd block's files found.
  struct FileSdScan {
    std::set<std::string> seen;  // every file its globs match now
    // Files whose version changed: the new version, and its targets
    // (nullopt for an invalid file: its last good targets stay).
    std::map<std::string,
             std::pair<std::int64_t, std::optional<std::vector<ServiceConfig>>>>
        changed;
  };

  // Reads the files of a file_sd block whose version (mtime, size) is not
  // `known`. Runs on the file thread: only regular files of at most
  // kMaxConfigFileBytes are read, without blocking (a FIFO or a link to
  // /dev/zero under a glob is reported, never waited on).
  static FileSdScan ScanFileSd(
      const FileSdConfig& f, const std::map<std::string, std::int64_t>& known) {
    FileSdScan scan;
    for (const auto& pattern : f.files) {
      for (const auto& path : ExpandGlob(pattern)) {
        scan.seen.insert(path);
        struct stat st {};
        if (stat(path.c_str(), &st) != 0) continue;
        const std::int64_t version =
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 +
            st.st_mtim.tv_nsec + st.st_size;
        if (auto k = known.find(path); k != known.end() && k->second == version)
          continue;
        auto& slot = scan.changed[path];
        slot.first = version;
        FileRead read = ReadRegularFile(path, kMaxConfigFileBytes);
        if (!read.ok()) {
          Log(LogLevel::kError,
              "file_sd file cannot be read; keeping its last good targets",
              {{"file", path}, {"err", read.message}});
          continue;
        }
        const bool yaml = path.ends_with(".yml") || path.ends_with(".yaml");
        try {
          std::vector<std::string> problems;
          auto services =
              ServicesFromTargets(ParseTargetGroups(read.data, yaml), f.service,
                                  f.scheme, f.path, problems);
          for (const auto& p : problems) {
            Log(LogLevel::kWarn, "file_sd target skipped",
                {{"file", path}, {"problem", p}});
          }
          Log(LogLevel::kInfo, "file_sd file loaded",
              {{"file", path}, {"targets", std::to_string(services.size())}});
          slot.second = std::move(services);
        } catch (const std::exception& e) {  // invalid_argument, bad_alloc
          // The version is remembered, so the error is reported once per
          // change.
          Log(LogLevel::kError,
              "file_sd file is invalid; keeping its last good targets",
              {{"file", path}, {"err", e.what()}});
        }
      }
    }
    return scan;
  }

  // Takes a scan into the block; true if its targets changed.
  static bool ApplyFileSdScan(SdEntry& sd, FileSdScan scan) {
    bool changed = false;
    for (auto& [path, found] : scan.changed) {
      auto& slot = sd.per_file[path];
      slot.first = found.first;
      if (found.second) {
        slot.second = std::move(*found.second);
        changed = true;
      }
    }
    for (auto it = sd.per_file.begin(); it != sd.per_file.end();) {
      if (!scan.seen.contains(it->first)) {
        it = sd.per_file.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    if (changed) {
      auto targets = std::make_shared<std::vector<ServiceConfig>>();
      for (const auto& [path, entry] : sd.per_file) {
        targets->insert(targets->end(), entry.second.begin(),
                        entry.second.end());
      }
      sd.targets = std::move(targets);
    }
    return changed;
  }

  // Scans a file_sd block on the file thread, then takes the result in on
  // the I/O thread and schedules the next scan.
  void RefreshFileSd(const std::shared_ptr<SdEntry>& sd) {
    std::map<std::string, std::int64_t> known;
    for (const auto& [path, entry] : sd->per_file) known[path] = entry.first;
    net::post(files, [this, sd, known = std::move(known)] {
      auto scan = std::make_shared<FileSdScan>(ScanFileSd(*sd->file, known));
      net::post(io, [this, sd, scan] {
        if (sd->stopped || stopping) return;
        if (ApplyFileSdScan(*sd, std::move(*scan))) ReconcileServices();
        ScheduleSd(sd, sd->file->refresh_interval);
      });
    });
  }

  void ScheduleSd(const std::shared_ptr<SdEntry>& sd, Duration delay) {
    sd->timer->expires_after(delay);
    sd->timer->async_wait([this, sd](boost::system::error_code ec) {
      if (ec || sd->stopped || stopping) return;
      if (sd->file) {
        RefreshFileSd(sd);
      } else {
        FetchHttpSd(sd);
      }
    });
  }

  void FetchHttpSd(const std::shared_ptr<SdEntry>& sd) {
    net::co_spawn(
        io,
        [this, sd]() -> net::awaitable<void> {
          HttpResult http = co_await sd->client->Get();
          if (sd->stopped || stopping) co_return;
          std::string error = http.error;
          if (http.outcome == Outcome::kOk && http.status != 200) {
            error = "HTTP status " + std::to_string(http.status);
          } else if (http.outcome == Outcome::kOk) {
            try {
              std::vector<std::string> problems;
              auto targets = ServicesFromTargets(
                  ParseTargetGroups(http.body, false), sd->http->service,
                  sd->http->scheme, sd->http->path, problems);
              for (const auto& p : problems) {
                Log(LogLevel::kWarn, "http_sd target skipped",
                    {{"sd", sd->id}, {"problem", p}});
              }
              if (targets != *sd->targets) {
                sd->targets =
                    std::make_shared<const std::vector<ServiceConfig>>(
                        std::move(targets));
                Log(LogLevel::kInfo, "http_sd targets changed",
                    {{"sd", sd->id},
                     {"targets", std::to_string(sd->targets->size())}});
                ReconcileServices();
              }
            } catch (const std::exception& e) {  // invalid_argument, bad_alloc
              error = e.what();
            }
          }
          if (!error.empty() && http.outcome == Outcome::kOk &&
              http.status == 200) {
            Log(LogLevel::kError,
                "http_sd answer invalid; keeping the last good targets",
                {{"sd", sd->id}, {"err", error}});
          } else if (!error.empty()) {
            Log(LogLevel::kWarn,
                "http_sd fetch failed; keeping the last good targets",
                {{"sd", sd->id}, {"err", error}});
          }
          ScheduleSd(sd, sd->http->refresh_interval);
        },
        [this, sd](std::exception_ptr e) {
          if (!e) return;
          LogEscaped("http_sd refresh failed; trying again")(e);
          // A refresh that threw must not end refreshing for good.
          if (!sd->stopped && !stopping)
            ScheduleSd(sd, sd->http->refresh_interval);
        });
  }

  void ReconcileSd(const Config& next) {
    std::vector<std::shared_ptr<SdEntry>> fresh;
    auto reuse = [&](auto pred) -> std::shared_ptr<SdEntry> {
      for (auto& old : sds) {
        if (old && pred(*old)) {
          auto kept = old;
          old.reset();
          return kept;
        }
      }
      return nullptr;
    };
    for (std::size_t i = 0; i < next.file_sd.size(); ++i) {
      const auto& f = next.file_sd[i];
      auto sd = reuse([&](const SdEntry& e) { return e.file && *e.file == f; });
      if (!sd) {
        sd = std::make_shared<SdEntry>();
        sd->file = f;
        sd->timer = std::make_shared<net::steady_timer>(io);
        ScheduleSd(sd, Duration(0));
      }
      sd->id = "file_sd[" + std::to_string(i) + "]";
      fresh.push_back(sd);
    }
    for (std::size_t i = 0; i < next.http_sd.size(); ++i) {
      const auto& h = next.http_sd[i];
      auto sd = reuse([&](const SdEntry& e) { return e.http && *e.http == h; });
      if (!sd) {
        // A changed block keeps the targets of the block it replaces at
        // the same position until its first answer.
        auto previous = reuse([&](const SdEntry& e) {
          return e.http.has_value() &&
                 e.id == "http_sd[" + std::to_string(i) + "]";
        });
        sd = std::make_shared<SdEntry>();
        sd->http = h;
        sd->timer = std::make_shared<net::steady_timer>(io);
        if (previous) {
          sd->targets = previous->targets;
          previous->stopped = true;
          previous->timer->cancel();
          previous->client->Close();
        }
        ServiceConfig poll = h.service;
        poll.url = h.url;
        sd->client = std::make_shared<HttpClient>(io.get_executor(), h.url,
                                                  ClientOptionsFor(poll));
        ScheduleSd(sd, Duration(0));
      }
      sd->id = "http_sd[" + std::to_string(i) + "]";
      fresh.push_back(sd);
    }
    for (auto& old : sds) {
      if (!old) continue;
      old->stopped = true;
      old->timer->cancel();
      if (old->client) old->client->Close();
    }
    sds = std::move(fresh);
  }

  // ---- config ------------------------------------------------------------

  void ApplyConfig(std::shared_ptr<const Config> next) {
    config = next;
    ReconcileSd(*next);
    ReconcileServices();
    ReconcileLists(*next);
  }

  // Loads the web config file (if any). Throws ConfigError for a bad file.
  std::optional<WebConfig> LoadWebConfig() {
    if (flags.web_config_file.empty()) return std::nullopt;
    return LoadWebConfigFile(flags.web_config_file);
  }

  // Applies a web config to the server; throws std::runtime_error for
  // unusable certificates, and then the running settings stay.
  void ApplyWebConfig(std::optional<WebConfig> next) {
    if (!next) return;
    web->Configure(*next);
    Log(LogLevel::kInfo, "web config loaded",
        {{"file", next->file},
         {"tls", next->tls ? "true" : "false"},
         {"basic_auth_users", std::to_string(next->basic_auth_users.size())}});
    web_config = std::move(next);
  }

  // What a reload read and parsed (on the file thread).
  struct Loaded {
    std::optional<WebConfig> web;
    std::shared_ptr<const Config> config;
    std::string error;  // set when either file is bad
  };
  using ReloadDone = std::function<void(bool ok, const std::string& error)>;

  // Reads and parses the config file and the web config file. Thread-safe:
  // runs on the file thread, so that a large file never holds up polls,
  // scrapes or health checks.
  Loaded Load() {
    Loaded loaded;
    try {
      loaded.web = LoadWebConfig();
      loaded.config =
          std::make_shared<const Config>(LoadConfigFile(flags.config_file));
    } catch (const std::exception& e) {  // ConfigError, bad_alloc
      loaded.error = e.what();
      loaded.config.reset();
    }
    // Parsing takes several times a file's size for a moment (YAML nodes);
    // malloc keeps such memory unless told to give it back.
    ReleaseFreeMemory();
    return loaded;
  }

  // Reloads (SIGHUP, POST /-/reload): loads on the file thread, applies on
  // the I/O thread, then calls `done` there. One reload runs at a time;
  // those asked for meanwhile are served together by the next one, which
  // reads the files after they were asked for.
  void Reload(ReloadDone done) {
    reload_waiting.push_back(std::move(done));
    if (!reload_running) RunReload();
  }

  void RunReload() {
    reload_running = true;
    auto waiting =
        std::make_shared<std::vector<ReloadDone>>(std::move(reload_waiting));
    reload_waiting.clear();
    last_reload_attempt = UnixNow();
    net::post(files, [this, waiting] {
      auto loaded = std::make_shared<Loaded>(Load());
      net::post(io, [this, waiting, loaded] {
        std::string error = loaded->error;
        const bool ok = !stopping && Apply(std::move(*loaded), error);
        if (stopping && error.empty()) error = "the exporter is stopping";
        for (auto& done : *waiting) done(ok, error);
        reload_running = false;
        if (!reload_waiting.empty()) {
          if (stopping) {
            for (auto& done : reload_waiting) done(false, error);
            reload_waiting.clear();
          } else {
            RunReload();
          }
        }
      });
    });
  }

  // Applies what a reload loaded; a bad file is rejected whole and the
  // running config stays. An unchanged config is a no-op for the pollers
  // (credential files are read by the clients as they change).
  bool Apply(Loaded loaded, std::string& error) {
    try {
      if (!loaded.error.empty()) throw ConfigError(loaded.error);
      auto next = std::move(loaded.config);
      if (next->global.metric_namespace != metrics->metric_namespace()) {
        throw ConfigError(flags.config_file +
                          ": global.metric_namespace: cannot change on reload "
                          "(restart the exporter)");
      }
      ApplyWebConfig(std::move(loaded.web));  // may throw: nothing changed yet
      MarkReloaded();
      if (*next == *config) {
        Log(LogLevel::kInfo, "config unchanged", {{"file", flags.config_file}});
        return true;
      }
      ApplyConfig(std::move(next));
      CheckConnectionBudget();
      Log(LogLevel::kInfo, "config reloaded",
          {{"file", flags.config_file},
           {"services", std::to_string(pollers.size())},
           {"lists", std::to_string(lists.size())}});
      // What the old config held goes back to the system; trimming a large
      // heap takes a while, so not on the I/O thread.
      net::post(files, [] { ReleaseFreeMemory(); });
      return true;
    } catch (const std::exception& e) {  // ConfigError, or TLS files unusable
      metrics->reload_successful.Set(0);
      reload_ok = false;
      error = e.what();
      last_reload_error = error;
      Log(LogLevel::kError, "config reload failed; keeping the running config",
          {{"err", error}});
      return false;
    }
  }

  void MarkReloaded() {
    last_reload_success = UnixNow();
    if (last_reload_attempt == 0) last_reload_attempt = last_reload_success;
    metrics->reload_successful.Set(1);
    metrics->reload_success_timestamp.Set(last_reload_success);
    reload_ok = true;
    last_reload_error.clear();
  }

  ExporterStatus Status() const {
    auto [polled, total] = Readiness();
    ExporterStatus st;
    st.config_file = flags.config_file;
    st.web_config_file = flags.web_config_file;
    st.tls = web && web->tls();
    st.basic_auth = web_config && !web_config->basic_auth_users.empty();
    st.start_time = started_at;
    st.now = UnixNow();
    st.reload_successful = reload_ok;
    st.last_reload_success = last_reload_success;
    st.last_reload_attempt = last_reload_attempt;
    st.last_reload_error = last_reload_error;
    st.services = total;
    st.services_polled = polled;
    st.ready = config && polled >= total;
    for (const auto& [name, entry] : lists) {
      ListStatus ls;
      ls.name = name;
      ls.source = entry.config.kind == ListKind::kMcp ? "mcp" : "json_list";
      if (auto it = status.find(name); it != status.end()) ls.poll = it->second;
      ls.poll.url = RedactUrl(entry.config.poll.url.text);
      ls.members = entry.members.size();
      ls.items = entry.items;
      ls.mcp_mode = entry.mcp ? McpModeName(entry.mcp->mode()) : "";
      st.lists.push_back(std::move(ls));
    }
    return st;
  }

  // ---- web ---------------------------------------------------------------

  std::vector<ServiceRow> Rows(const std::string& name_filter,
                               const std::string& state_filter) const {
    std::vector<ServiceRow> rows;
    for (auto& view : tracker->ViewAll()) {
      if (!name_filter.empty() && view.name != name_filter) continue;
      if (!state_filter.empty() && view.state != state_filter) continue;
      ServiceRow row;
      if (auto it = status.find(view.name); it != status.end())
        row.poll = it->second;
      row.view = std::move(view);
      rows.push_back(std::move(row));
    }
    return rows;
  }

  // Ready once every configured target (service or list) was polled once.
  std::pair<std::size_t, std::size_t> Readiness() const {
    std::size_t total = pollers.size() + lists.size();
    std::size_t polled = 0;
    for (const auto& [name, poller] : pollers) {
      auto it = status.find(name);
      polled += it != status.end() && it->second.polled ? 1 : 0;
    }
    for (const auto& [name, entry] : lists) polled += entry.polled ? 1 : 0;
    return {polled, total};
  }

  WebResponse Handle(const WebRequest& req) {
    const bool get = req.method == "GET" || req.method == "HEAD";
    auto not_allowed = [](const char* allow) {
      WebResponse r = MakeResponse(405, "text/plain; charset=utf-8",
                                   "Method Not Allowed\n");
      r.headers.emplace_back("Allow", allow);
      return r;
    };
    if (req.path == "/-/reload") {
      if (!flags.enable_lifecycle) {
        return MakeResponse(
            403, "text/plain; charset=utf-8",
            "Lifecycle API is not enabled (--web.enable-lifecycle).\n");
      }
      if (req.method != "POST" && req.method != "PUT")
        return not_allowed("POST, PUT");
      // The files are read and parsed on the file thread; the answer
      // comes when the reload is applied.
      WebResponse r;
      r.later = [this](std::function<void(WebResponse)> done) {
        Reload([done = std::move(done)](bool ok, const std::string& error) {
          done(ok ? MakeResponse(200, "text/plain; charset=utf-8", "")
                  : MakeResponse(500, "text/plain; charset=utf-8",
                                 "failed to reload config: " + error + "\n"));
        });
      };
      return r;
    }
    const bool known = req.path == flags.telemetry_path || req.path == "/" ||
                       req.path == "/api/v1/services" ||
                       req.path == "/api/v1/status" ||
                       req.path == "/-/healthy" || req.path == "/-/ready";
    if (!known)
      return MakeResponse(404, "text/plain; charset=utf-8",
                          "404 page not found\n");
    if (!get) return not_allowed("GET, HEAD");
    if (req.path == flags.telemetry_path) return RenderMetrics(*metrics, req);
    if (req.path == "/-/healthy") {
      return MakeResponse(200, "text/plain; charset=utf-8",
                          "Service State Exporter is Healthy.\n");
    }
    if (req.path == "/-/ready") {
      auto [polled, total] = Readiness();
      if (config && polled >= total) {
        return MakeResponse(200, "text/plain; charset=utf-8",
                            "Service State Exporter is Ready.\n");
      }
      return MakeResponse(503, "text/plain; charset=utf-8",
                          "Not ready: " + std::to_string(polled) + " of " +
                              std::to_string(total) + " targets polled.\n");
    }
    if (req.path == "/api/v1/status") {
      return MakeResponse(200, "application/json", RenderStatusJson(Status()));
    }
    if (req.path == "/api/v1/services") {
      auto name = QueryParam(req.query, "name");
      auto state = QueryParam(req.query, "state");
      if (!name || !state) {
        return MakeResponse(400, "text/plain; charset=utf-8",
                            "Bad Request: the query is malformed or not UTF-8 "
                            "(percent-encode name and state).\n");
      }
      return MakeResponse(200, "application/json",
                          RenderServicesJson(Rows(*name, *state)));
    }
    return MakeResponse(200, "text/html; charset=utf-8",
                        RenderLandingPage(Rows("", ""), Status().lists,
                                          flags.telemetry_path, UnixNow()));
  }

  // ---- lifecycle ---------------------------------------------------------

  void WaitForSignal() {
    signals.async_wait([this](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        Log(LogLevel::kInfo, "SIGHUP received, reloading config");
        Reload([](bool, const std::string&) {});
        WaitForSignal();
        return;
      }
      Log(LogLevel::kInfo, "stopping", {{"signal", std::to_string(signo)}});
      Stop();
    });
  }

  void Stop() {
    stopping = true;
    for (auto& [name, poller] : pollers) poller->Stop();
    for (auto& [name, entry] : lists) {
      entry.poller->Stop();
      CloseMcpSession(entry);
    }
    for (auto& sd : sds) {
      sd->stopped = true;
      sd->timer->cancel();
      if (sd->client) sd->client->Close();
    }
    save_timer.cancel();
    prune_timer.cancel();
    if (web) web->Stop();
    signals.cancel();
  }

  // Warns when the poll connections the descriptor limit leaves cannot keep
  // one connection alive per target.
  void CheckConnectionBudget() {
    const std::size_t budget = PollConnectionLimit();
    const std::size_t targets = pollers.size() + lists.size() + sds.size();
    if (budget == std::numeric_limits<std::size_t>::max() || targets <= budget)
      return;
    Log(LogLevel::kWarn,
        "the open files limit leaves fewer poll connections than targets: "
        "connections are closed between polls, the longest idle first "
        "(raise ulimit -n)",
        {{"poll_connections", std::to_string(budget)},
         {"targets", std::to_string(targets)}});
  }

  int Run() {
    if (const rlim_t limit = RaiseOpenFilesLimit();
        limit > 0 && limit != RLIM_INFINITY) {
      const std::size_t reserved = ReservedDescriptors(limit);
      SetPollConnectionLimit(limit > reserved + 8 ? limit - reserved : 8);
    }
    if (flags.shard_count > 1 && flags.shard_index < 0) {
      flags.shard_index = HostnameOrdinal();
      if (flags.shard_index < 0 || flags.shard_index >= flags.shard_count) {
        Log(LogLevel::kError,
            "--shard.count given without --shard.index, and the hostname has "
            "no "
            "usable StatefulSet ordinal");
        return 1;
      }
    }
    std::shared_ptr<const Config> initial;
    try {
      initial =
          std::make_shared<const Config>(LoadConfigFile(flags.config_file));
    } catch (const ConfigError& e) {
      Log(LogLevel::kError, "cannot load config", {{"err", e.what()}});
      return 1;
    }
    if (!flags.state_file.empty()) {
      std::string error;
      persisted = LoadStateFile(flags.state_file, UnixNow(), error);
      // Until a service claims its entry, it is kept for the retention.
      for (const auto& [name, saved] : persisted)
        orphaned_since.emplace(name, started_at);
      if (!error.empty()) {
        Log(LogLevel::kWarn, "state file ignored", {{"err", error}});
      } else {
        Log(LogLevel::kInfo, "state file loaded",
            {{"file", flags.state_file},
             {"services", std::to_string(persisted.size())}});
      }
    }
    std::optional<WebConfig> initial_web;
    try {
      initial_web = LoadWebConfig();
    } catch (const ConfigError& e) {
      Log(LogLevel::kError, "cannot load web config", {{"err", e.what()}});
      return 1;
    }
    metrics = std::make_unique<Metrics>(initial->global.metric_namespace);
    tracker = std::make_unique<Tracker>(*metrics);
    WebServerOptions web_options;
    web_options.listen_address = flags.listen_address;
    web_options.read_timeout = flags.web_read_timeout;
    web_options.write_timeout = flags.web_write_timeout;
    web_options.max_connections = flags.web_max_connections;
    web = std::make_unique<WebServer>(
        io.get_executor(), web_options,
        [this](const WebRequest& r) { return Handle(r); });
    try {
      ApplyWebConfig(std::move(initial_web));
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "cannot use web config", {{"err", e.what()}});
      return 1;
    }
    try {
      web->Start();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "cannot start web server", {{"err", e.what()}});
      return 1;
    }
    Log(LogLevel::kInfo, "starting service_state_exporter",
        {{"version", kVersion},
         {"revision", kRevision},
         {"config", flags.config_file},
         {"services", std::to_string(initial->services.size())},
         {"lists", std::to_string(initial->lists.size())},
         {"shard", std::to_string(std::max(flags.shard_index, 0)) + "/" +
                       std::to_string(flags.shard_count)}});
    Log(LogLevel::kInfo, "listening",
        {{"address", flags.listen_address},
         {"port", std::to_string(web->port())},
         {"tls", web->tls() ? "true" : "false"}});
    ApplyConfig(std::move(initial));
    CheckConnectionBudget();
    ReleaseFreeMemory();
    MarkReloaded();
    WaitForSignal();
    SchedulePrune();
    io.run();
    SaveStateAtExit();
    Log(LogLevel::kInfo, "stopped");
    return 0;
  }
};

App::App(Flags flags) : impl_(std::make_unique<Impl>(std::move(flags))) {}
App::~App() = default;
int App::Run() { return impl_->Run(); }

}  // namespace sse
