#include "sse/http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>
#include <vector>

#include "sse/http/resolver.h"
#include "sse/http/response.h"
#include "sse/util/file_read.h"
#include "sse/util/text.h"
#include "sse/version.h"

namespace sse {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

// What identifies a version of a file: modification time and size (both
// empty for a missing file or an empty path).
struct FileStamp {
  std::filesystem::file_time_type mtime{};
  std::uintmax_t size = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp Stamp(const std::string& path) {
  FileStamp stamp;
  if (path.empty()) return stamp;
  std::error_code ec;
  stamp.mtime = std::filesystem::last_write_time(path, ec);
  stamp.size = ec ? 0 : std::filesystem::file_size(path, ec);
  return stamp;
}

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

struct Connection;

// The poll connections of all clients together, kept below the process's
// descriptor limit so that the web server, the state file and reloads
// always find a descriptor. A connection takes a slot when it connects and
// gives it back when closed. Kept-alive connections between requests wait
// in `idle`, oldest first: when no slot is free, the one idle longest (a
// long-interval service's) is closed for the new one.
struct ConnectionBudget {
  std::mutex mutex;
  std::size_t max = std::numeric_limits<std::size_t>::max();
  std::size_t open = 0;
  std::size_t evicted = 0;
  std::list<Connection*> idle;
};

ConnectionBudget& Budget() {
  static ConnectionBudget budget;
  return budget;
}

// One connection to one origin (scheme, host, port). Its deadline is the
// client's watchdog, which closes the socket: the streams have no timers of
// their own (Beast's tcp_stream arms one per read and write).
struct Connection {
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { GiveBack(); }

  bool counted = false;  // holds a slot of the budget
  bool waiting = false;  // in the budget's idle list, at `idle_pos`
  std::list<Connection*>::iterator idle_pos;

  const Url* origin = nullptr;        // its scheme, host and port
  std::shared_ptr<ssl::context> ctx;  // outlives `secure`, which uses it
  std::unique_ptr<tcp::socket> plain;
  std::unique_ptr<ssl::stream<tcp::socket>> secure;
  // Bytes read ahead of the parser. Empty between responses, and then
  // without memory (Release): a kept-alive connection per service adds up.
  beast::flat_buffer buffer{256 * 1024};

  bool open() const { return plain || secure; }
  bool SameOrigin(const Url& url) const {
    return origin->scheme == url.scheme && origin->host == url.host &&
           origin->port == url.port;
  }
  tcp::socket& Lowest() { return secure ? secure->next_layer() : *plain; }
  void Release() {
    if (buffer.size() == 0) buffer.shrink_to_fit();
  }
  // Closes the socket; pending operations complete with an error. The
  // streams stay allocated for them.
  void Cancel() {
    if (open()) {
      boost::system::error_code ignored;
      Lowest().close(ignored);
    }
  }
  void Close() {
    if (open()) {
      boost::system::error_code ignored;
      Lowest().shutdown(tcp::socket::shutdown_both, ignored);
      Lowest().close(ignored);
    }
    plain.reset();
    secure.reset();
    ctx.reset();
    buffer.clear();
    buffer.shrink_to_fit();
    GiveBack();
  }

  // Takes a slot for a new connection, closing the connection idle longest
  // if none is free. False if every slot is in use by a request.
  bool TakeSlot() {
    if (counted) return true;
    ConnectionBudget& b = Budget();
    for (;;) {
      Connection* victim = nullptr;
      {
        std::lock_guard lock(b.mutex);
        if (b.open < b.max) {
          ++b.open;
          counted = true;
          return true;
        }
        if (b.idle.empty()) return false;
        victim = b.idle.front();
        ++b.evicted;
      }
      victim->Close();  // gives its slot back
    }
  }
  // Between requests: may be closed for another client's connection.
  void MarkIdle() {
    if (!open() || waiting) return;
    ConnectionBudget& b = Budget();
    std::lock_guard lock(b.mutex);
    idle_pos = b.idle.insert(b.idle.end(), this);
    waiting = true;
  }
  void MarkBusy() {
    if (!waiting) return;
    ConnectionBudget& b = Budget();
    std::lock_guard lock(b.mutex);
    b.idle.erase(idle_pos);
    waiting = false;
  }

