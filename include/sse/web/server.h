#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sse/config/web_config.h"

namespace sse {

/// A parsed HTTP request, as handed to a WebHandler.
struct WebRequest {
  std::string method;  ///< "GET", "POST", ...
  std::string target;  ///< as sent: path and query
  std::string path;    ///< percent-decoded path
  std::string query;   ///< raw query string without '?'
  /// Header names lower-cased, in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string remote;  ///< peer address
  /// First value of a header (`name` lower-case), or empty.
  std::string_view Header(std::string_view name) const;
};

/// The producer's end of a streamed response (WebResponse::stream), e.g.
/// Server-Sent Events: what is sent goes to the client as it comes, until
/// the producer closes it, the client goes, or the server stops. At most
/// `max_buffered` bytes wait for a client that does not read. Not
/// thread-safe: use on the server's executor.
class WebStream {
 public:
  explicit WebStream(std::size_t max_buffered) : max_buffered_(max_buffered) {}
  WebStream(const WebStream&) = delete;
  WebStream& operator=(const WebStream&) = delete;

  /// Queues `data`. False if the stream is closed, or if `data` would put
  /// more than max_buffered bytes in waiting (then nothing is queued: the
  /// producer decides, e.g. to Close with a last word).
  bool Send(std::string data);
  /// Ends the response after what is queued (none of it if
  /// `drop_queued`) and `last` (which may exceed the buffer limit) have
  /// been sent, briefly (5 s): a client that does not read is cut off.
  void Close(std::string last = {}, bool drop_queued = false);
  /// Closed by the producer, or the client went, or the server stopped.
  bool closed() const { return closed_; }
  /// Bytes waiting to be sent.
  std::size_t buffered() const { return buffered_; }

  // For the server.
  /// Called when data or Close arrives (the writer wakes up).
  void SetWaker(std::function<void()> wake) { wake_ = std::move(wake); }
  /// Moves everything queued into `out`; false if nothing was queued.
  bool Take(std::string& out);
  /// The response is over (client gone, stopping): Send fails from now on,
  /// and the producer's OnFinish callback runs.
  void Finish() {
    closed_ = true;
    wake_ = nullptr;
    if (auto done = std::move(on_finish_)) {
      on_finish_ = nullptr;
      done();
    }
  }

  // For the producer.
  /// Called once when the server has ended the response.
  void OnFinish(std::function<void()> done) { on_finish_ = std::move(done); }

 private:
  std::size_t max_buffered_;
  std::size_t buffered_ = 0;
  std::vector<std::string> queue_;
  bool closed_ = false;
  std::function<void()> wake_;
  std::function<void()> on_finish_;
};

/// A response; Content-Length is set by the server.
struct WebResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Optional: makes the body on the I/O thread when the server has room
  /// for another heavy response (a few at a time; the others wait without a
  /// body), so a crowd of scrapers cannot make the server hold a body each.
  std::function<void(WebResponse&)> render;
  /// Optional last step (compression) that the server runs on a worker
  /// thread, not the I/O thread, after render and before it sends the
  /// response. It may only touch the response.
  /// An exception in either step becomes a 500 response.
  std::function<void(WebResponse&)> finish;
  /// Optional, with render or finish: requests whose responses have the
  /// same key are answered by one response, made once. A request joins a
  /// response with its key that waits for its turn (not one being made), so
  /// it never gets a body rendered before it arrived; one response per key
  /// is made at a time. The key must stand for everything the response
  /// holds (status, headers, body).
  std::string share_key;
  /// Optional: an answer that is not ready yet (e.g. a reload whose work
  /// runs elsewhere). The server calls `later` on its executor instead of
  /// sending this response, keeps the connection waiting (at most
  /// WebServerOptions::write_timeout; Stop() closes it), and sends the
  /// response passed to `done` (its render, finish and share_key apply; its
  /// own `later` is ignored). Call `done` exactly once, on the executor; if
  /// the connection is gone by then (client left, timeout, Stop) the
  /// response is dropped. An exception from `later` becomes a 500 response.
  std::function<void(std::function<void(WebResponse)> done)> later;
  /// Optional: a streamed body. The server sends the status and headers
  /// (no Content-Length; the connection closes when the stream ends), then
  /// what the producer sends to the stream, as it comes; `body` is
  /// ignored. A stream counts as a connection for
  /// WebServerOptions::max_connections and is never evicted; beyond
  /// WebServerOptions::max_streams the server answers 503 instead (and
  /// closes the stream). A HEAD request gets the headers only.
  std::shared_ptr<WebStream> stream;
};

