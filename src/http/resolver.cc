#include "sse/http/resolver.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace sse {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// At most this many getaddrinfo() calls run at once.
constexpr int kMaxThreads = 16;

// One coroutine waiting for a lookup. `timer` lives in the coroutine's frame
// and is touched only on `executor`'s thread: by the coroutine, and by the
// handler the lookup posts there when it is done. The coroutine clears it
// before its frame goes away.
struct Waiter {
  net::any_io_executor executor;
  net::steady_timer* timer = nullptr;
};

// One getaddrinfo() call, shared by every coroutine that wants the same
// host and port while it runs.
struct Lookup {
  std::string host;
  std::string port;
  std::mutex mutex;  // guards the fields below
  bool done = false;
  boost::system::error_code error;
  std::vector<tcp::endpoint> endpoints;
  std::vector<std::shared_ptr<Waiter>> waiters;
};

boost::system::error_code AddrinfoError(int rc, int saved_errno) {
  switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
      return net::error::host_not_found;
    case EAI_AGAIN:
      return net::error::host_not_found_try_again;
    case EAI_SERVICE:
      return net::error::service_not_found;
    case EAI_MEMORY:
      return net::error::no_memory;
    case EAI_SYSTEM:
      return {saved_errno, boost::system::system_category()};
    default:
      return {rc, net::error::get_addrinfo_category()};
  }
}

void BlockingResolve(Lookup& lookup, boost::system::error_code& error,
                     std::vector<tcp::endpoint>& endpoints) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  // As boost::asio's resolver does by default.
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo* list = nullptr;
  errno = 0;
  int rc =
      ::getaddrinfo(lookup.host.c_str(), lookup.port.c_str(), &hints, &list);
  if (rc != 0) {
    error = AddrinfoError(rc, errno);
    return;
  }
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    tcp::endpoint endpoint;
    std::memcpy(endpoint.data(), ai->ai_addr,
                std::min<std::size_t>(ai->ai_addrlen, endpoint.capacity()));
    endpoint.resize(ai->ai_addrlen);
    endpoints.push_back(endpoint);
  }
  ::freeaddrinfo(list);
  if (endpoints.empty()) error = net::error::host_not_found;
}

// The lookup threads. Created on first use and never destroyed: a thread
// blocked in getaddrinfo() cannot be stopped, so the pool outlives main()
// (its threads are detached) and nothing waits for it at exit.
class Pool {
 public:
  static Pool& Instance() {
    static Pool* pool = new Pool;
    return *pool;
  }

  // Adds `waiter` to the running or queued lookup of host:port, or queues a
  // new one.
  std::shared_ptr<Lookup> Join(const std::string& host, const std::string& port,
                               std::shared_ptr<Waiter> waiter) {
    std::lock_guard lock(mutex_);
    std::string key = host + '\n' + port;
    std::shared_ptr<Lookup>& lookup = inflight_[key];
    if (!lookup) {
      lookup = std::make_shared<Lookup>();
      lookup->host = host;
      lookup->port = port;
      queue_.push_back(lookup);
      if (idle_ == 0 && threads_ < kMaxThreads) {
        ++threads_;
        std::thread([this] { Work(); }).detach();
      } else {
        wake_.notify_one();
      }
    }
    std::lock_guard lookup_lock(lookup->mutex);
    lookup->waiters.push_back(std::move(waiter));
    return lookup;
  }

  std::size_t Pending() {
    std::lock_guard lock(mutex_);
    return inflight_.size();
  }

 private:
  void Work() {
    for (;;) {
      std::shared_ptr<Lookup> lookup;
      {
        std::unique_lock lock(mutex_);
        ++idle_;
        wake_.wait(lock, [this] { return !queue_.empty(); });
        --idle_;
        lookup = std::move(queue_.front());
        queue_.pop_front();
        // Everyone who wanted it gave up while it was queued: skip it.
        std::lock_guard lookup_lock(lookup->mutex);
        if (lookup->waiters.empty()) {
          inflight_.erase(lookup->host + '\n' + lookup->port);
          continue;
        }
      }
      boost::system::error_code error;
      std::vector<tcp::endpoint> endpoints;
      BlockingResolve(*lookup, error, endpoints);
      {
        // From now on a new waiter starts a new lookup.
        std::lock_guard lock(mutex_);
        inflight_.erase(lookup->host + '\n' + lookup->port);
      }
      std::lock_guard lookup_lock(lookup->mutex);
      lookup->done = true;
      lookup->error = error;
      lookup->endpoints = std::move(endpoints);
      // A registered waiter's coroutine is alive, so is its executor.
      for (auto& waiter : lookup->waiters) {
        net::post(waiter->executor, [waiter] {
          if (waiter->timer != nullptr) waiter->timer->cancel();
        });
      }
      lookup->waiters.clear();
    }
  }

  std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Lookup>> inflight_;
  std::deque<std::shared_ptr<Lookup>> queue_;
  int threads_ = 0;
  int idle_ = 0;
};

// Leaves a lookup when the waiting coroutine finishes or its frame is
// destroyed (also during io_context shutdown).
struct Leave {
  std::shared_ptr<Lookup> lookup;
  std::shared_ptr<Waiter> waiter;
  ~Leave() {
    waiter->timer = nullptr;
    std::lock_guard lock(lookup->mutex);
    std::erase(lookup->waiters, waiter);
  }
};

}  // namespace

net::awaitable<ResolveResult> ResolveWithDeadline(
    net::any_io_executor executor, std::string host, std::string port,
    std::chrono::steady_clock::time_point deadline) {
  ResolveResult result;
  boost::system::error_code ec;
  const net::ip::address address = net::ip::make_address(host, ec);
  if (!ec) {
    unsigned short number = 0;
    auto [end, pec] =
        std::from_chars(port.data(), port.data() + port.size(), number);
    if (pec != std::errc() || end != port.data() + port.size()) {
      result.error = net::error::service_not_found;
    } else {
      result.endpoints.emplace_back(address, number);
    }
    co_return result;
  }
  net::steady_timer timer(executor, deadline);
  auto waiter = std::make_shared<Waiter>();
  waiter->executor = executor;
  waiter->timer = &timer;
  Leave leave{Pool::Instance().Join(host, port, waiter), waiter};
  const auto finished = [&] {
    std::lock_guard lock(leave.lookup->mutex);
    return leave.lookup->done;
  };
  // The lookup cancels the timer when it is done; the deadline fires it.
  if (!finished()) co_await timer.async_wait(net::as_tuple(net::use_awaitable));
  {
    std::lock_guard lock(leave.lookup->mutex);
    if (leave.lookup->done) {
      result.error = leave.lookup->error;
      result.endpoints = leave.lookup->endpoints;
    } else {
      result.error = net::error::timed_out;
    }
  }
  co_return result;
}

std::size_t PendingLookups() { return Pool::Instance().Pending(); }

}  // namespace sse
