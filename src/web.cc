#include "sse/web.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/pct_string_view.hpp>
#include <charconv>
#include <set>

#include "sse/log.h"

namespace sse {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

std::string DecodePath(std::string_view raw) {
  auto pct = boost::urls::make_pct_string_view(raw);
  if (!pct) return std::string(raw);
  return pct->decode();
}

}  // namespace

std::string_view WebRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

std::pair<std::string, std::uint16_t> SplitListenAddress(std::string_view address) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    throw std::invalid_argument("listen address must be host:port or :port");
  }
  std::string host(address.substr(0, colon));
  std::string_view port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(),
                                   port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() ||
      end != port_text.data() + port_text.size() || port > 65535) {
    throw std::invalid_argument("invalid port \"" + std::string(port_text) + "\"");
  }
  return {host, static_cast<std::uint16_t>(port)};
}

struct WebServer::Impl : std::enable_shared_from_this<Impl> {
  struct Session {
    beast::tcp_stream stream;
    bool busy = false;     // a request is being handled or answered
    bool evicted = false;  // closed to make room for a new connection
    // Since when the session has been waiting for (the rest of) a request.
    std::chrono::steady_clock::time_point waiting_since =
        std::chrono::steady_clock::now();
    explicit Session(tcp::socket socket) : stream(std::move(socket)) {}
  };

  net::any_io_executor executor;
  WebServerOptions options;
  WebHandler handler;
  tcp::acceptor acceptor;
  std::set<Session*> sessions;
  std::size_t evicted = 0;  // sessions closed by Evict() that have not ended yet
  bool stopping = false;

  Impl(net::any_io_executor ex, WebServerOptions o, WebHandler h)
      : executor(ex), options(std::move(o)), handler(std::move(h)), acceptor(ex) {}

  void Bind() {
    auto [host, port] = SplitListenAddress(options.listen_address);
    std::vector<tcp::endpoint> endpoints;
    if (host.empty()) {
      endpoints = {tcp::endpoint(tcp::v6(), port), tcp::endpoint(tcp::v4(), port)};
    } else {
      tcp::resolver resolver(executor);
      for (const auto& entry : resolver.resolve(host, std::to_string(port),
                                                tcp::resolver::passive)) {
        endpoints.push_back(entry.endpoint());
      }
    }
    boost::system::error_code ec;
    for (const auto& endpoint : endpoints) {
      acceptor.close(ec);
      acceptor.open(endpoint.protocol(), ec);
      if (ec) continue;
      acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
      if (endpoint.address().is_v6() && host.empty()) {
        acceptor.set_option(net::ip::v6_only(false), ec);
      }
      acceptor.bind(endpoint, ec);
      if (ec) continue;
      acceptor.listen(net::socket_base::max_listen_connections, ec);
      if (!ec) return;
    }
    throw std::runtime_error("cannot listen on " + options.listen_address +
                             ": " + ec.message());
  }

  WebRequest MakeRequest(const http::request<http::string_body>& req,
                         const Session& session) {
    WebRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    std::string_view target = req.target();
    std::size_t q = target.find('?');
    r.path = DecodePath(target.substr(0, q));
    if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    boost::system::error_code ec;
    auto ep = session.stream.socket().remote_endpoint(ec);
    if (!ec) r.remote = ep.address().to_string();
    return r;
  }

