#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <string>
#include <unordered_map>

#include "sse/core/persisted.h"
#include "sse/util/clock.h"
#include "sse/util/units.h"

namespace sse {

/// The state file (--storage.state-file, docs/operations.md "State file"):
/// what it held at start, the services' states as they change, batched
/// saves on the file thread, retries after a failed write, and the pruning
/// of services that nothing has polled for --storage.state-retention.
/// Without a path it keeps nothing. Not thread-safe: call from the I/O
/// thread (SaveAtExit after it stopped).
class StateKeeper {
 public:
  StateKeeper(boost::asio::any_io_executor io, boost::asio::thread_pool& files,
              std::string path, Duration retention, WallClock now);

  bool enabled() const { return !path_.empty(); }

  /// Reads the state file; logs what it found or why it was ignored. Every
  /// entry counts as no longer polled from now until a service claims it.
  void Load();
  /// Starts pruning (a timer on the I/O thread).
  void Start();
  /// Stops the timers; no save is scheduled from now on.
  void Stop();
  /// The last save, once the I/O thread has stopped and the file thread
  /// was joined: writes what changed since the last write (or what a failed
  /// write lost).
  void SaveAtExit();

  /// A service is polled (again): its saved state, if any, is no longer
  /// pruned. Returns the saved state, or null.
  const PersistedService* Claim(const std::string& name);
  /// A service is no longer polled: its saved state is kept for the
  /// retention period, so a service that a reload or a list drops for a
  /// while continues its counters when it comes back.
  void Release(const std::string& name);
  /// Records a service's new state and schedules a save (at most one write
  /// a second).
  void Update(const std::string& name, PersistedService saved);

  /// Drops saved services that nothing has polled for the retention
  /// period. Runs on a timer; public for tests.
  void Prune();
  const PersistedState& persisted() const { return persisted_; }

 private:
  void MarkDirty();
  void Save();
  void SaveDone(const std::string& error);
  void SchedulePrune();

  boost::asio::any_io_executor io_;
  boost::asio::thread_pool& files_;
  std::string path_;
  Duration retention_;
  WallClock now_;
  PersistedState persisted_;
  // Saved services that nothing polls now, and since when (Unix seconds).
  std::unordered_map<std::string, double> orphaned_since_;
  bool dirty_ = false;
  bool save_scheduled_ = false;
  bool save_running_ = false;  // a write is under way on the file thread
  bool save_failing_ = false;  // the last write failed
  bool stopped_ = false;
  boost::asio::steady_timer save_timer_;
  boost::asio::steady_timer prune_timer_;
};

}  // namespace sse