/// A response without extra headers.
inline WebResponse MakeResponse(unsigned status, std::string content_type,
                                std::string body) {
  WebResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

/// Handles one request; runs on the server's executor. Exceptions become
/// 500 responses.
using WebHandler = std::function<WebResponse(const WebRequest&)>;

/// Limits of the server (defaults resist slow and oversized clients).
struct WebServerOptions {
  std::string listen_address = ":9810";
  /// Open connections at most. A new connection beyond it closes the one
  /// that has waited longest for a request (idle keep-alive or a client that
  /// never finished its request); if every connection is busy answering,
  /// the new one is closed at once.
  std::size_t max_connections = 512;
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 64 * 1024;
  /// A whole request (line, headers, body) must arrive within this; it is
  /// also how long an idle keep-alive connection stays open.
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{60000};
  /// A TLS handshake must complete within this.
  std::chrono::milliseconds handshake_timeout{10000};
  /// With basic auth: bcrypt checks waiting or running at most. A request
  /// whose credentials need another one is answered at once with 429 and
  /// `Retry-After` (the connection closes), so a crowd sending wrong
  /// passwords cannot queue up work; clients with cached credentials are
  /// not affected.
  std::size_t max_auth_checks = 8;
  /// Streamed responses (WebResponse::stream) open at once at most; 0:
  /// a quarter of max_connections, so that watchers cannot take every
  /// connection from scrapers.
  std::size_t max_streams = 0;
};

/// Splits "host:port", ":port" or "[v6]:port". Throws std::invalid_argument.
std::pair<std::string, std::uint16_t> SplitListenAddress(
    std::string_view address);

/// Checks that the files of a web config's TLS settings hold a usable
/// certificate, matching key and client CA, by building a server TLS
/// context. Throws std::runtime_error naming the file. Thread-safe.
void CheckWebTls(const WebTlsConfig& tls);

/// An HTTP/1.1 server (keep-alive, HEAD, limits) on one executor, plain or
/// HTTPS, with optional HTTP basic auth (Configure). Not thread-safe: call
/// from the executor's thread.
class WebServer {
 public:
  WebServer(boost::asio::any_io_executor executor, WebServerOptions options,
            WebHandler handler);
  ~WebServer();

  /// Applies a web config (--web.config.file): TLS for connections
  /// accepted from now on (open ones keep theirs), basic auth for requests
  /// read from now on, on every path. A request without valid credentials
  /// gets 401 with `WWW-Authenticate: Basic realm="service_state_exporter"`;
  /// bcrypt runs on a worker thread, so the executor never waits for it.
  /// Throws std::runtime_error naming the file if a certificate, key or CA
  /// cannot be loaded; then the previous settings stay.
  void Configure(const WebConfig& config);
  /// True if connections accepted now use TLS.
  bool tls() const;
  /// bcrypt runs of the current basic auth settings (0 without users).
  std::uint64_t bcrypt_runs() const;

  /// Binds and starts accepting. Throws std::runtime_error naming the
  /// address on failure.
  void Start();
  /// Stops accepting, closes idle connections; busy ones close after their
  /// response.
  void Stop();
  /// The bound port (useful with port 0).
  std::uint16_t port() const;
  /// Open connections right now.
  std::size_t connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sse
