#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace sse {

/// What a name resolution brings back.
struct ResolveResult {
  /// Empty on success; boost::asio::error::timed_out when the deadline came
  /// first; otherwise the resolver's error (e.g. host_not_found).
  boost::system::error_code error;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;
};

/// Resolves `host` (a name or an IP literal) and `port` for a TCP
/// connection, completing by `deadline` at the latest.
///
/// getaddrinfo() blocks and cannot be cancelled, so names are looked up on a
/// small pool of threads shared by the process; a lookup still running at
/// the deadline is abandoned (this call completes with timed_out and the
/// late answer is dropped). Lookups of the same host and port that overlap
/// share one getaddrinfo() call, so a name whose resolver hangs occupies at
/// most one thread and never delays other names, other polls or the web
/// server. IP literals complete at once without a lookup. Never throws.
/// Thread-safe; completes on `executor`.
boost::asio::awaitable<ResolveResult> ResolveWithDeadline(
    boost::asio::any_io_executor executor, std::string host, std::string port,
    std::chrono::steady_clock::time_point deadline);

/// Lookups currently running or queued in the pool (for tests).
std::size_t PendingLookups();

}  // namespace sse
