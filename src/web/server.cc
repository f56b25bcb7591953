#include "sse/web/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/pct_string_view.hpp>
#include <charconv>
#include <deque>
#include <optional>
#include <set>

#include "sse/util/log.h"
#include "sse/util/process_metrics.h"
#include "sse/web/basic_auth.h"

namespace sse {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

std::string DecodePath(std::string_view raw) {
  auto pct = boost::urls::make_pct_string_view(raw);
  if (!pct) return std::string(raw);
  return pct->decode();
}

// RFC 9112 §6: a request's body is framed by Content-Length or by the
// chunked coding alone. Anything else (another coding, a list, chunked not
// last, two fields, Transfer-Encoding in HTTP/1.0, both headers) cannot be
// framed safely: a server that guesses lets requests be smuggled.
bool FramingOk(const http::request<http::string_body>& req) {
  const auto codings = req.count(http::field::transfer_encoding);
  if (codings == 0) return true;
  if (codings > 1 || req.version() < 11 ||
      req.count(http::field::content_length) != 0) {
    return false;
  }
  std::string_view value = req[http::field::transfer_encoding];
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  return beast::iequals(value, "chunked");
}

WebResponse InternalError() {
  return MakeResponse(500, "text/plain; charset=utf-8", "internal error\n");
}

// The answer to a request whose handler threw: logged, then a 500.
WebResponse HandlerFailed(std::string_view target, const std::exception& e) {
  Log(LogLevel::kError, "handler failed",
      {{"path", std::string(target)}, {"err", e.what()}});
  return InternalError();
}

std::string RemoteAddress(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  return ec ? std::string() : ep.address().to_string();
}

// A server TLS context for a web config's tls_server_config, with Go's
// client auth types mapped onto OpenSSL's verify modes.
std::shared_ptr<ssl::context> MakeServerContext(const WebTlsConfig& config) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1);
  SSL_CTX_set_min_proto_version(native, config.min_version);
  // Idle and half-done connections do not keep their 34 KB record buffers.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  auto load = [](const std::string& file, const char* what, auto&& step) {
    try {
      step();
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(file + ": cannot load " + what + ": " +
                               e.code().message());
    }
  };
  load(config.cert_file, "certificate",
       [&] { ctx->use_certificate_chain_file(config.cert_file); });
  load(config.key_file, "private key",
       [&] { ctx->use_private_key_file(config.key_file, ssl::context::pem); });
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error(config.key_file + ": private key does not match " +
                             config.cert_file);
  }
  if (!config.client_ca_file.empty()) {
    load(config.client_ca_file, "client CA",
         [&] { ctx->load_verify_file(config.client_ca_file); });
    // Tell clients which CAs are accepted.
    if (STACK_OF(X509_NAME)* names =
            SSL_load_client_CA_file(config.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
  }
  auto accept_any = [](bool, ssl::verify_context&) { return true; };
  switch (config.client_auth) {
    case ClientAuthType::kNoClientCert:
      ctx->set_verify_mode(ssl::verify_none);
      break;
    case ClientAuthType::kRequestClientCert:
      ctx->set_verify_mode(ssl::verify_peer);
      ctx->set_verify_callback(accept_any);
      break;
    case ClientAuthType::kRequireAnyClientCert:
      ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      ctx->set_verify_callback(accept_any);
      break;
    case ClientAuthType::kVerifyClientCertIfGiven:
      ctx->set_verify_mode(ssl::verify_peer);
      break;
    case ClientAuthType::kRequireAndVerifyClientCert:
      ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      break;
  }
  // Session resumption with client certificates needs a context id.
  static const unsigned char kSessionContext[] = "service_state_exporter";
  SSL_CTX_set_session_id_context(native, kSessionContext,
                                 sizeof kSessionContext - 1);
  return ctx;
}

}  // namespace

bool WebStream::Send(std::string data) {
  if (closed_) return false;
  if (buffered_ + data.size() > max_buffered_) return false;
  buffered_ += data.size();
  queue_.push_back(std::move(data));
  if (wake_) wake_();
  return true;
}

void WebStream::Close(std::string last, bool drop_queued) {
  if (closed_) return;
  if (drop_queued) {
    queue_.clear();
    buffered_ = 0;
  }
  if (!last.empty()) {
    buffered_ += last.size();
    queue_.push_back(std::move(last));
  }
  closed_ = true;
  if (wake_) wake_();
}

