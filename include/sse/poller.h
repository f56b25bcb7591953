#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sse/config.h"
#include "sse/source.h"

namespace sse {

class HttpClient;

/// Result of one poll, handed to the poll callback.
struct PollResult {
  HttpResult http;  ///< what the exchange brought back
  double duration_seconds = 0;
  double finished_at = 0;        ///< Unix seconds
  double start_lag_seconds = 0;  ///< how late the poll started vs schedule
};

using PollCallback =
    std::function<void(const ServiceConfig& service, const PollResult& result)>;

/// How one poll talks to the target; the default is one GET of the URL.
using PollFetch =
    std::function<boost::asio::awaitable<HttpResult>(HttpClient& client)>;

/// Stable 64-bit FNV-1a hash of a string: spreads first polls over the
/// interval and assigns shards. Thread-safe.
std::uint64_t StableHash(std::string_view text);

/// Polls one service on its own schedule: the first poll after an offset
/// derived from the service name (spread over the interval), then every
/// interval, skipping slots it overran. Runs on the executor given at
/// construction; Start and Stop must be called from it. Never throws from
/// the poll loop: every poll reports through the callback.
class Poller : public std::enable_shared_from_this<Poller> {
 public:
  Poller(boost::asio::any_io_executor executor,
         std::shared_ptr<const ServiceConfig> service, PollCallback callback,
         PollFetch fetch = {});
  ~Poller();

  /// Starts the loop; the first poll comes after `first_delay`.
  void Start(std::chrono::milliseconds first_delay);
  /// Start with the first delay spread by the name's hash over the interval.
  void Start();
  /// Stops the loop; a pending poll is abandoned, its result not reported.
  void Stop();

  /// Polls on with `service` in place of its config, which must be the same
  /// for polling (ServiceConfig::SamePolling): lets a replaced config go.
  void Rebind(std::shared_ptr<const ServiceConfig> service);

  const ServiceConfig& service() const { return *service_; }
  std::shared_ptr<const ServiceConfig> service_ptr() const { return service_; }
  /// TCP connections opened so far.
  std::uint64_t connections_opened() const;

 private:
  void Sleep();
  void PollOnce();
  void Report(const ServiceConfig& service, HttpResult http,
              std::chrono::steady_clock::time_point start);
  // Moves the next poll time past `end` by whole intervals.
  void Advance(const ServiceConfig& service,
               std::chrono::steady_clock::time_point end);

  struct Impl;
  std::shared_ptr<const ServiceConfig> service_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sse
