#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sse::test {

/// A request as the fake service saw it.
struct FakeRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
};

/// What the fake service answers. By default a normal HTTP/1.1 response;
/// `raw` bytes are written verbatim instead (then the connection closes),
/// `close` drops the connection without answering, `delay` waits first.
///
/// Misbehaviour, in this order after `raw` (any of them implies raw mode,
/// i.e. no normal response is written):
/// - `stream_bytes` filler bytes, written 64 KiB at a time (never held in
///   memory whole), optionally each piece framed as an HTTP chunk;
/// - a `stream_fill` byte every `drip`, until the peer goes away;
/// - `hang`: say nothing more and wait until the peer closes;
/// - `reset`: end with a TCP reset (SO_LINGER 0) instead of a FIN; with
///   `close` and no `raw`, reset without answering.
struct FakeResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds delay{0};
  std::string raw;
  bool close = false;
  bool keep_alive = true;
  /// Answer as if keeping the connection alive, then drop it at once
  /// (TCP close, no TLS close_notify): a server whose idle timeout fired.
  bool drop_after = false;
  std::uint64_t stream_bytes = 0;
  bool stream_chunked = false;
  char stream_fill = 'x';
  std::chrono::milliseconds drip{0};
  bool hang = false;
  bool reset = false;
};

/// Makes a FakeService speak HTTPS.
struct FakeTlsOptions {
  std::string cert_file;  ///< server certificate chain (PEM)
  std::string key_file;   ///< its private key (PEM)
  /// When set, a client certificate signed by this CA is required.
  std::string client_ca_file;
};

using FakeHandler = std::function<FakeResponse(const FakeRequest&)>;

/// An HTTP server on 127.0.0.1:<random port> with its own thread and
/// io_context, answering with a handler set by the test. The handler runs
/// on the server's thread. Stops (and joins) on destruction.
class FakeService {
 public:
  /// Starts listening at once. The default handler answers 200 with the
  /// body set by SetBody / SetState.
  FakeService();
  /// Like FakeService(), but serving HTTPS with `tls`. Throws if the
  /// certificate or key cannot be loaded.
  explicit FakeService(const FakeTlsOptions& tls);
  ~FakeService();
  FakeService(const FakeService&) = delete;
  FakeService& operator=(const FakeService&) = delete;

  std::uint16_t port() const { return port_; }
  /// "http://127.0.0.1:<port><path>" ("https://" when serving TLS).
  std::string Url(const std::string& path = "/") const;

  /// Replaces the handler. Thread-safe.
  void SetHandler(FakeHandler handler);
  /// Default handler: answer `status` with `body`. Thread-safe.
  void SetResponse(unsigned status, std::string body,
                   std::string content_type = "application/json");
  /// Default handler: answer 200 {"state": state}. Thread-safe.
  void SetState(const std::string& state);

  /// Requests and connections seen so far; filler bytes written so far.
  std::uint64_t requests() const { return requests_.load(); }
  std::uint64_t bytes_streamed() const { return bytes_streamed_.load(); }
  std::uint64_t connections() const { return connections_.load(); }
  /// TLS handshakes that completed / failed (HTTPS only).
  std::uint64_t handshakes() const { return handshakes_.load(); }
  std::uint64_t handshake_failures() const {
    return handshake_failures_.load();
  }
  /// The last request received. Thread-safe.
  FakeRequest last_request() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> handshakes_{0};
  std::atomic<std::uint64_t> handshake_failures_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> bytes_streamed_{0};
};

}  // namespace sse::test