bool WebStream::Take(std::string& out) {
  out.clear();
  if (queue_.empty()) return false;
  for (auto& part : queue_) out += part;
  queue_.clear();
  buffered_ = 0;
  return true;
}

std::string_view WebRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

std::pair<std::string, std::uint16_t> SplitListenAddress(
    std::string_view address) {
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
    throw std::invalid_argument("invalid port \"" + std::string(port_text) +
                                "\"");
  }
  return {host, static_cast<std::uint16_t>(port)};
}

struct WebServer::Impl : std::enable_shared_from_this<Impl> {
  // What Stop() needs of a connection, whatever its stream type.
  struct SessionState {
    tcp::socket* socket = nullptr;  // lowest layer, owned by the coroutine
    bool busy = false;              // a request is being handled or answered
    bool evicted = false;           // closed to make room for a new connection
    // Since when the session has been waiting for (the rest of) a request.
    std::chrono::steady_clock::time_point waiting_since =
        std::chrono::steady_clock::now();
    // Set while the session waits for a WebResponse::later answer; Stop()
    // cancels its timer.
    net::steady_timer* later = nullptr;
  };
  // TLS and auth settings; a connection keeps the ones it was accepted with.
  struct Security {
    std::shared_ptr<ssl::context> tls;         // null: plain HTTP
    std::shared_ptr<BasicAuthenticator> auth;  // null: no auth
  };

  net::any_io_executor executor;
  WebServerOptions options;
  WebHandler handler;
  tcp::acceptor acceptor;
  std::set<SessionState*> sessions;
  // Sessions closed by Evict() that have not ended yet.
  std::size_t evicted = 0;
  std::shared_ptr<const Security> security = std::make_shared<Security>();
  // bcrypt runs here, one at a time, never on the I/O thread.
  net::thread_pool auth_pool{1};
  // bcrypt checks waiting or running (WebServerOptions::max_auth_checks).
  std::size_t auth_checks = 0;
  // accept() failures: the time of the last one logged, and those since.
  std::chrono::steady_clock::time_point accept_logged{};
  std::uint64_t accept_unlogged = 0;
  // A descriptor kept for answering a client when the others are all used
  // (/dev/null; -1 while it is lent out).
  int spare_fd = -1;
  // Most connections open at once since memory was last given back, and
  // the timer of a release to come.
  std::size_t peak_sessions = 0;
  bool trim_pending = false;
  net::steady_timer trim_timer{executor};
  // Heavy responses (WebResponse::render, ::finish: the exposition and its
  // gzip) are made for at most kMaxHeavy jobs at a time, and one job per
  // share key; the other jobs wait in order, without a body. So the bodies
  // in memory stay bounded however many scrapers come at once (each is the
  // whole exposition: ~6 MB at 10k services), and the I/O thread only
  // renders. Requests with the share key of a waiting job join it.
  struct HeavyJob {
    HeavyJob(const net::any_io_executor& ex, WebResponse r)
        : key(r.share_key),
          response(std::move(r)),
          start(ex, std::chrono::steady_clock::time_point::max()),
          finished(ex, std::chrono::steady_clock::time_point::max()) {}
    const std::string key;       // WebResponse::share_key
    WebResponse response;        // its steps run on it; then it is the answer
    bool started = false;        // left the queue: made from now on
    bool done = false;           // response made
    net::steady_timer start;     // cancelled when started
    net::steady_timer finished;  // cancelled when done (wakes the joiners)
  };
  // A WebResponse::later answer being waited for; `done` may outlive the
  // wait, so it holds this, not the session.
  struct Later {
    Later(const net::any_io_executor& ex, std::chrono::milliseconds timeout)
        : timer(ex, timeout) {}
    net::steady_timer timer;            // cancelled by done or Stop()
    std::optional<WebResponse> answer;  // what done passed
    bool gone = false;                  // the session stopped waiting
  };
  // Streamed responses being sent (WebResponse::stream).
  std::size_t streams = 0;
  static constexpr int kMaxHeavy = 2;
  int heavy = 0;                                      // on the I/O thread only
  std::deque<std::shared_ptr<HeavyJob>> heavy_queue;  // waiting, in order
  std::vector<std::string> heavy_keys;                // of the jobs being made
  // WebResponse::finish runs here.
  net::thread_pool finish_pool{1};
  bool stopping = false;