 private:
  void GiveBack() {
    MarkBusy();
    if (!counted) return;
    ConnectionBudget& b = Budget();
    std::lock_guard lock(b.mutex);
    --b.open;
    counted = false;
  }
};

constexpr std::string_view kAccept = "application/json, */*;q=0.5";

const std::string& UserAgent() {
  static const std::string agent =
      std::string("service_state_exporter/") + kVersion;
  return agent;
}

HttpResult Failure(Outcome outcome, std::string error) {
  HttpResult r;
  r.outcome = outcome;
  r.error = std::move(error);
  return r;
}

bool IsAuthorization(const std::string& name) {
  return name.size() == 13 &&
         std::equal(name.begin(), name.end(), "authorization",
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) == b;
                    });
}

// Errors of a kept-alive connection that the server closed meanwhile. Over
// TLS a server that drops an idle connection without close_notify shows up
// as stream_truncated.
bool IsStaleConnectionError(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted ||
         ec == ssl::error::stream_truncated;
}

// "TLS handshake: <error>", with OpenSSL's reason when the peer's
// certificate failed verification (unknown CA, hostname mismatch, ...).
std::string HandshakeError(const boost::system::error_code& ec, SSL* ssl) {
  std::string text = "TLS handshake: " + ec.message();
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    text += " (";
    text += X509_verify_cert_error_string(verify);
    text += ")";
  }
  return text;
}

}  // namespace

