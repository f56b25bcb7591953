#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sse/config/config.h"
#include "sse/http/result.h"

namespace sse {

/// Where a client's Authorization header comes from: a credential file,
/// checked before every request and read again whenever it changed (a
/// rotated Kubernetes ServiceAccount token needs no reload). While the file
/// is missing, empty or unreadable, requests fail without being sent.
struct AuthFile {
  enum class Scheme { kNone, kBearer, kBasic };
  Scheme scheme = Scheme::kNone;
  std::string file;      ///< absolute path
  std::string username;  ///< for kBasic
  std::string key;       ///< config key named in errors ("bearer_token_file")
};

/// How a client polls one URL.
struct HttpClientOptions {
  Duration timeout = std::chrono::seconds(5);  ///< connect+write+read
  std::uint64_t max_body_bytes = 1024 * 1024;  ///< the read stops there
  std::size_t max_header_bytes = 64 * 1024;
  bool follow_redirects = false;
  int max_redirects = 10;
  /// Extra request headers (never Authorization: see `auth`).
  std::vector<std::pair<std::string, std::string>> headers;
  AuthFile auth;
  bool has_tls = false;
  TlsConfig tls;
};

/// A request other than a plain GET (used by the MCP source).
struct HttpRequestSpec {
  std::string method = "GET";
  std::string body;
  std::string content_type;
  /// Extra headers for this request only (on top of the client's).
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The bytes of the GET a client sends to its own URL on every poll: the
/// request line, Host, User-Agent, Accept, then `headers` (one of the same
/// name replaces ours), as Beast's serializer writes them. Thread-safe.
std::string PlainGetRequest(
    const Url& url,
    const std::vector<std::pair<std::string, std::string>>& headers);

/// Builds client options from a service's config: limits, redirects, TLS,
/// custom headers, and where the Authorization header comes from.
HttpClientOptions ClientOptionsFor(const ServiceConfig& service);

/// Caps the TCP connections all clients of the process keep open together
/// (default: no cap). A client that needs a new connection when the cap is
/// reached closes the kept-alive connection that has waited longest since
/// its last request; if every connection is in a request, its request fails
/// with kConnectError. Set it below the open files limit. Thread-safe.
void SetPollConnectionLimit(std::size_t max);
/// The cap set by SetPollConnectionLimit. Thread-safe.
std::size_t PollConnectionLimit();

/// How the clients' connections stand against the cap.
struct PollConnectionCounts {
  std::size_t open = 0;     ///< connected or connecting
  std::size_t idle = 0;     ///< kept alive between requests
  std::size_t evicted = 0;  ///< idle ones closed for another, so far
};
/// Thread-safe.
PollConnectionCounts PollConnections();

/// An HTTP/1.1 GET client for one URL, keeping one connection alive across
/// requests. Runs on the executor given at construction; not thread-safe.
class HttpClient {
 public:
  /// No connection is made until the first Get(). A TLS setup problem (for
  /// example an unreadable CA file) makes every Get() fail with kTlsError.
  HttpClient(boost::asio::any_io_executor executor, Url url,
             HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// GETs the URL, following redirects if enabled. Completes within the
  /// timeout (name resolution excepted: it is bounded by the system
  /// resolver). Never throws: failures are results.
  boost::asio::awaitable<HttpResult> Get();

  /// Sends `spec` to the URL (redirects are followed only for GET). Same
  /// guarantees as Get().
  boost::asio::awaitable<HttpResult> Request(HttpRequestSpec spec);

  /// Closes the kept-alive connection; a pending Get() completes at once
  /// with an error.
  void Close();

  /// TCP connections opened so far (for tests of keep-alive).
  std::uint64_t connections_opened() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with its watchdog's handler
};

}  // namespace sse
