#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "sse/app/state_keeper.h"
#include "sse/core/metrics.h"
#include "sse/core/outcome.h"
#include "sse/core/poll_status.h"
#include "sse/core/tracker.h"
#include "sse/probe/poller.h"
#include "sse/util/clock.h"

namespace sse {

/// What becomes of a poll: its target's polls_total and last_poll series,
/// the PollStatus of every service it observed, the observation fed to the
/// tracker (with the log lines of failures and state changes), and a
/// changed state handed to the state file. Not thread-safe: I/O thread.
class PollRecorder {
 public:
  /// Series of one poll target (service or list) that the exporter, not
  /// the tracker, owns.
  struct PollSeries {
    std::array<Series*, kOutcomeCount> polls{};  // by outcome, made on use
    Series* last_poll = nullptr;
  };
  /// What is recorded under one name: a polled service, a list (its own
  /// poll), or a list's member (no series of its own).
  struct Record {
    PollStatus status;
    PollSeries series;
    /// A polled service's tracker entry, found when its poller starts.
    Tracker::Ref tracked = nullptr;
    /// Set when the name is dropped: a poll callback holding this record
    /// must not record anything more.
    bool closed = false;
  };

  PollRecorder(Metrics& metrics, Tracker& tracker, StateKeeper& keeper,
               WallClock now);
  ~PollRecorder();

  /// Starts tracking a service, continuing from its saved state if the
  /// state file knows it with the same type.
  void Track(const std::string& name, const std::string& type,
             const TrackerOptions& options);
  /// Stops tracking a service and drops its record and series (Close). Its
  /// saved state stays for the retention period.
  void Untrack(const std::string& name);

  /// The record of `name`, made if missing; shared with the poll callback
  /// of its poller.
  std::shared_ptr<Record> Open(const std::string& name);
  /// The record of `name`, or null.
  const Record* Find(const std::string& name) const;
  /// Drops the record and poll series of `name` and marks it closed.
  void Close(const std::string& name);

  /// Counts one poll of a target: polls_total by outcome, last_poll, and
  /// the poll duration histogram.
  void CountPoll(Record& record, const std::string& target, Outcome outcome,
                 const PollResult& result);
  /// Feeds one observation of a service to the tracker and records its poll
  /// status. The first failure after a success is logged as a warning,
  /// repeats as debug; a state change as info, and it goes to the state
  /// file.
  void Observe(Record& record, const std::string& name, const std::string& type,
               const std::string& state, Outcome outcome,
               const std::string& error, double when, double duration);
  void Observe(const std::string& name, const std::string& type,
               const std::string& state, Outcome outcome,
               const std::string& error, double when, double duration) {
    Observe(*Open(name), name, type, state, outcome, error, when, duration);
  }

  /// Called with every committed change, after it is in the service's
  /// history (the event stream of /api/v1/events?watch=true).
  using CommitListener = std::function<void(const FleetEvent&)>;
  void SetCommitListener(CommitListener listener) {
    on_commit_ = std::move(listener);
  }

  Tracker& tracker() { return tracker_; }
  const Tracker& tracker() const { return tracker_; }
  Metrics& metrics() { return metrics_; }

 private:
  Metrics& metrics_;
  Tracker& tracker_;
  StateKeeper& keeper_;
  WallClock now_;
  CommitListener on_commit_;
  // Hashed: looked up on every poll (a std::map cost 13% of the CPU at
  // 10,000 services; bench/README.md). Not iterated in order.
  std::unordered_map<std::string, std::shared_ptr<Record>> records_;
};

}  // namespace sse