std::string PlainGetRequest(
    const Url& url,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  out.reserve(96 + url.target.size() + url.host_header.size());
  out += "GET ";
  out += url.target;
  out += " HTTP/1.1\r\n";
  auto field = [&out](std::string_view name, std::string_view value) {
    // As Beast does: no spaces or tabs around a value.
    const auto edge = value.find_first_not_of(" \t");
    value = edge == std::string_view::npos
                ? std::string_view()
                : value.substr(edge, value.find_last_not_of(" \t") - edge + 1);
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  if (headers.empty()) {
    field("Host", url.host_header);
    field("User-Agent", UserAgent());
    field("Accept", kAccept);
  } else {
    // As Beast's set(): a header replaces those of the same name before it
    // and goes last.
    std::vector<std::pair<std::string_view, std::string_view>> fields = {
        {"Host", url.host_header},
        {"User-Agent", UserAgent()},
        {"Accept", kAccept}};
    for (const auto& [name, value] : headers) {
      std::erase_if(fields, [&name](const auto& f) {
        return beast::iequals(f.first, name);
      });
      fields.emplace_back(name, value);
    }
    for (const auto& [name, value] : fields) field(name, value);
  }
  out += "\r\n";
  return out;
}

HttpClientOptions ClientOptionsFor(const ServiceConfig& service) {
  HttpClientOptions o;
  o.timeout = service.timeout;
  o.max_body_bytes = service.max_body_bytes;
  o.follow_redirects = service.follow_redirects;
  o.headers = service.headers;
  if (!service.bearer_token_file.empty()) {
    o.auth = {AuthFile::Scheme::kBearer, service.bearer_token_file, "",
              "bearer_token_file"};
  } else if (service.has_basic_auth) {
    o.auth = {AuthFile::Scheme::kBasic, service.basic_auth.password_file,
              service.basic_auth.username, "basic_auth.password_file"};
  }
  o.has_tls = service.has_tls;
  o.tls = service.tls;
  return o;
}

// TLS settings and state of a client, made only for a client that uses TLS
// (a client per service adds up).
struct TlsState {
  TlsConfig config;
  std::shared_ptr<ssl::context> ctx;
  std::string setup_error;
  std::vector<FileStamp> files;  // of ca/cert/key when ctx was built
};

// The Authorization header of a client with a credential file, and the
// version of the file it was read from.
struct AuthState {
  AuthFile file;
  struct stat read_from {};  // identity of the file last read
  bool have = false;         // read_from is set
  std::string value;         // header value; empty when the read failed
  std::string error;         // why the last read failed
};

bool SameFileVersion(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
         a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
         a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// A connection to where a redirect led, with that origin.
struct Detour {
  Url origin;
  Connection conn;
};

struct HttpClient::Impl : std::enable_shared_from_this<HttpClient::Impl> {
  Url url;
  // HttpClientOptions but TLS (in `tls`).
  Duration timeout;
  std::uint64_t max_body_bytes;
  std::size_t max_header_bytes;
  bool follow_redirects;
  int max_redirects;
  std::vector<std::pair<std::string, std::string>> headers;
  std::unique_ptr<TlsState> tls;    // made when first needed
  std::unique_ptr<AuthState> auth;  // for a client with a credential file
  Connection primary;
  // For a redirect to another origin, during one request (made then only).
  std::unique_ptr<Detour> detour;
  // Ends a request at its deadline by closing its connection: one timer
  // wait per request, whatever it takes (resolve, connect, TLS, write,
  // reads).
  net::steady_timer watchdog;
  std::uint64_t request_id = 0;  // of the request the watchdog is armed for
  bool timed_out = false;        // the watchdog fired during this request
  std::uint64_t connections = 0;
  bool busy = false;

  Impl(net::any_io_executor ex, Url u, HttpClientOptions o)
      : url(std::move(u)),
        timeout(o.timeout),
        max_body_bytes(o.max_body_bytes),
        max_header_bytes(o.max_header_bytes),
        follow_redirects(o.follow_redirects),
        max_redirects(o.max_redirects),
        headers(std::move(o.headers)),
        watchdog(std::move(ex)) {
    if (o.has_tls || o.tls != TlsConfig{}) {
      tls = std::make_unique<TlsState>();
      tls->config = std::move(o.tls);
    }
    if (o.auth.scheme != AuthFile::Scheme::kNone) {
      auth = std::make_unique<AuthState>();
      auth->file = std::move(o.auth);
    }
    primary.origin = &url;
  }

  // Brings the Authorization header in line with the credential file: one
  // stat() per request, a read only when the file changed (the kubelet
  // swaps a symlink, editors rename, some write in place). False, with the
  // reason in `error`, while the file is missing, empty or unreadable: the
  // old secret is not sent any more.
  bool RefreshAuth(std::string& error) {
    AuthState& a = *auth;
    const std::string where = a.file.key + ": ";
    struct stat now {};
    if (::stat(a.file.file.c_str(), &now) != 0) {
      const int err = errno;
      a.have = false;
      a.value.clear();
      error = where + "file \"" + a.file.file + "\" " +
              (err == ENOENT || err == ENOTDIR
                   ? std::string("does not exist")
                   : std::string("cannot be read: ") + std::strerror(err));
      SetAuthorization("");
      return false;
    }
    if (!a.have || !SameFileVersion(now, a.read_from)) {
      a.have = true;
      a.read_from = now;
      a.value.clear();
      a.error.clear();
      FileRead read = ReadRegularFile(a.file.file, kMaxSecretBytes + 2);
      const std::string secret =
          read.ok() ? TrimTrailingNewlines(std::move(read.data)) : "";
      if (!read.ok()) {
        a.error = where + read.message;
      } else if (secret.empty()) {
        a.error = where + "file \"" + a.file.file + "\" is empty";
      } else if (secret.size() > kMaxSecretBytes) {
        a.error = where + "file \"" + a.file.file + "\" is larger than " +
                  ByteSizeText(kMaxSecretBytes);
      } else if (a.file.scheme == AuthFile::Scheme::kBearer) {
        a.value = "Bearer " + secret;
      } else {
        a.value = "Basic " + EncodeBase64(a.file.username + ":" + secret);
      }
      SetAuthorization(a.value);
    }
    if (a.value.empty()) {
      error = a.error;
      return false;
    }
    return true;
  }

  // Replaces (or with "" removes) the Authorization header.
  void SetAuthorization(const std::string& value) {
    std::erase_if(headers,
                  [](const auto& h) { return IsAuthorization(h.first); });
    if (!value.empty()) headers.emplace_back("Authorization", value);
  }

  // The TLS settings (defaults unless configured).
  TlsState& Tls() {
    if (!tls) tls = std::make_unique<TlsState>();
    return *tls;
  }

  void Arm(Clock::time_point deadline) {
    timed_out = false;
    watchdog.expires_at(deadline);
    watchdog.async_wait([weak = weak_from_this(), id = ++request_id](
                            const boost::system::error_code& ec) {
      if (ec) return;  // disarmed
      auto self = weak.lock();
      if (!self || self->request_id != id) return;
      self->timed_out = true;
      self->primary.Cancel();
      if (self->detour) self->detour->conn.Cancel();
    });
  }

  void EndDetour() {
    if (detour) detour->conn.Close();
    detour.reset();
  }

  // Closes both connections (after a failure that leaves either unusable).
  void CloseAll() {
    primary.Close();
    EndDetour();
  }

  void Disarm() {
    ++request_id;
    watchdog.cancel();
  }

  // What an operation's error means: past the deadline, whatever the
  // closed socket made of it, a timeout.
  boost::system::error_code Timed(boost::system::error_code ec) const {
    if (ec && timed_out) return beast::error::timeout;
    return ec;
  }

  std::vector<FileStamp> TlsFileStamps() const {
    std::vector<FileStamp> stamps;
    for (const std::string* file :
         {&tls->config.ca_file, &tls->config.cert_file,
          &tls->config.key_file}) {
      stamps.push_back(Stamp(*file));
    }
    return stamps;
  }

  // The TLS context for a new connection. Built on first use and again
  // whenever the CA, certificate or key file changed since (rotated
  // certificates need no restart); a kept-alive connection keeps the context
  // it was opened with. Records an error instead of throwing, so that a poll
  // reports it.
  std::shared_ptr<ssl::context> SslContext() {
    TlsState& state = Tls();
    std::vector<FileStamp> stamps = TlsFileStamps();
    if (stamps == state.files && (state.ctx || !state.setup_error.empty())) {
      return state.ctx;
    }
    state.files = std::move(stamps);
    state.ctx.reset();
    state.setup_error.clear();
    const TlsConfig& config = state.config;
    try {
      auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
      ctx->set_options(ssl::context::default_workarounds |
                       ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      if (!config.ca_file.empty()) {
        ctx->load_verify_file(config.ca_file);
      } else {
        ctx->set_default_verify_paths();
      }
      if (!config.cert_file.empty()) {
        ctx->use_certificate_chain_file(config.cert_file);
        ctx->use_private_key_file(config.key_file, ssl::context::pem);
      }
      ctx->set_verify_mode(config.insecure_skip_verify ? ssl::verify_none
                                                       : ssl::verify_peer);
      state.ctx = std::move(ctx);
    } catch (const boost::system::system_error& e) {
      state.setup_error = std::string("TLS setup: ") + e.what();
    }
    return state.ctx;
  }

  net::awaitable<HttpResult> Connect(Connection& conn,
                                     Clock::time_point deadline) {
    // Bounded by the deadline even when the system resolver hangs.
    ResolveResult resolved =
        co_await ResolveWithDeadline(watchdog.get_executor(), conn.origin->host,
                                     conn.origin->port, deadline);
    if (resolved.error) {
      co_return Failure(
          resolved.error == net::error::timed_out ? Outcome::kTimeout
                                                  : Outcome::kConnectError,
          "resolve " + conn.origin->host + ": " + resolved.error.message());
    }
    if (timed_out) {
      co_return Failure(
          Outcome::kTimeout,
          "connect: " +
              beast::make_error_code(beast::error::timeout).message());
    }
    if (!conn.TakeSlot()) {
      co_return Failure(Outcome::kConnectError,
                        "connect: no descriptor left for another poll "
                        "connection (" +
                            std::to_string(PollConnectionLimit()) +
                            " open, all busy; raise the open files limit)");
    }
    // Each address in turn, in `conn` so that the watchdog can close it.
    boost::system::error_code cec = net::error::host_not_found;
    for (const tcp::endpoint& endpoint : resolved.endpoints) {
      conn.plain = std::make_unique<tcp::socket>(watchdog.get_executor());
      auto [ec] = co_await conn.plain->async_connect(endpoint, kUseTuple);
      cec = Timed(ec);
      if (!cec || cec == beast::error::timeout) break;
    }
    if (cec) {
      co_return Failure(cec == beast::error::timeout ? Outcome::kTimeout
                                                     : Outcome::kConnectError,
                        "connect: " + cec.message());
    }
    ++connections;
    boost::system::error_code ignored;
    conn.plain->set_option(tcp::no_delay(true), ignored);
    if (conn.origin->scheme != "https") co_return HttpResult{};
    std::shared_ptr<ssl::context> ctx = SslContext();
    if (ctx == nullptr) co_return Failure(Outcome::kTlsError, tls->setup_error);
    auto secure = std::make_unique<ssl::stream<tcp::socket>>(
        std::move(*conn.plain), *ctx);
    conn.plain.reset();
    const std::string name = tls->config.server_name.empty()
                                 ? conn.origin->host
                                 : tls->config.server_name;
    SSL* native = secure->native_handle();
    const bool ip = IsIpAddress(name);
    if (!ip) SSL_set_tlsext_host_name(native, name.c_str());  // SNI
    if (!tls->config.insecure_skip_verify) {
      // OpenSSL checks the name during verification (SAN DNS or IP entry),
      // so a mismatch fails the handshake with its own reason.
      const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native),
                                                         name.c_str())
                         : SSL_set1_host(native, name.c_str());
      if (set != 1) {
        co_return Failure(
            Outcome::kTlsError,
            "TLS setup: cannot verify server name \"" + name + "\"");
      }
    }
    conn.ctx = std::move(ctx);
    conn.secure = std::move(secure);
    auto [ec] = co_await conn.secure->async_handshake(ssl::stream_base::client,
                                                      kUseTuple);
    const boost::system::error_code hec = Timed(ec);
    if (hec) {
      co_return Failure(
          hec == beast::error::timeout ? Outcome::kTimeout : Outcome::kTlsError,
          HandshakeError(hec, native));
    }
    co_return HttpResult{};
  }

  template <class Stream>
  net::awaitable<HttpResult> Exchange(Stream& stream, Connection& conn,
                                      const std::string& request, bool& stale,
                                      std::string& location) {
    auto [write_ec, written] =
        co_await net::async_write(stream, net::buffer(request), kUseTuple);
    const boost::system::error_code wec = Timed(write_ec);
    if (wec) {
      stale = IsStaleConnectionError(wec);
      co_return Failure(wec == beast::error::timeout ? Outcome::kTimeout
                                                     : Outcome::kConnectError,
                        "write: " + wec.message());
    }
    ResponseLimits limits;
    limits.max_body_bytes = max_body_bytes;
    limits.max_header_bytes = static_cast<std::uint32_t>(max_header_bytes);
    for (int interim = 0;; ++interim) {
      ResponseParser parser;
      ApplyLimits(parser, limits);
      auto [read_ec, read] =
          co_await http::async_read(stream, conn.buffer, parser, kUseTuple);
      const boost::system::error_code rec = Timed(read_ec);
      // Skip 100 Continue, 103 Early Hints and the like: the final response
      // follows on the same connection.
      if (!rec && IsInterimStatus(parser.get().result_int())) {
        if (interim < kMaxInterimResponses) continue;
        conn.Close();
        co_return Failure(Outcome::kHttpError, kTooManyInterim);
      }
      if (rec)
        stale =
            interim == 0 && !parser.got_some() && IsStaleConnectionError(rec);
      HttpResult result = FinishResponse(parser, rec, limits, location);
      if (!rec && !parser.get().keep_alive()) conn.Close();
      conn.Release();
      co_return result;
    }
  }

  // The request's bytes. The plain GET of the URL (every poll of a
  // service) is written directly, other requests through Beast.
  std::string RequestBytes(const Url& target,
                           const HttpRequestSpec& spec) const {
    const bool plain_get = &target == &url && spec.method == "GET" &&
                           spec.body.empty() && spec.headers.empty() &&
                           spec.content_type.empty();
    if (plain_get) return PlainGetRequest(url, headers);
    return Serialize(target, spec);
  }

  std::string Serialize(const Url& target, const HttpRequestSpec& spec) const {
    http::request<http::string_body> req{http::string_to_verb(spec.method),
                                         target.target, 11};
    req.set(http::field::host, target.host_header);
    req.set(http::field::user_agent, UserAgent());
    req.set(http::field::accept, kAccept);
    // Credentials go only to the configured URL's origin, never to where a
    // redirect points elsewhere (as browsers and Go's net/http do).
    const bool own_origin = SameOrigin(target, url);
    for (const auto& [name, value] : headers) {
      if (own_origin || !IsAuthorization(name)) req.set(name, value);
    }
    for (const auto& [name, value] : spec.headers) req.set(name, value);
    if (!spec.content_type.empty())
      req.set(http::field::content_type, spec.content_type);
    if (spec.method != "GET" || !spec.body.empty()) {
      req.body() = spec.body;
      req.prepare_payload();
    }
    std::ostringstream bytes;
    bytes << req;
    return std::move(bytes).str();
  }

  net::awaitable<HttpResult> Fetch(Connection& conn, const Url& target,
                                   const HttpRequestSpec& spec,
                                   Clock::time_point deadline,
                                   std::string& location) {
    const std::string request = RequestBytes(target, spec);
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = conn.open();
      if (!reused) {
        HttpResult connected = co_await Connect(conn, deadline);
        if (connected.outcome != Outcome::kOk) {
          conn.Close();
          co_return connected;
        }
      }
      bool stale = false;
      // No co_await inside ?: here: GCC 12 miscompiles it (double free).
      HttpResult result;
      if (conn.secure) {
        result =
            co_await Exchange(*conn.secure, conn, request, stale, location);
      } else {
        result = co_await Exchange(*conn.plain, conn, request, stale, location);
      }
      if (result.outcome == Outcome::kOk) co_return result;
      conn.Close();
      // A kept-alive connection the server closed meanwhile: retry once on
      // a fresh one.
      if (!(reused && stale)) co_return result;
    }
    co_return Failure(Outcome::kConnectError, "connection closed by peer");
  }

  net::awaitable<HttpResult> Run(const HttpRequestSpec& spec,
                                 Clock::time_point deadline) {
    const Url* at = &url;  // the URL, or where redirects led
    std::optional<Url> redirected;
    for (int hop = 0;; ++hop) {
      const Url& current = *at;
      Connection* conn = &primary;
      if (!primary.SameOrigin(current)) {
        if (!detour || !detour->conn.SameOrigin(current)) {
          EndDetour();
          detour = std::make_unique<Detour>();
          detour->origin = current;
          detour->conn.origin = &detour->origin;
        }
        conn = &detour->conn;
      }
      std::string location;
      HttpResult result =
          co_await Fetch(*conn, current, spec, deadline, location);
      const bool redirect =
          spec.method == "GET" && result.outcome == Outcome::kOk &&
          result.status >= 300 && result.status < 400 && !location.empty();
      if (!follow_redirects || !redirect) {
        EndDetour();
        co_return result;
      }
      if (hop >= max_redirects) {
        EndDetour();
        co_return Failure(
            Outcome::kHttpError,
            "stopped after " + std::to_string(max_redirects) + " redirects");
      }
      std::string error;
      std::optional<Url> next = ResolveRedirect(current, location, error);
      if (!next) {
        EndDetour();
        co_return Failure(Outcome::kHttpError, error);
      }
      redirected = std::move(*next);
      at = &*redirected;
    }
  }
};

