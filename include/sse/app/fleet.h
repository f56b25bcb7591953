#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sse/app/recorder.h"
#include "sse/config/config.h"
#include "sse/discovery/discovery.h"
#include "sse/probe/mcp.h"
#include "sse/probe/poller.h"
#include "sse/util/log.h"
#include "sse/web/render.h"

namespace sse {

/// Who uses a name. A target's series, status and tracker entry go by its
/// name, so a name has one owner: a list's own name (its poll series) and
/// the services (config first, then discovery blocks in order) are decided
/// at each reconciliation; a list's member takes a name that neither holds,
/// and between lists the earlier one in the config wins.
class NameRegistry {
 public:
  enum class Kind { kList, kService, kMember };
  struct Owner {
    Kind kind = Kind::kService;
    std::string list;  ///< kMember: the list that reports it
  };

  const Owner* Find(const std::string& name) const;
  /// Sets or replaces the owner of `name`.
  void Set(const std::string& name, Owner owner) {
    owners_[name] = std::move(owner);
  }
  void Erase(const std::string& name) { owners_.erase(name); }
  /// Forgets every list and service (members stay): before a
  /// reconciliation names them again.
  void ClearListsAndServices();

 private:
  std::unordered_map<std::string, Owner> owners_;
};

/// The polled fleet: one poller per service (config and discovery), one per
/// service list and the services each list reports, reconciled with every
/// new config or discovery result: unchanged targets poll on and keep their
/// state; changed ones poll anew; removed ones lose their series; new ones
/// start. Not thread-safe: I/O thread.
class Fleet {
 public:
  /// Whether this shard polls `name` (--shard.*).
  using ShardFilter = std::function<bool(const std::string& name)>;

  /// `io` runs MCP session closes; `make_poller` makes every poll loop.
  Fleet(boost::asio::any_io_executor io, PollRecorder& recorder,
        PollerFactory make_poller, ShardFilter in_shard);
  ~Fleet();

  /// Takes a new config (its services and lists) with the discovered
  /// targets.
  void Apply(std::shared_ptr<const Config> config,
             const std::vector<DiscoveredTargets>& discovered);
  /// Takes new discovered targets; the config stays.
  void ApplyDiscovered(const std::vector<DiscoveredTargets>& discovered);
  /// Stops every poller and closes MCP sessions; nothing is recorded after.
  void Stop();

  std::size_t services() const { return pollers_.size(); }
  std::size_t lists() const { return lists_.size(); }
  /// Targets (services and lists) polled at least once, and all of them.
  std::pair<std::size_t, std::size_t> Readiness() const;
  /// The lists as /api/v1/status and / show them, in name order.
  std::vector<ListStatus> ListStatuses() const;
  /// The services list `list` reports now (tests and status).
  std::set<std::string> Members(const std::string& list) const;
  /// Services this replica polls (config, discovery, list members: after
  /// the shard filter) and services it knows of before the filter (config
  /// entries, discovered targets, the items of each list's last good
  /// answer; a name given twice counts twice). Lists themselves are polled
  /// by every replica and count in neither. Published as
  /// service_state_exporter_shard_services_{owned,seen}.
  struct ShardCounts {
    std::size_t owned = 0;
    std::size_t seen = 0;
  };
  ShardCounts Shard() const;
  /// True if `name` is polled as a service.
  bool Polls(const std::string& name) const { return pollers_.contains(name); }
  const NameRegistry& names() const { return names_; }

 private:
  struct ListEntry;
  std::vector<std::shared_ptr<const ServiceConfig>> DesiredServices(
      const std::vector<DiscoveredTargets>& discovered);
  void ReconcileServices(const std::vector<DiscoveredTargets>& discovered);
  void ReconcileLists(const Config& next);
  void StopService(const std::string& name);
  void OnServicePoll(const ServiceConfig& service, const PollResult& result,
                     PollRecorder::Record& record);
  void OnListPoll(const std::string& list_name, const PollResult& result);
  // Whether a member of `entry` may take `name`: it is free, or a member of
  // a later list holds it (then it leaves that list).
  bool ClaimMember(ListEntry& entry, const std::string& name);
  void DropMember(ListEntry& entry, const std::string& name);
  void StartList(ListEntry& entry);
  void StopList(ListEntry& entry);
  void RemoveList(const std::string& name);
  void WarnOnce(const std::string& key, const char* msg,
                std::initializer_list<LogField> fields);
  void PublishShard();

  boost::asio::any_io_executor io_;
  PollRecorder& recorder_;
  PollerFactory make_poller_;
  ShardFilter in_shard_;
  std::shared_ptr<const Config> config_;
  std::map<std::string, std::shared_ptr<PollLoop>> pollers_;  // services
  std::map<std::string, std::unique_ptr<ListEntry>> lists_;
  NameRegistry names_;
  std::size_t seen_services_ = 0;  // config and discovered, before the filter
  std::set<std::string> conflicts_warned_;
  bool stopped_ = false;
};

}  // namespace sse
