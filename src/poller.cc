#include "sse/poller.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "sse/http_client.h"
#include "sse/log.h"

namespace sse {
namespace {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Poll times are whole ticks of the steady clock (and stay so: intervals are
// whole milliseconds), so the polls due in the same tick wake the I/O thread
// once, together, instead of one wake-up each: at 10,000 polls/s that is
// ~10 polls a wake-up instead of one. Delays a poll by less than a tick.
constexpr auto kTick = std::chrono::milliseconds(1);

Clock::time_point OnTick(Clock::time_point t) {
  const auto tick = std::chrono::duration_cast<Clock::duration>(kTick);
  const auto since = t.time_since_epoch();
  return Clock::time_point(((since + tick - Clock::duration(1)) / tick) * tick);
}

}  // namespace

std::uint64_t StableHash(std::string_view text) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

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
  const auto interval = service_->interval.count();
  Start(std::chrono::milliseconds(
      interval > 0 ? static_cast<std::int64_t>(StableHash(service_->name) %
                                               static_cast<std::uint64_t>(interval))
                   : 0));
}

void Poller::Start(std::chrono::milliseconds first_delay) {
  impl_->next = OnTick(Clock::now() + first_delay);
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
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            Log(LogLevel::kError, "poll failed",
                {{"service", self->service_->name}, {"err", ex.what()}});
          }
          self->Advance(*self->service_, Clock::now());
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
  result.start_lag_seconds =
      std::chrono::duration<double>(start - impl.next).count();
  result.finished_at = UnixNow();
  impl.callback(service, result);
  Advance(service, end);
}

void Poller::Advance(const ServiceConfig& service,
                     std::chrono::steady_clock::time_point end) {
  Clock::time_point& next = impl_->next;
  next += service.interval;
  if (next <= end) {
    // Overran one or more slots: keep the phase, skip the missed ones.
    auto behind = end - next;
    next += service.interval * (behind / service.interval + 1);
  }
}

void Poller::Rebind(std::shared_ptr<const ServiceConfig> service) {
  service_ = std::move(service);
}

void Poller::Stop() {
  impl_->stopped = true;
  impl_->timer.cancel();
  impl_->client.Close();
}

std::uint64_t Poller::connections_opened() const {
  return impl_->client.connections_opened();
}

}  // namespace sse
