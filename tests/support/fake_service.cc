#include "support/fake_service.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

namespace sse::test {
namespace {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);
}  // namespace

struct FakeService::Impl {
  net::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  mutable std::mutex mutex;
  FakeHandler handler;
  FakeRequest last;
  std::set<std::shared_ptr<tcp::socket>> sockets;
  FakeService* owner = nullptr;

  std::unique_ptr<ssl::context> ssl_ctx;  // set when serving HTTPS

  // Writes `raw`, then streams, drips or hangs as the response says.
  template <class Stream>
  net::awaitable<void> Misbehave(Stream& stream, const FakeResponse& r) {
    if (!r.raw.empty()) {
      auto [ec, n] =
          co_await net::async_write(stream, net::buffer(r.raw), kUseTuple);
      if (ec) co_return;
    }
    const std::string piece(64 * 1024, r.stream_fill);
    char size_line[32];
    std::uint64_t left = r.stream_bytes;
    while (left > 0) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(left, piece.size()));
      if (r.stream_chunked) {
        int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
        std::array<net::const_buffer, 3> chunk{
            net::buffer(size_line, static_cast<std::size_t>(len)),
            net::buffer(piece.data(), n), net::buffer("\r\n", 2)};
        auto [ec, w] = co_await net::async_write(stream, chunk, kUseTuple);
        if (ec) co_return;
      } else {
        auto [ec, w] = co_await net::async_write(
            stream, net::buffer(piece.data(), n), kUseTuple);
        if (ec) co_return;
      }
      left -= n;
      owner->bytes_streamed_ += n;
    }
    if (r.drip.count() > 0) {
      net::steady_timer timer(io);
      for (;;) {
        timer.expires_after(r.drip);
        co_await timer.async_wait(kUseTuple);
        auto [ec, w] = co_await net::async_write(
            stream, net::buffer(&r.stream_fill, 1), kUseTuple);
        if (ec) co_return;
      }
    }
    if (r.hang) {
      char sink[4096];
      for (;;) {
        auto [ec, n] =
            co_await stream.async_read_some(net::buffer(sink), kUseTuple);
        if (ec) co_return;
      }
    }
  }

  // Serves requests on `stream`; sets `reset` when the connection is to end
  // with a TCP reset.
  template <class Stream>
  net::awaitable<void> ServeHttp(Stream& stream, bool& reset) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, kUseTuple);
      if (ec) break;
      owner->requests_++;
      FakeRequest fr;
      fr.method = std::string(req.method_string());
      fr.target = std::string(req.target());
      for (const auto& field : req) {
        std::string name(field.name_string());
        for (char& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        fr.headers[name] = std::string(field.value());
      }
      fr.body = req.body();
      FakeHandler h;
      {
        std::lock_guard lock(mutex);
        last = fr;
        h = handler;
      }
      FakeResponse response = h(fr);
      if (response.delay.count() > 0) {
        net::steady_timer timer(io, response.delay);
        co_await timer.async_wait(kUseTuple);
      }
      reset = response.reset;
      if (response.close) break;
      if (!response.raw.empty() || response.stream_bytes > 0 ||
          response.drip.count() > 0 || response.hang || response.reset) {
        co_await Misbehave(stream, response);
        break;
      }
      http::response<http::string_body> res{
          static_cast<http::status>(response.status), req.version()};
      res.set(http::field::content_type, response.content_type);
      for (const auto& [name, value] : response.headers) res.set(name, value);
      res.keep_alive(req.keep_alive() && response.keep_alive);
      res.body() = response.body;
      res.prepare_payload();
      auto [wec, w] = co_await http::async_write(stream, res, kUseTuple);
      if (wec || !res.keep_alive() || response.drop_after) break;
    }
  }

  net::awaitable<void> Serve(std::shared_ptr<tcp::socket> socket) {
    bool reset = false;
    if (ssl_ctx) {
      ssl::stream<tcp::socket&> stream(*socket, *ssl_ctx);
      auto [hec] =
          co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
      if (hec) {
        owner->handshake_failures_++;
      } else {
        owner->handshakes_++;
        co_await ServeHttp(stream, reset);
      }
    } else {
      co_await ServeHttp(*socket, reset);
    }
    boost::system::error_code ignored;
    if (reset) {
      socket->set_option(net::socket_base::linger(true, 0), ignored);
    } else {
      socket->shutdown(tcp::socket::shutdown_both, ignored);
    }
    socket->close(ignored);
    sockets.erase(socket);
  }

  net::awaitable<void> Accept() {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(io);
      auto [ec] = co_await acceptor.async_accept(*socket, kUseTuple);
      if (ec) break;
      owner->connections_++;
      sockets.insert(socket);
      net::co_spawn(io, Serve(socket), net::detached);
    }
  }
};

FakeService::FakeService(const FakeTlsOptions& tls) : FakeService() {
  // The accept loop runs already, but no client knows the port before this
  // constructor returns; the context is handed over on the server thread.
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3);
  ctx->use_certificate_chain_file(tls.cert_file);
  ctx->use_private_key_file(tls.key_file, ssl::context::pem);
  if (!tls.client_ca_file.empty()) {
    ctx->load_verify_file(tls.client_ca_file);
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    static const unsigned char kSessionContext[] = "fake_service";
    SSL_CTX_set_session_id_context(ctx->native_handle(), kSessionContext,
                                   sizeof kSessionContext - 1);
  }
  std::promise<void> done;
  net::post(impl_->io, [&] {
    impl_->ssl_ctx = std::move(ctx);
    done.set_value();
  });
  done.get_future().wait();
  tls_ = true;
}

FakeService::FakeService() : impl_(std::make_unique<Impl>()) {
  impl_->owner = this;
  SetState("running");
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  net::co_spawn(impl_->io, impl_->Accept(), net::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

FakeService::~FakeService() {
  net::post(impl_->io, [this] {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    for (const auto& s : impl_->sockets) s->close(ignored);
    impl_->io.stop();
  });
  impl_->thread.join();
}

std::string FakeService::Url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(port_) + path;
}

void FakeService::SetHandler(FakeHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->handler = std::move(handler);
}

void FakeService::SetResponse(unsigned status, std::string body,
                              std::string content_type) {
  SetHandler([status, body = std::move(body),
              content_type = std::move(content_type)](const FakeRequest&) {
    FakeResponse r;
    r.status = status;
    r.body = body;
    r.content_type = content_type;
    return r;
  });
}

void FakeService::SetState(const std::string& state) {
  SetResponse(200, nlohmann::json{{"state", state}}.dump());
}

FakeRequest FakeService::last_request() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->last;
}

}  // namespace sse::test
