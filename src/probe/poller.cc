#include "sse/probe/poller.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "sse/http/client.h"
#include "sse/probe/schedule.h"
#include "sse/util/clock.h"
#include "sse/util/log.h"

namespace sse {
namespace {

namespace net = boost::asio;
using Clock = schedule::Clock;

}  // namespace

struct Poller::Impl {
  PollCallback callback;
  PollFetch fetch;
  HttpClient client;
  net::steady_timer timer;
  Clock::time_point next;  // of the next poll
  bool stopped = false;

  Impl(net::any_io_executor ex, const ServiceConfig& service, PollCallback cb,
       PollFetch f)
      : callback(std::move(cb)),
        fetch(std::move(f)),
        client(ex, service.url, ClientOptionsFor(service)),
        timer(ex) {}
};

Poller::Poller(net::any_io_executor executor,
               std::shared_ptr<const ServiceConfig> service,
               PollCallback callback, PollFetch fetch)
    : service_(std::move(service)),
      impl_(std::make_unique<Impl>(executor, *service_, std::move(callback),
                                   std::move(fetch))) {}

Poller::~Poller() = default;

void Poller::Start() {
  Start(schedule::FirstDelay(service_->name, service_->interval));
}

void Poller::Start(std::chrono::milliseconds first_delay) {
  impl_->next = schedule::OnTick(Clock::now() + first_delay);
  Sleep();
}

// Between polls a poller holds a timer wait with a plain handler, no
// coroutine: a poll loop's frames and its awaitable wait were ~1.5 KB per
// service for the whole second it sleeps, against ~0.1 KB.
void Poller::Sleep() {
  impl_->timer.expires_at(impl_->next);
  impl_->timer.async_wait(
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->impl_->stopped) return;
        self->PollOnce();
      });
}

void Poller::PollOnce() {
  auto self = shared_from_this();
  auto poll = [self]() -> net::awaitable<void> {
    Impl& impl = *self->impl_;
    // This poll's config: Rebind may replace the poller's meanwhile.
    const std::shared_ptr<const ServiceConfig> config = self->service_;
    const Clock::time_point start = Clock::now();
    HttpResult http;
    if (impl.fetch) {
      http = co_await impl.fetch(impl.client);
    } else {
      http = co_await impl.client.Get();
    }
    if (impl.stopped) co_return;
    self->Report(*config, std::move(http), start);
  };
  net::co_spawn(
      impl_->timer.get_executor(), std::move(poll),
      [self](std::exception_ptr e) {
        if (LogEscaped(e, "poll failed", {"service", self->service_->name})) {
          self->impl_->next = schedule::Next(self->impl_->next, Clock::now(),
                                             self->service_->interval);
        }
        if (!self->impl_->stopped) self->Sleep();
      });
}

void Poller::Report(const ServiceConfig& service, HttpResult http,
                    std::chrono::steady_clock::time_point start) {
  Impl& impl = *impl_;
  const Clock::time_point end = Clock::now();
  PollResult result;
  result.http = std::move(http);
  result.duration_seconds = std::chrono::duration<double>(end - start).count();
  result.finished_at = UnixNow();
  impl.callback(service, result);
  impl.next = schedule::Next(impl.next, end, service.interval);
}

void Poller::Rebind(std::shared_ptr<const ServiceConfig> service) {
  service_ = std::move(service);
}

void Poller::Stop() {
  impl_->stopped = true;
  impl_->timer.cancel();
  impl_->client.Close();
}

PollerFactory MakePollerFactory(net::any_io_executor executor) {
  return [executor](std::shared_ptr<const ServiceConfig> service,
                    PollCallback callback,
                    PollFetch fetch) -> std::shared_ptr<PollLoop> {
    return std::make_shared<Poller>(executor, std::move(service),
                                    std::move(callback), std::move(fetch));
  };
}

}  // namespace sse
