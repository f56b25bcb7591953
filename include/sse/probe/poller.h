#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sse/config/config.h"
#include "sse/http/result.h"

namespace sse {

class HttpClient;

/// Result of one poll, handed to the poll callback.
struct PollResult {
  HttpResult http;  ///< what the exchange brought back
  double duration_seconds = 0;
  double finished_at = 0;  ///< Unix seconds
};

using PollCallback =
    std::function<void(const ServiceConfig& service, const PollResult& result)>;

/// How one poll talks to the target; the default is one GET of the URL.
using PollFetch =
    std::function<boost::asio::awaitable<HttpResult>(HttpClient& client)>;

/// A target's poll loop, as the fleet sees it: the Poller, or a stand-in
/// in tests that drive polls by hand.
class PollLoop {
 public:
  virtual ~PollLoop() = default;
  /// Starts polling; the first poll comes after schedule::FirstDelay.
  virtual void Start() = 0;
  /// Stops polling; a poll under way is abandoned, its result not reported.
  virtual void Stop() = 0;
  /// Polls on with `service` in place of its config, which must be the same
  /// for polling (ServiceConfig::SamePolling): lets a replaced config go.
  virtual void Rebind(std::shared_ptr<const ServiceConfig> service) = 0;
  virtual const ServiceConfig& service() const = 0;
};

/// Makes the poll loop of one target; `fetch` may be empty (one GET).
using PollerFactory = std::function<std::shared_ptr<PollLoop>(
    std::shared_ptr<const ServiceConfig> service, PollCallback callback,
    PollFetch fetch)>;

/// Polls one service on its own schedule (schedule.h): the first poll after
/// an offset derived from the service name, then every interval, skipping
/// slots it overran. Runs on the executor given at construction; Start and
/// Stop must be called from it. Never throws from the poll loop: every poll
/// reports through the callback.
class Poller final : public PollLoop,
                     public std::enable_shared_from_this<Poller> {
 public:
  Poller(boost::asio::any_io_executor executor,
         std::shared_ptr<const ServiceConfig> service, PollCallback callback,
         PollFetch fetch = {});
  ~Poller() override;

  void Start() override;
  /// Starts the loop with the first poll after `first_delay`.
  void Start(std::chrono::milliseconds first_delay);
  void Stop() override;
  void Rebind(std::shared_ptr<const ServiceConfig> service) override;
  const ServiceConfig& service() const override { return *service_; }

 private:
  void Sleep();
  void PollOnce();
  void Report(const ServiceConfig& service, HttpResult http,
              std::chrono::steady_clock::time_point start);

  struct Impl;
  std::shared_ptr<const ServiceConfig> service_;
  std::unique_ptr<Impl> impl_;
};

/// The factory of real Pollers on `executor`.
PollerFactory MakePollerFactory(boost::asio::any_io_executor executor);

}  // namespace sse