  Impl(net::any_io_executor ex, WebServerOptions o, WebHandler h)
      : executor(ex),
        options(std::move(o)),
        handler(std::move(h)),
        acceptor(ex) {}

  ~Impl() {
    auth_pool.join();
    finish_pool.join();
    if (spare_fd >= 0) ::close(spare_fd);
  }

  void Bind() {
    auto [host, port] = SplitListenAddress(options.listen_address);
    std::vector<tcp::endpoint> endpoints;
    if (host.empty()) {
      endpoints = {tcp::endpoint(tcp::v6(), port),
                   tcp::endpoint(tcp::v4(), port)};
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
                         const tcp::socket& socket) {
    WebRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    std::string_view target = req.target();
    std::size_t q = target.find('?');
    r.path = DecodePath(target.substr(0, q));
    if (q != std::string_view::npos)
      r.query = std::string(target.substr(q + 1));
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) r.remote = ep.address().to_string();
    return r;
  }

  // Runs `work` on `pool` and completes with its result on the handler's
  // own executor (the I/O thread), the way any asio operation does: bcrypt
  // and compression never run on the I/O thread.
  template <class Result, class Work, class Token>
  auto AsyncOnPool(net::thread_pool& pool, Work work, Token&& token) {
    return net::async_initiate<Token, void(Result)>(
        [this, &pool](auto handler, Work work) {
          auto guard = net::make_work_guard(
              net::get_associated_executor(handler, executor));
          net::post(pool,
                    [handler = std::move(handler), guard = std::move(guard),
                     work = std::move(work)]() mutable {
                      Result result = work();
                      auto io = guard.get_executor();
                      net::post(io, [handler = std::move(handler),
                                     result = std::move(result)]() mutable {
                        std::move(handler)(std::move(result));
                      });
                    });
        },
        token, std::move(work));
  }

  // Runs and clears one step (render or finish) of `response`, if set; a
  // 500 response if it threw.
  static void RunStep(WebResponse& response,
                      std::function<void(WebResponse&)>& step,
                      const char* failure) {
    if (!step) return;
    auto run = std::move(step);
    step = nullptr;
    try {
      run(response);
    } catch (const std::exception& e) {
      Log(LogLevel::kError, failure, {{"err", e.what()}});
      response = InternalError();
    }
  }

  // The waiting heavy job that a response with `key` can join, or null.
  std::shared_ptr<HeavyJob> WaitingJob(const std::string& key) const {
    if (key.empty()) return nullptr;
    for (const auto& job : heavy_queue) {
      if (job->key == key) return job;
    }
    return nullptr;
  }

  // Starts waiting jobs in order while there is room, skipping those whose
  // key is being made (they start when it is done).
  void StartHeavy() {
    for (auto it = heavy_queue.begin();
         heavy < kMaxHeavy && it != heavy_queue.end();) {
      HeavyJob& job = **it;
      if (!job.key.empty() && std::find(heavy_keys.begin(), heavy_keys.end(),
                                        job.key) != heavy_keys.end()) {
        ++it;
        continue;
      }
      if (!job.key.empty()) heavy_keys.push_back(job.key);
      ++heavy;
      job.started = true;
      job.start.cancel();
      it = heavy_queue.erase(it);
    }
  }