  net::awaitable<void> Serve(std::shared_ptr<Session> session) {
    beast::flat_buffer buffer(options.max_header_bytes + 4096);
    for (;;) {
      session->busy = false;
      session->waiting_since = std::chrono::steady_clock::now();
      http::request_parser<http::string_body> parser;
      parser.header_limit(options.max_header_bytes);
      parser.body_limit(options.max_body_bytes);
      session->stream.expires_after(options.read_timeout);
      auto [rec, n] = co_await http::async_read(session->stream, buffer, parser, kUseTuple);
      if (rec) {
        // Answer a malformed or oversized request; just close on timeouts,
        // resets and clients that went away.
        const bool http_error =
            rec.category() == http::make_error_code(http::error::bad_target).category() &&
            rec != http::error::end_of_stream && rec != http::error::partial_message;
        if (http_error) {
          http::status status = rec == http::error::header_limit
                                    ? http::status::request_header_fields_too_large
                                : rec == http::error::body_limit
                                    ? http::status::payload_too_large
                                    : http::status::bad_request;
          http::response<http::string_body> res{status, 11};
          res.set(http::field::content_type, "text/plain; charset=utf-8");
          res.keep_alive(false);
          res.body() = std::string(res.reason()) + "\n";
          res.prepare_payload();
          session->stream.expires_after(std::chrono::seconds(5));
          co_await http::async_write(session->stream, res, kUseTuple);
        }
        break;
      }
      session->busy = true;
      auto& req = parser.get();
      WebResponse response;
      try {
        response = handler(MakeRequest(req, *session));
      } catch (const std::exception& e) {
        Log(LogLevel::kError, "handler failed", {{"path", std::string(req.target())}, {"err", e.what()}});
        response = WebResponse{500, "text/plain; charset=utf-8", "internal error\n", {}};
      }
      http::response<http::string_body> res{static_cast<http::status>(response.status),
                                            req.version()};
      res.set(http::field::content_type, response.content_type);
      for (const auto& [name, value] : response.headers) res.set(name, value);
      const bool keep_alive = req.keep_alive() && !stopping;
      res.keep_alive(keep_alive);
      res.body() = std::move(response.body);
      res.prepare_payload();
      if (req.method() == http::verb::head) {
        // Content-Length stays that of the GET body; no body is sent.
        http::response<http::empty_body> head{res.base()};
        session->stream.expires_after(options.write_timeout);
        auto [wec, w] = co_await http::async_write(session->stream, head, kUseTuple);
        if (wec) break;
      } else {
        session->stream.expires_after(options.write_timeout);
        auto [wec, w] = co_await http::async_write(session->stream, res, kUseTuple);
        if (wec) break;
      }
      session->busy = false;
      if (!keep_alive || stopping) break;
    }
    boost::system::error_code ignored;
    session->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    session->stream.socket().close(ignored);
  }

  net::awaitable<void> Accept() {
    auto self = shared_from_this();
    while (!stopping) {
      auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
      if (ec) {
        if (ec == net::error::operation_aborted || stopping) break;
        Log(LogLevel::kWarn, "accept failed", {{"err", ec.message()}});
        if (ec == net::error::no_descriptors) {
          // Out of fds: back off briefly instead of spinning.
          net::steady_timer pause(executor, std::chrono::milliseconds(100));
          co_await pause.async_wait(kUseTuple);
        }
        continue;
      }
      if (sessions.size() - evicted >= options.max_connections && !Evict()) {
        // Every connection is busy answering a request: refuse this one.
        Log(LogLevel::kDebug, "connection refused: too many busy connections",
            {{"max_connections", std::to_string(options.max_connections)}});
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto session = std::make_shared<Session>(std::move(socket));
      sessions.insert(session.get());
      net::co_spawn(executor, Serve(session),
                    [self, session](std::exception_ptr e) {
                      if (session->evicted) --self->evicted;
                      self->sessions.erase(session.get());
                      if (!e) return;
                      try {
                        std::rethrow_exception(e);
                      } catch (const std::exception& ex) {
                        Log(LogLevel::kError, "session failed", {{"err", ex.what()}});
                      }
                    });
    }
  }

  // At the connection limit: closes the connection that has waited longest
  // for a request (an idle keep-alive connection, or a client that never
  // finished its request), so that idle or slow clients cannot lock out a
  // new scraper. Connections busy answering a request are never closed.
  // Returns false if there is none.
  bool Evict() {
    Session* oldest = nullptr;
    for (Session* s : sessions) {
      if (s->busy || s->evicted) continue;
      if (oldest == nullptr || s->waiting_since < oldest->waiting_since) oldest = s;
    }
    if (oldest == nullptr) return false;
    oldest->evicted = true;
    ++evicted;
    boost::system::error_code ignored;
    oldest->stream.socket().close(ignored);
    Log(LogLevel::kDebug, "closed the longest idle connection to make room",
        {{"max_connections", std::to_string(options.max_connections)}});
    return true;
  }

  void Stop() {
    stopping = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    for (Session* s : sessions) {
      if (!s->busy) s->stream.socket().close(ignored);
    }
  }
};

WebServer::WebServer(net::any_io_executor executor, WebServerOptions options,
                     WebHandler handler)
    : impl_(std::make_shared<Impl>(executor, std::move(options), std::move(handler))) {}

WebServer::~WebServer() {
  if (impl_ && !impl_->stopping) impl_->Stop();
}

void WebServer::Start() {
  impl_->Bind();
  net::co_spawn(impl_->executor, impl_->Accept(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      Log(LogLevel::kError, "accept loop failed", {{"err", ex.what()}});
    }
  });
}

void WebServer::Stop() { impl_->Stop(); }

std::uint16_t WebServer::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::size_t WebServer::connections() const { return impl_->sessions.size(); }

}  // namespace sse
