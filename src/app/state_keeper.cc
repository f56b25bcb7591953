#include "sse/app/state_keeper.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <memory>

#include "sse/app/state_file.h"
#include "sse/util/log.h"

namespace sse {

namespace net = boost::asio;

StateKeeper::StateKeeper(net::any_io_executor io, net::thread_pool& files,
                         std::string path, Duration retention, WallClock now)
    : io_(io),
      files_(files),
      path_(std::move(path)),
      retention_(retention),
      now_(std::move(now)),
      save_timer_(io),
      prune_timer_(io) {}

void StateKeeper::Load() {
  if (!enabled()) return;
  std::string error;
  const double now = now_();
  persisted_ = LoadStateFile(path_, now, error);
  for (const auto& [name, saved] : persisted_)
    orphaned_since_.emplace(name, now);
  if (!error.empty()) {
    Log(LogLevel::kWarn, "state file ignored", {{"err", error}});
  } else {
    Log(LogLevel::kInfo, "state file loaded",
        {{"file", path_}, {"services", std::to_string(persisted_.size())}});
  }
}

const PersistedService* StateKeeper::Claim(const std::string& name) {
  orphaned_since_.erase(name);
  auto it = persisted_.find(name);
  return it == persisted_.end() ? nullptr : &it->second;
}

void StateKeeper::Release(const std::string& name) {
  if (persisted_.contains(name)) orphaned_since_[name] = now_();
}

void StateKeeper::Update(const std::string& name, PersistedService saved) {
  if (!enabled()) return;  // nothing to keep: no copy of every history
  persisted_[name] = std::move(saved);
  MarkDirty();
}

void StateKeeper::MarkDirty() {
  if (!enabled()) return;
  dirty_ = true;
  if (save_scheduled_ || stopped_) return;
  // Batched: at most one write a second.
  save_scheduled_ = true;
  save_timer_.expires_after(std::chrono::seconds(1));
  save_timer_.async_wait([this](boost::system::error_code ec) {
    save_scheduled_ = false;
    if (!ec) Save();
  });
}

// Writes the state file on the file thread from a snapshot taken here, so
// that neither the copy's serialisation nor the disk holds up polls and
// scrapes. A failed write keeps the state dirty and is tried again.
void StateKeeper::Save() {
  if (!enabled() || !dirty_) return;
  if (save_running_) return;  // SaveDone saves again: still dirty
  dirty_ = false;
  save_running_ = true;
  auto snapshot = std::make_shared<const PersistedState>(persisted_);
  net::post(files_, [this, snapshot, now = now_()] {
    std::string error;
    try {
      WriteFileAtomic(path_, SerializeState(*snapshot, now));
    } catch (const std::exception& e) {  // I/O errors, bad_alloc
      error = e.what();
    }
    net::post(io_, [this, error] { SaveDone(error); });
  });
}

void StateKeeper::SaveDone(const std::string& error) {
  save_running_ = false;
  if (!error.empty()) {
    dirty_ = true;
    if (!save_failing_) {
      Log(LogLevel::kError, "cannot write state file; retrying every 5s",
          {{"file", path_}, {"err", error}});
    }
    save_failing_ = true;
    if (!stopped_) {
      save_timer_.cancel();
      save_scheduled_ = true;
      save_timer_.expires_after(std::chrono::seconds(5));
      save_timer_.async_wait([this](boost::system::error_code ec) {
        save_scheduled_ = false;
        if (!ec) Save();
      });
    }
    return;
  }
  if (save_failing_) {
    Log(LogLevel::kInfo, "state file written again", {{"file", path_}});
  }
  save_failing_ = false;
  if (dirty_) MarkDirty();
}

void StateKeeper::SaveAtExit() {
  if (!enabled() || !(dirty_ || save_running_)) return;
  try {
    WriteFileAtomic(path_, SerializeState(persisted_, now_()));
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "cannot write state file",
        {{"file", path_}, {"err", e.what()}});
  }
}

void StateKeeper::Prune() {
  const double cutoff =
      now_() - std::chrono::duration<double>(retention_).count();
  std::size_t pruned = 0;
  for (auto it = orphaned_since_.begin(); it != orphaned_since_.end();) {
    if (it->second <= cutoff) {
      pruned += persisted_.erase(it->first);
      it = orphaned_since_.erase(it);
    } else {
      ++it;
    }
  }
  if (pruned > 0) {
    Log(LogLevel::kInfo, "services no longer polled dropped from the state",
        {{"count", std::to_string(pruned)},
         {"retention", FormatDuration(retention_)}});
    MarkDirty();
  }
}

void StateKeeper::Start() { SchedulePrune(); }

void StateKeeper::SchedulePrune() {
  if (!enabled() || stopped_) return;
  prune_timer_.expires_after(std::min<std::chrono::milliseconds>(
      retention_ / 4 + std::chrono::milliseconds(1), std::chrono::minutes(1)));
  prune_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    Prune();
    SchedulePrune();
  });
}

void StateKeeper::Stop() {
  stopped_ = true;
  save_timer_.cancel();
  prune_timer_.cancel();
}

}  // namespace sse