HttpClient::HttpClient(net::any_io_executor executor, Url url,
                       HttpClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(url),
                                   std::move(options))) {}

HttpClient::~HttpClient() = default;

net::awaitable<HttpResult> HttpClient::Get() {
  return Request(HttpRequestSpec{});
}

void SetPollConnectionLimit(std::size_t max) {
  ConnectionBudget& b = Budget();
  std::lock_guard lock(b.mutex);
  b.max = max;
}

std::size_t PollConnectionLimit() {
  ConnectionBudget& b = Budget();
  std::lock_guard lock(b.mutex);
  return b.max;
}

PollConnectionCounts PollConnections() {
  ConnectionBudget& b = Budget();
  std::lock_guard lock(b.mutex);
  return {b.open, b.idle.size(), b.evicted};
}

net::awaitable<HttpResult> HttpClient::Request(HttpRequestSpec spec) {
  if (impl_->auth) {
    std::string error;
    if (!impl_->RefreshAuth(error))
      co_return Failure(Outcome::kHttpError, "credentials: " + error);
  }
  impl_->busy = true;
  impl_->primary.MarkBusy();
  const Clock::time_point deadline = Clock::now() + impl_->timeout;
  impl_->Arm(deadline);
  HttpResult result;
  try {
    result = co_await impl_->Run(spec, deadline);
  } catch (const std::bad_alloc&) {
    // A body within max_body_bytes that memory cannot hold.
    impl_->CloseAll();
    result = Failure(Outcome::kTooLarge, "out of memory reading the response");
  } catch (const std::exception& e) {
    impl_->CloseAll();
    result =
        Failure(Outcome::kConnectError, std::string("internal: ") + e.what());
  }
  impl_->Disarm();
  // The watchdog closed the sockets of both connections, whichever the
  // request was on: neither may be reused.
  if (impl_->timed_out) impl_->CloseAll();
  impl_->busy = false;
  impl_->primary.MarkIdle();
  co_return result;
}

void HttpClient::Close() {
  if (impl_->busy) {
    // The request may be on either connection (a redirect's): both.
    impl_->primary.Cancel();
    if (impl_->detour) impl_->detour->conn.Cancel();
  } else {
    impl_->primary.Close();
  }
}

std::uint64_t HttpClient::connections_opened() const {
  return impl_->connections;
}

}  // namespace sse
