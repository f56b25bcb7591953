#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sse/core/metrics.h"
#include "sse/core/tracker.h"
#include "sse/web/server.h"

namespace sse {

/// The watchers of /api/v1/events?watch=true: each committed change goes,
/// as a Server-Sent Event, to every watcher whose filter it matches; a
/// comment line keeps idle connections alive. A watcher that does not read
/// is dropped once `max_buffered` bytes wait for it, with a last `dropped`
/// event. Not thread-safe: I/O thread.
class EventHub {
 public:
  struct Filter {
    std::string service;  ///< exact name, or any
    std::string type;     ///< exact type, or any
  };
  /// Bytes that may wait for one watcher.
  static constexpr std::size_t kMaxBuffered = 256 * 1024;

  /// `metrics` (optional) gets the number of watchers and those dropped.
  EventHub(boost::asio::any_io_executor io, Metrics* metrics = nullptr,
           std::chrono::milliseconds keepalive = std::chrono::seconds(15));
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  /// A new watcher's stream: `replay` (oldest first) is sent at once, then
  /// every event Publish()ed that matches `filter`.
  std::shared_ptr<WebStream> Watch(Filter filter,
                                   const std::vector<FleetEvent>& replay);
  /// Sends `event` to the watchers it matches.
  void Publish(const FleetEvent& event);
  /// Closes every watcher's stream; no keep-alive from now on.
  void Stop();

 private:
  struct Watcher {
    std::shared_ptr<WebStream> stream;
    Filter filter;
  };
  // Sends `data`; drops the watcher (false) if it cannot take it.
  bool Deliver(Watcher& watcher, std::string data);
  void ScheduleKeepalive();
  // Forgets watchers whose stream ended; updates the watchers gauge.
  void Prune();

  std::vector<Watcher> watchers_;
  Metrics* metrics_;
  std::chrono::milliseconds keepalive_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  // Lets a stream that ends after the hub is gone know it.
  std::shared_ptr<EventHub*> self_ = std::make_shared<EventHub*>(this);
};

/// One event as a Server-Sent Event ("event: transition", the JSON of
/// RenderEventLine as data).
std::string SseEvent(const FleetEvent& event);

}  // namespace sse