  // Serves requests until the peer goes, an error, or a response that ends
  // the connection. Returns true if this side decided to close.
  template <class Stream>
  net::awaitable<bool> Serve(Stream& stream, SessionState& state,
                             const Security& sec) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer(options.max_header_bytes + 4096);
    for (;;) {
      state.busy = false;
      state.waiting_since = std::chrono::steady_clock::now();
      http::request_parser<http::string_body> parser;
      parser.header_limit(options.max_header_bytes);
      parser.body_limit(options.max_body_bytes);
      lowest.expires_after(options.read_timeout);
      auto [rec, n] =
          co_await http::async_read_header(stream, buffer, parser, kUseTuple);
      if (!rec && !FramingOk(parser.get())) {
        rec = http::error::bad_transfer_encoding;
      }
      if (!rec && !parser.is_done()) {
        auto [bec, m] =
            co_await http::async_read(stream, buffer, parser, kUseTuple);
        rec = bec;
      }
      if (rec) {
        // Answer a malformed or oversized request; just close on timeouts,
        // resets and clients that went away.
        const bool http_error =
            rec.category() ==
                http::make_error_code(http::error::bad_target).category() &&
            rec != http::error::end_of_stream &&
            rec != http::error::partial_message;
        if (http_error) {
          http::status status =
              rec == http::error::header_limit
                  ? http::status::request_header_fields_too_large
              : rec == http::error::body_limit ? http::status::payload_too_large
                                               : http::status::bad_request;
          http::response<http::string_body> res{status, 11};
          res.set(http::field::content_type, "text/plain; charset=utf-8");
          res.keep_alive(false);
          res.body() = std::string(res.reason()) + "\n";
          res.prepare_payload();
          lowest.expires_after(std::chrono::seconds(5));
          co_await http::async_write(stream, res, kUseTuple);
          co_return true;
        }
        co_return false;
      }
      auto& req = parser.get();
      WebResponse response;
      bool authorized = true;
      bool refused = false;  // no room for another bcrypt check: 429, close
      if (sec.auth) {
        // No temporaries in the co_await expression: GCC 12 destroys such
        // temporaries twice (a double free).
        std::string header(req[http::field::authorization]);
        const std::optional<bool> cached = sec.auth->CheckCached(header);
        if (cached.has_value()) {
          authorized = *cached;
        } else if (auth_checks >= options.max_auth_checks) {
          refused = true;
        } else {
          // Still not busy: waiting on a check, the connection may be
          // evicted like one waiting for its request.
          ++auth_checks;
          auto check = AsyncOnPool<bool>(
              auth_pool,
              [auth = sec.auth, header = std::move(header)] {
                return auth->Verify(header);
              },
              net::use_awaitable);
          authorized = co_await std::move(check);
          --auth_checks;
          if (state.evicted || stopping) co_return false;
        }
      }
      state.busy = true;
      if (refused) {
        Log(LogLevel::kDebug, "too many credential checks at once; refused",
            {{"path", std::string(req.target())},
             {"remote", RemoteAddress(lowest.socket())},
             {"max_auth_checks", std::to_string(options.max_auth_checks)}});
        response = MakeResponse(429, "text/plain; charset=utf-8",
                                "Too Many Requests\n");
        response.headers.emplace_back("Retry-After", "1");
      } else if (!authorized) {
        Log(LogLevel::kDebug, "unauthorized request",
            {{"path", std::string(req.target())},
             {"remote", RemoteAddress(lowest.socket())}});
        response =
            MakeResponse(401, "text/plain; charset=utf-8", "Unauthorized\n");
        response.headers.emplace_back("WWW-Authenticate",
                                      "Basic realm=\"service_state_exporter\"");
      } else {
        try {
          response = handler(MakeRequest(req, lowest.socket()));
        } catch (const std::exception& e) {
          response = HandlerFailed(req.target(), e);
        }
      }
      if (response.later) {
        // The handler answers later: wait for it (or the write timeout,
        // or Stop()), then go on with its answer.
        auto later = std::move(response.later);
        auto pending = std::make_shared<Later>(executor, options.write_timeout);
        try {
          later([pending](WebResponse r) {
            if (pending->gone || pending->answer) return;
            r.later = nullptr;
            pending->answer.emplace(std::move(r));
            pending->timer.cancel();
          });
        } catch (const std::exception& e) {
          pending->answer = HandlerFailed(req.target(), e);
        }
        if (!pending->answer) {
          state.later = &pending->timer;
          auto waited = co_await pending->timer.async_wait(kUseTuple);
          (void)waited;
          state.later = nullptr;
        }
        pending->gone = true;
        // Timed out or stopping: nothing to say.
        if (!pending->answer) co_return true;
        response = std::move(*pending->answer);
      }
      // The answer: `response`, or a heavy job's response shared with
      // other requests (kept alive here until it is written).
      std::shared_ptr<HeavyJob> job;
      if (response.render || response.finish) {
        job = WaitingJob(response.share_key);
        if (job) {
          // Joined a job that has not started: it renders after this
          // request arrived.
          if (!job->done) {
            auto woken = co_await job->finished.async_wait(kUseTuple);
            (void)woken;
          }
        } else {
          job = std::make_shared<HeavyJob>(executor, std::move(response));
          heavy_queue.push_back(job);
          StartHeavy();
          if (!job->started) {
            auto woken = co_await job->start.async_wait(kUseTuple);
            (void)woken;
          }
          RunStep(job->response, job->response.render,
                  "response could not be rendered");
          if (job->response.finish) {
            auto finished = AsyncOnPool<WebResponse>(
                finish_pool,
                [made = std::move(job->response)]() mutable {
                  RunStep(made, made.finish, "response could not be finished");
                  return std::move(made);
                },
                net::use_awaitable);
            job->response = co_await std::move(finished);
          }
          job->done = true;
          job->finished.cancel();
          --heavy;
          if (!job->key.empty()) {
            heavy_keys.erase(
                std::find(heavy_keys.begin(), heavy_keys.end(), job->key));
          }
          StartHeavy();
        }
      }
      if (response.stream) {
        const std::size_t max_streams =
            options.max_streams != 0
                ? options.max_streams
                : std::max<std::size_t>(1, options.max_connections / 4);
        if (streams < max_streams) {
          co_await SendStream(stream, state, req, response);
          co_return true;
        }
        Log(LogLevel::kDebug, "stream refused: too many streams",
            {{"path", std::string(req.target())},
             {"max_streams", std::to_string(max_streams)}});
        response.stream->Finish();
        response = MakeResponse(503, "text/plain; charset=utf-8",
                                "Too many streams open; retry later.\n");
        response.headers.emplace_back("Retry-After", "5");
      }
      const WebResponse& answer = job ? job->response : response;
      http::response<http::span_body<const char>> res{
          static_cast<http::status>(answer.status), req.version()};
      res.set(http::field::content_type, answer.content_type);
      for (const auto& [name, value] : answer.headers) res.set(name, value);
      const bool keep_alive = req.keep_alive() && !stopping && !refused;
      res.keep_alive(keep_alive);
      res.body() = {answer.body.data(), answer.body.size()};
      res.prepare_payload();
      if (req.method() == http::verb::head) {
        // Content-Length stays that of the GET body; no body is sent.
        http::response<http::empty_body> head{res.base()};
        lowest.expires_after(options.write_timeout);
        auto [wec, w] = co_await http::async_write(stream, head, kUseTuple);
        if (wec) co_return false;
      } else {
        lowest.expires_after(options.write_timeout);
        auto [wec, w] = co_await http::async_write(stream, res, kUseTuple);
        if (wec) co_return false;
      }
      state.busy = false;
      if (!keep_alive || stopping) co_return true;
    }
  }

  // Sends a streamed response: the header, then what its producer sends,
  // until it closes, the client goes (a write fails or times out) or the
  // server stops. The connection closes after it.
  template <class Stream>
  net::awaitable<void> SendStream(Stream& stream, SessionState& state,
                                  const http::request<http::string_body>& req,
                                  const WebResponse& response) {
    auto& lowest = beast::get_lowest_layer(stream);
    std::shared_ptr<WebStream> source = response.stream;
    ++streams;
    struct Done {
      Impl& impl;
      SessionState& state;
      std::shared_ptr<WebStream> source;
      ~Done() {
        --impl.streams;
        state.later = nullptr;
        source->Finish();
      }
    } done{*this, state, source};
    http::response<http::empty_body> res{
        static_cast<http::status>(response.status), req.version()};
    res.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res.set(name, value);
    res.keep_alive(false);
    http::response_serializer<http::empty_body> header{res};
    lowest.expires_after(options.write_timeout);
    auto [hec, h] =
        co_await http::async_write_header(stream, header, kUseTuple);
    if (hec || req.method() == http::verb::head) co_return;
    net::steady_timer wake(executor,
                           std::chrono::steady_clock::time_point::max());
    state.later = &wake;  // Stop() cancels it
    source->SetWaker([&wake] { wake.cancel(); });
    // A watcher only listens: anything it sends, or its going away, ends
    // the stream at once (not at the next keep-alive write).
    struct Listen {
      net::steady_timer* wake = nullptr;  // null once the stream ended
      bool client_left = false;
    };
    auto listen = std::make_shared<Listen>();
    listen->wake = &wake;
    lowest.socket().async_wait(tcp::socket::wait_read,
                               [listen](const boost::system::error_code& ec) {
                                 if (ec || listen->wake == nullptr) return;
                                 listen->client_left = true;
                                 listen->wake->cancel();
                               });
    struct Unlisten {
      Listen& listen;
      ~Unlisten() { listen.wake = nullptr; }
    } unlisten{*listen};
    std::string chunk;
    while (!stopping && !listen->client_left) {
      if (source->Take(chunk)) {
        // A closed stream's last words get a short time: a client that
        // does not read is not waited for.
        lowest.expires_after(source->closed() ? std::chrono::seconds(5)
                                              : options.write_timeout);
        auto [wec, w] =
            co_await net::async_write(stream, net::buffer(chunk), kUseTuple);
        if (wec) co_return;
        continue;
      }
      if (source->closed()) co_return;
      wake.expires_at(std::chrono::steady_clock::time_point::max());
      auto [ec] = co_await wake.async_wait(kUseTuple);
      (void)ec;
    }
  }

  net::awaitable<void> Run(tcp::socket socket,
                           std::shared_ptr<SessionState> state,
                           std::shared_ptr<const Security> sec) {
    boost::system::error_code ignored;
    if (stopping) {
      socket.close(ignored);
      co_return;
    }
    if (sec->tls) {
      beast::ssl_stream<beast::tcp_stream> stream(
          beast::tcp_stream(std::move(socket)), *sec->tls);
      auto& lowest = beast::get_lowest_layer(stream);
      state->socket = &lowest.socket();
      lowest.expires_after(options.handshake_timeout);
      auto [hec] =
          co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
      if (hec) {
        Log(LogLevel::kDebug, "TLS handshake failed",
            {{"remote", RemoteAddress(lowest.socket())},
             {"err", hec.message()}});
      } else if (co_await Serve(stream, *state, *sec)) {
        // Say goodbye with close_notify, briefly: many clients just close.
        lowest.expires_after(std::chrono::seconds(1));
        co_await stream.async_shutdown(kUseTuple);
      }
      lowest.socket().close(ignored);
    } else {
      beast::tcp_stream stream(std::move(socket));
      state->socket = &stream.socket();
      co_await Serve(stream, *state, *sec);
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream.socket().close(ignored);
    }
  }

  net::awaitable<void> Accept() {
    auto self = shared_from_this();
    while (!stopping) {
      auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
      if (ec) {
        if (ec == net::error::operation_aborted || stopping) break;
        LogAcceptFailure(ec);
        const bool out_of_descriptors =
            ec == net::error::no_descriptors ||
            ec == boost::system::errc::too_many_files_open_in_system ||
            ec == net::error::no_buffer_space || ec == net::error::no_memory;
        // Out of descriptors: closing the longest idle connection makes room
        // for the new client; with none idle, it gets a 503 through the
        // spare descriptor. Then a pause, not a spin.
        if (out_of_descriptors && Evict()) continue;
        if (out_of_descriptors) RefuseOne();
        net::steady_timer pause(executor, std::chrono::milliseconds(100));
        co_await pause.async_wait(kUseTuple);
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
      // Run() sets state->socket when it starts; until then Stop() skips
      // the session and Run() sees `stopping`.
      auto state = std::make_shared<SessionState>();
      sessions.insert(state.get());
      peak_sessions = std::max(peak_sessions, sessions.size());
      net::co_spawn(executor, Run(std::move(socket), state, security),
                    [self, state](std::exception_ptr e) {
                      if (state->evicted) --self->evicted;
                      self->sessions.erase(state.get());
                      self->AfterSession();
                      LogEscaped(e, "session failed");
                    });
    }
  }

  // Logs an accept() failure: the first, then at most one a minute with the
  // number left unlogged (a flood of them is one condition, not news).
  void LogAcceptFailure(const boost::system::error_code& ec) {
    const auto now = std::chrono::steady_clock::now();
    if (accept_logged != std::chrono::steady_clock::time_point{} &&
        now - accept_logged < std::chrono::minutes(1)) {
      ++accept_unlogged;
      return;
    }
    Log(LogLevel::kWarn, "accept failed",
        {{"err", ec.message()},
         {"unlogged_since_last", std::to_string(accept_unlogged)},
         {"connections", std::to_string(sessions.size())}});
    accept_logged = now;
    accept_unlogged = 0;
  }

  // Out of descriptors with no connection to close: lends the spare
  // descriptor to the first waiting client, answers it 503 (plain HTTP; a
  // TLS client is just closed) and closes it, so that clients do not hang
  // in the listen backlog.
  void RefuseOne() {
    if (spare_fd < 0) return;
    const int listener = acceptor.native_handle();
    pollfd ready{listener, POLLIN, 0};
    if (::poll(&ready, 1, 0) != 1) return;
    ::close(spare_fd);
    const int fd =
        ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      if (!security->tls) {
        // Read what already came, so that closing does not reset the
        // connection before the client reads the answer.
        char sink[4096];
        for (int i = 0; i < 16 && ::recv(fd, sink, sizeof sink, 0) > 0; ++i) {
        }
        static constexpr char kBusy[] =
            "HTTP/1.1 503 Service Unavailable\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Retry-After: 1\r\nConnection: close\r\n"
            "Content-Length: 37\r\n\r\n"
            "out of file descriptors, retry later\n";
        (void)!::send(fd, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL);
        ::shutdown(fd, SHUT_WR);
      }
      ::close(fd);
    }
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  // After a connection ended: once a crowd of them has gone (to a quarter
  // of the most open at once, at least 64), gives the memory they used
  // back to the system, off the I/O thread, half a second later so that the
  // rest of the crowd has gone too. malloc keeps it otherwise: 600
  // abandoned TLS handshakes left 70 MB resident for good.
  void AfterSession() {
    if (trim_pending || peak_sessions < 64 ||
        sessions.size() > peak_sessions / 4) {
      return;
    }
    trim_pending = true;
    trim_timer.expires_after(std::chrono::milliseconds(500));
    trim_timer.async_wait(
        [self = shared_from_this()](const boost::system::error_code& ec) {
          self->trim_pending = false;
          if (ec) return;  // Stop()
          self->peak_sessions = self->sessions.size();
          net::post(self->finish_pool, [] { ReleaseFreeMemory(); });
        });
  }

  // At the connection limit: closes the connection that has waited longest
  // for a request (an idle keep-alive connection, or a client that never
  // finished its request or TLS handshake), so that idle or slow clients
  // cannot lock out a new scraper. Connections busy answering a request are
  // never closed. Returns false if there is none.
  bool Evict() {
    SessionState* oldest = nullptr;
    for (SessionState* s : sessions) {
      if (s->busy || s->evicted || s->socket == nullptr) continue;
      if (oldest == nullptr || s->waiting_since < oldest->waiting_since)
        oldest = s;
    }
    if (oldest == nullptr) return false;
    oldest->evicted = true;
    ++evicted;
    boost::system::error_code ignored;
    oldest->socket->close(ignored);
    Log(LogLevel::kDebug, "closed the longest idle connection to make room",
        {{"max_connections", std::to_string(options.max_connections)}});
    return true;
  }

  void Stop() {
    stopping = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    trim_timer.cancel();
    for (SessionState* s : sessions) {
      if (!s->busy && s->socket != nullptr) s->socket->close(ignored);
      if (s->later != nullptr) s->later->cancel();
    }
  }
};

