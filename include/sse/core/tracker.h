#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sse/core/history.h"
#include "sse/core/metrics.h"
#include "sse/core/outcome.h"
#include "sse/core/persisted.h"
#include "sse/core/states.h"

namespace sse {

/// Per-service settings of the state machine.
struct TrackerOptions {
  std::vector<std::string> up_states = {"running", "connected"};
  int transition_after = 1;
  int max_states = 16;
  bool operator==(const TrackerOptions&) const = default;
};

/// A committed state change, as returned by Tracker::Observe.
struct Commit {
  std::string from;
  std::string to;
  bool counted = false;  ///< false for the first observation
};

/// What one observation did.
struct ObserveResult {
  std::string state;             ///< the observation after the state cap
  std::optional<Commit> commit;  ///< set if the committed state changed
  bool cap_reached = false;      ///< true the first time the cap maps a state
};

/// Read-only view of a tracked service, for the API and the landing page.
struct ServiceView {
  std::string name;
  std::string type;
  std::string state;
  double since = 0;
  bool up = false;
  bool observed = false;
  std::uint64_t changes = 0;
  std::string candidate;  ///< state waiting for hysteresis, if any
  int streak = 0;
  std::map<std::pair<std::string, std::string>, std::uint64_t> transitions;
  /// Its last committed changes, oldest first (only from View(name)).
  std::vector<HistoryEvent> history;
  /// Its up states (only from View(name), to colour past states).
  std::vector<std::string> up_states;
};

/// A light look at a tracked service, for listing a whole fleet: the
/// strings point into the tracker and are valid until it next changes
/// (use at once, on the tracker's thread).
struct ServiceBrief {
  const std::string* name = nullptr;
  const std::string* type = nullptr;
  const std::string* state = nullptr;
  double since = 0;
  bool up = false;
  std::uint64_t changes = 0;  ///< counted transitions
};

/// What the poll that led to an observation said, kept with a commit.
struct ObserveCause {
  Outcome outcome = Outcome::kOk;
  std::string_view error;
};

/// A committed change of one service, from the fleet-wide history.
struct FleetEvent {
  std::string service;
  std::string type;
  HistoryEvent event;
};

/// Which events Tracker::Events returns (empty strings: any).
struct EventQuery {
  std::string service;  ///< exact name
  std::string type;     ///< exact type
  double since = 0;     ///< events at or after this time (Unix seconds)
  std::size_t limit = 100;
};

/// The per-service state machine (docs/metrics.md). Observations in,
/// commits and metric updates out; no I/O and no clock of its own (time is
/// passed in as Unix seconds). Not thread-safe: use from one thread (or
/// strand).
class Tracker {
 public:
  /// Metric updates go to the state families of `metrics`.
  explicit Tracker(Metrics& metrics) : metrics_(metrics) {}
  /// Leaves the series in `metrics`: they go with it. Use Remove() to drop
  /// a service's series while the metrics live on.
  ~Tracker() = default;
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  /// Starts tracking `name` in state `unknown` (up 0) at time `now`. If the
  /// service is already tracked with the same type, only its options change
  /// and its state and counters are kept; with another type it starts anew.
  void Add(const std::string& name, const std::string& type,
           const TrackerOptions& options, double now);

  /// Like Add, but continues from a persisted state: counters resume and the
  /// first observation that differs from `saved.state` counts.
  void Restore(const std::string& name, const PersistedService& saved,
               const TrackerOptions& options);

  /// Stops tracking `name` and removes all of its series. No-op if unknown.
  void Remove(const std::string& name);

  /// Feeds one observed state. Unknown services are ignored (empty result).
  ObserveResult Observe(const std::string& name, const std::string& state,
                        double now, const ObserveCause& cause = {});

 private:
  struct Service;

 public:
  /// A tracked service, to observe it without looking its name up. Valid
  /// until the service is removed, restored, or added with another type;
  /// null for an unknown service.
  using Ref = Service*;
  Ref Find(const std::string& name);
  /// Observe(name, ...) for a service found before (null: ignored).
  ObserveResult Observe(Ref service, const std::string& state, double now,
                        const ObserveCause& cause = {});

  /// Entries kept per service from now on (global.history_size, 0: none);
  /// longer histories lose their oldest entries.
  void SetHistorySize(std::size_t size);
  std::size_t history_size() const { return history_size_; }
  /// Committed changes of the fleet, newest first (ties by name), at most
  /// query.limit, in time O(services + limit log services).
  std::vector<FleetEvent> Events(const EventQuery& query) const;
  /// Heap bytes the histories' entries hold (not their shared strings).
  std::size_t HistoryBytes() const;

  bool Has(const std::string& name) const { return services_.contains(name); }
  std::size_t size() const { return services_.size(); }
  /// Snapshot of one service with its history, or nullopt.
  std::optional<ServiceView> View(const std::string& name) const;
  /// Snapshots of all services (without history), sorted by name.
  std::vector<ServiceView> ViewAll() const;
  /// Briefs of all services, unordered; no string is copied.
  std::vector<ServiceBrief> Briefs() const;
  /// What would be persisted for `name`; nullopt if unknown or unobserved.
  std::optional<PersistedService> Persist(const std::string& name) const;
  /// Names of all tracked services (unordered).
  std::vector<std::string> Names() const;

 private:
  struct Service {
    std::string name;
    std::string type;
    std::shared_ptr<const TrackerOptions> options;  // shared (Intern)
    std::string state = kStateUnknown;
    double since = 0;
    bool observed = false;
    std::string candidate;
    int streak = 0;
    std::set<std::string> raw_states;  // distinct states counted for the cap
    bool cap_warned = false;
    Series* up = nullptr;
    Series* entered = nullptr;
    Series* changes = nullptr;
    std::map<std::string, Series*> state_gauges;
    std::map<std::pair<std::string, std::string>, Series*> transitions;
    HistoryRing history;
  };

  void CommitState(Service& s, const std::string& to, bool counted, double now,
                   const ObserveCause& cause);
  std::shared_ptr<const TrackerOptions> Intern(const TrackerOptions& options);
  Series& StateGauge(Service& s, const std::string& state);
  Series& TransitionCounter(Service& s, const std::string& from,
                            const std::string& to);
  ServiceView MakeView(const Service& s, bool with_history) const;

  Metrics& metrics_;
  std::unordered_map<std::string, std::unique_ptr<Service>> services_;
  std::vector<std::shared_ptr<const TrackerOptions>> options_;  // distinct
  std::size_t history_size_ = 64;
  SymbolTable symbols_;  // the histories' strings
};

}  // namespace sse