WebServer::WebServer(net::any_io_executor executor, WebServerOptions options,
                     WebHandler handler)
    : impl_(std::make_shared<Impl>(executor, std::move(options),
                                   std::move(handler))) {}

WebServer::~WebServer() {
  if (impl_ && !impl_->stopping) impl_->Stop();
}

void WebServer::Start() {
  impl_->Bind();
  impl_->spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  net::co_spawn(impl_->executor, impl_->Accept(), [](std::exception_ptr e) {
    LogEscaped(e, "accept loop failed");
  });
}

void WebServer::Stop() { impl_->Stop(); }

void WebServer::Configure(const WebConfig& config) {
  auto next = std::make_shared<Impl::Security>();
  if (config.tls) next->tls = MakeServerContext(*config.tls);
  if (!config.basic_auth_users.empty()) {
    next->auth = std::make_shared<BasicAuthenticator>(config.basic_auth_users);
  }
  impl_->security = std::move(next);
}

bool WebServer::tls() const { return impl_->security->tls != nullptr; }

std::uint64_t WebServer::bcrypt_runs() const {
  const auto& auth = impl_->security->auth;
  return auth ? auth->bcrypt_runs() : 0;
}

void CheckWebTls(const WebTlsConfig& tls) { MakeServerContext(tls); }

std::uint16_t WebServer::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::size_t WebServer::connections() const { return impl_->sessions.size(); }

}  // namespace sse
