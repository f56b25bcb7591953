// --web.config.file against the real binary: TLS (server certificates,
// client certificates, minimum version), bcrypt basic auth on every
// endpoint, reload, and start-up failures. Certificates come from the
// openssl CLI, bcrypt hashes from htpasswd, and curl is one of the clients.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "exporter_rig.h"
#include "sse/util/text.h"
#include "support/fake_service.h"
#include "support/pki.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using sse::test::ClientTls;
using sse::test::ExporterRig;
using sse::test::FakeService;
using sse::test::RigClient;
using sse::test::SharedPki;
using Labels = std::map<std::string, std::string>;

namespace {

const Labels kFake{{"service_name", "fake"}, {"service_type", "MCPServer"}};

std::string OneService(const std::string& url) {
  return "global:\n  poll_interval: 200ms\n  poll_timeout: 200ms\n"
         "services:\n  - name: fake\n    type: MCPServer\n    url: " +
         url + "\n    source: json\n";
}

std::string Htpasswd(const std::string& user, const std::string& password,
                     int cost = 10) {
  const std::string htpasswd = sse::test::FindProgram("htpasswd");
  REQUIRE_FALSE(htpasswd.empty());
  std::string output;
  REQUIRE(sse::test::RunCommand(
              {htpasswd, "-nbBC", std::to_string(cost), user, password},
              output) == 0);
  std::string hash = output.substr(user.size() + 1);
  while (!hash.empty() && (hash.back() == '\n' || hash.back() == '\r'))
    hash.pop_back();
  return hash;
}

std::string BasicHeader(const std::string& user, const std::string& password) {
  return "Basic " + sse::EncodeBase64(user + ":" + password);
}

ClientTls TrustTestCa() {
  ClientTls tls;
  tls.ca_file = SharedPki().ca.cert;
  return tls;
}

std::string TlsServerConfig(const std::string& extra = "") {
  const auto& pki = SharedPki();
  return "tls_server_config:\n  cert_file: " + pki.server.cert +
         "\n  key_file: " + pki.server.key + "\n" + extra;
}

// Runs curl; returns its exit code and puts stdout+stderr into `output`.
int Curl(const std::vector<std::string>& args, std::string& output) {
  const std::string curl = sse::test::FindProgram("curl");
  REQUIRE_FALSE(curl.empty());
  std::vector<std::string> argv = {
      curl, "--silent", "--show-error", "--max-time", "10", "--noproxy", "*"};
  argv.insert(argv.end(), args.begin(), args.end());
  return sse::test::RunCommand(argv, output, 20s);
}

// A crowd of `clients` connections that send requests with wrong
// passwords (a new guess each time, so no cache helps) as fast as they are
// answered, reconnecting whenever the server closes, until destroyed. One
// thread, non-blocking sockets.
class WrongPasswordFlood {
 public:
  WrongPasswordFlood(std::uint16_t port, int clients)
      : port_(port), thread_([this, clients] { Run(clients); }) {}
  ~WrongPasswordFlood() {
    stop_ = true;
    thread_.join();
  }
  /// Answers received (401 or 429) and connections made so far.
  int answers() const { return answers_; }
  int connects() const { return connects_; }

 private:
  struct Client {
    int fd = -1;
    bool sent = false;
  };

  int Connect() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
        errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    ++connects_;
    return fd;
  }

  void Run(int clients) {
    std::vector<Client> crowd(clients);
    std::vector<pollfd> fds(clients);
    std::uint64_t guess = 0;
    char buffer[8192];
    while (!stop_) {
      for (int i = 0; i < clients; ++i) {
        Client& c = crowd[i];
        if (c.fd < 0) {
          c.fd = Connect();
          c.sent = false;
        }
        fds[i] = {c.fd, static_cast<short>(c.sent ? POLLIN : POLLOUT), 0};
      }
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (int i = 0; i < clients; ++i) {
        Client& c = crowd[i];
        if (c.fd < 0 || fds[i].revents == 0) continue;
        bool drop = (fds[i].revents & (POLLERR | POLLHUP)) != 0;
        if (!drop && !c.sent) {
          const std::string request =
              "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: " +
              BasicHeader("alice", "guess-" + std::to_string(++guess)) +
              "\r\n\r\n";
          drop = ::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
                 static_cast<ssize_t>(request.size());
          c.sent = !drop;
        } else if (!drop) {
          const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
          if (n <= 0) {
            drop = true;
          } else {
            ++answers_;
            c.sent = false;  // ask again on the same connection
          }
        }
        if (drop) {
          ::close(c.fd);
          c.fd = -1;
        }
      }
    }
    for (Client& c : crowd) {
      if (c.fd >= 0) ::close(c.fd);
    }
  }

  const std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answers_{0};
  std::atomic<int> connects_{0};
  std::thread thread_;
};

// The first flight of a TLS client (its ClientHello), made with OpenSSL in
// memory: sent on a raw connection, it makes the server do its share of a
// handshake that the client then abandons.
std::string ClientHello() {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(
      SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  REQUIRE(ctx);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);  // owned by ssl from here
  SSL_set_connect_state(ssl.get());
  REQUIRE(SSL_do_handshake(ssl.get()) != 1);  // waits for the server
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  REQUIRE(size > 0);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

TEST_CASE("TLS: /metrics over https with the configured certificate",
          "[web_config][tls]") {
  FakeService fake;
  sse::test::TempDir dir;
  const std::string web = dir.Write("web.yml", TlsServerConfig());
  ExporterRig rig(OneService(fake.Url("/status")), RigClient{TrustTestCa(), {}},
                  {"--web.config.file=" + web});
  REQUIRE(rig.WaitValue("muster_service_up", kFake, 1));
  // The whole API is served over TLS.
  for (const char* path :
       {"/", "/api/v1/services", "/api/v1/status", "/-/ready"}) {
    CAPTURE(path);
    REQUIRE(rig.Get(path).status == 200);
  }
  auto status = nlohmann::json::parse(rig.Get("/api/v1/status").body);
  REQUIRE(status["web"]["tls"] == true);
  REQUIRE(status["web"]["basic_auth"] == false);
  REQUIRE(status["web"]["config_file"] == web);

  // Plain HTTP to the TLS port gets no HTTP answer.
  REQUIRE(sse::test::HttpGet(rig.port(), "/metrics").status == 0);
  // A client that does not trust the test CA fails the handshake.
  ClientTls foreign;
  foreign.ca_file = SharedPki().other_ca.cert;
  auto refused =
      sse::test::HttpsRequest(rig.port(), foreign, "GET", "/metrics");
  REQUIRE(refused.status == 0);
  // curl agrees, by name and by IP address.
  std::string out;
  const std::string port = std::to_string(rig.port());
  REQUIRE(Curl({"--cacert", SharedPki().ca.cert,
                "https://localhost:" + port + "/metrics"},
               out) == 0);
  REQUIRE_FALSE(sse::test::FindSamples(sse::test::ParseExposition(out),
                                       "muster_service_up", kFake)
                    .empty());
  REQUIRE(Curl({"--cacert", SharedPki().ca.cert,
                "https://127.0.0.1:" + port + "/-/healthy"},
               out) == 0);
  // The handshake failures were logged at debug, not as errors.
  REQUIRE(rig.process().log().find("TLS handshake failed") !=
          std::string::npos);
  REQUIRE(rig.process().Stop() == 0);
}

TEST_CASE("TLS: min_version TLS13 refuses a TLS 1.2 client",
          "[web_config][tls]") {
  sse::test::TempDir dir;
  const std::string web =
      dir.Write("web.yml", TlsServerConfig("  min_version: TLS13\n"));
  ExporterRig rig("services: []\n", RigClient{TrustTestCa(), {}},
                  {"--web.config.file=" + web});
  const std::string url =
      "https://localhost:" + std::to_string(rig.port()) + "/-/healthy";
  std::string out;
  REQUIRE(Curl({"--cacert", SharedPki().ca.cert, "--tlsv1.3", url}, out) == 0);
  REQUIRE(Curl({"--cacert", SharedPki().ca.cert, "--tlsv1.2", "--tls-max",
                "1.2", url},
               out) != 0);
}

TEST_CASE(
    "TLS: RequireAndVerifyClientCert wants a certificate of the client CA",
    "[web_config][tls]") {
  const auto& pki = SharedPki();
  sse::test::TempDir dir;
  const std::string web = dir.Write(
      "web.yml",
      TlsServerConfig("  client_auth_type: RequireAndVerifyClientCert\n"
                      "  client_ca_file: " +
                      pki.ca.cert + "\n"));
  ClientTls with_cert = TrustTestCa();
  with_cert.cert_file = pki.client.cert;
  with_cert.key_file = pki.client.key;
  ExporterRig rig("services: []\n", RigClient{with_cert, {}},
                  {"--web.config.file=" + web});
  REQUIRE(rig.Get("/metrics").status == 200);
  auto none =
      sse::test::HttpsRequest(rig.port(), TrustTestCa(), "GET", "/metrics");
  CAPTURE(none.error);
  REQUIRE(none.status == 0);
  ClientTls foreign = TrustTestCa();
  foreign.cert_file = pki.foreign_client.cert;
  foreign.key_file = pki.foreign_client.key;
  REQUIRE(
      sse::test::HttpsRequest(rig.port(), foreign, "GET", "/metrics").status ==
      0);
  std::string out;
  const std::string url =
      "https://localhost:" + std::to_string(rig.port()) + "/-/healthy";
  REQUIRE(Curl({"--cacert", pki.ca.cert, "--cert", pki.client.cert, "--key",
                pki.client.key, url},
               out) == 0);
  REQUIRE(Curl({"--cacert", pki.ca.cert, url}, out) != 0);
}

TEST_CASE("TLS: RequireAnyClientCert takes any certificate, none is refused",
          "[web_config][tls]") {
  const auto& pki = SharedPki();
  sse::test::TempDir dir;
  const std::string web = dir.Write(
      "web.yml", TlsServerConfig("  client_auth_type: RequireAnyClientCert\n"));
  ClientTls foreign = TrustTestCa();
  foreign.cert_file = pki.foreign_client.cert;
  foreign.key_file = pki.foreign_client.key;
  ExporterRig rig("services: []\n", RigClient{foreign, {}},
                  {"--web.config.file=" + web});
  REQUIRE(rig.Get("/metrics").status == 200);
  REQUIRE(sse::test::HttpsRequest(rig.port(), TrustTestCa(), "GET", "/metrics")
              .status == 0);
}

TEST_CASE(
    "basic auth: 401 without or with wrong credentials, 200 with right ones",
    "[web_config][auth]") {
  FakeService fake;
  sse::test::TempDir dir;
  const std::string web = dir.Write(
      "web.yml",
      "basic_auth_users:\n  alice: " + Htpasswd("alice", "wonder land") +
          "\n  bob: " + Htpasswd("bob", "builder", 5) + "\n");
  const auto alice = BasicHeader("alice", "wonder land");
  ExporterRig rig(OneService(fake.Url("/status")),
                  RigClient{{}, {{"Authorization", alice}}},
                  {"--web.config.file=" + web, "--web.enable-lifecycle"});
  REQUIRE(rig.WaitValue("muster_service_up", kFake, 1));
  const std::vector<std::string> paths = {
      "/metrics", "/",    "/api/v1/services", "/api/v1/status", "/-/healthy",
      "/-/ready", "/nope"};
  const std::vector<std::map<std::string, std::string>> wrong = {
      {},
      {{"Authorization", BasicHeader("alice", "wonderland")}},
      {{"Authorization", BasicHeader("alice", "")}},
      {{"Authorization", BasicHeader("mallory", "wonder land")}},
      {{"Authorization", BasicHeader("bob", "wonder land")}},
      {{"Authorization", "Bearer wonder land"}},
      {{"Authorization", "Basic not-base64"}},
  };
  for (const auto& path : paths) {
    for (const auto& headers : wrong) {
      auto reply = sse::test::HttpGet(rig.port(), path, headers);
      const std::string authorization = headers.count("Authorization")
                                            ? headers.at("Authorization")
                                            : "(none)";
      CAPTURE(path, authorization);
      REQUIRE(reply.status == 401);
      REQUIRE(reply.headers["www-authenticate"] ==
              "Basic realm=\"service_state_exporter\"");
      REQUIRE(reply.body.find("muster") == std::string::npos);
    }
    auto ok = rig.Get(path);
    CAPTURE(path);
    REQUIRE(ok.status == (path == "/nope" ? 404 : 200));
    auto bob = sse::test::HttpGet(
        rig.port(), path, {{"Authorization", BasicHeader("bob", "builder")}});
    REQUIRE(bob.status == ok.status);
  }
  // Lifecycle endpoints are protected too.
  REQUIRE(sse::test::HttpRequest(rig.port(), "POST", "/-/reload").status ==
          401);
  REQUIRE(rig.Request("POST", "/-/reload").status == 200);
  // HEAD answers 401 too, without a body.
  REQUIRE(sse::test::HttpRequest(rig.port(), "HEAD", "/metrics").status == 401);

  // curl -u, the way people debug.
  std::string out;
  const std::string url =
      "http://127.0.0.1:" + std::to_string(rig.port()) + "/metrics";
  REQUIRE(Curl({"--fail", "-u", "alice:wonder land", url}, out) == 0);
  REQUIRE_FALSE(sse::test::FindSamples(sse::test::ParseExposition(out),
                                       "muster_service_up", kFake)
                    .empty());
  REQUIRE(Curl({"--write-out", "%{http_code}", "--output", "/dev/null", url},
               out) == 0);
  REQUIRE(out == "401");

  // The hashes are never served.
  auto status = rig.Get("/api/v1/status").body;
  REQUIRE(status.find("$2y$") == std::string::npos);
  REQUIRE(nlohmann::json::parse(status)["web"]["basic_auth"] == true);
}

TEST_CASE("basic auth: the bcrypt cache keeps a scrape cheap",
          "[web_config][auth]") {
  sse::test::TempDir dir;
  const int cost = 12;  // deliberately slow: ~200+ ms per bcrypt
  const std::string web = dir.Write(
      "web.yml",
      "basic_auth_users:\n  alice: " + Htpasswd("alice", "pw", cost) + "\n");
  const auto alice = BasicHeader("alice", "pw");
  ExporterRig rig("services: []\n", RigClient{{}, {{"Authorization", alice}}},
                  {"--web.config.file=" + web});
  using Clock = std::chrono::steady_clock;
  using ms = std::chrono::duration<double, std::milli>;
  // The rig's start-up wait paid the first bcrypt; time a fresh wrong one.
  auto t0 = Clock::now();
  REQUIRE(sse::test::HttpGet(rig.port(), "/metrics",
                             {{"Authorization", BasicHeader("alice", "nope")}})
              .status == 401);
  const double uncached = ms(Clock::now() - t0).count();
  t0 = Clock::now();
  const int n = 20;
  for (int i = 0; i < n; ++i) REQUIRE(rig.Get("/metrics").status == 200);
  const double cached = ms(Clock::now() - t0).count() / n;
  std::printf(
      "basic auth, bcrypt cost %d: a check that runs bcrypt %.1f ms, "
      "an authorized scrape with the cache %.2f ms\n",
      cost, uncached, cached);
  REQUIRE(cached * 5 < uncached);
}

TEST_CASE("basic auth over TLS, and the web config is re-read on SIGHUP",
          "[web_config][auth][tls]") {
  sse::test::TempDir dir;
  const std::string alice_hash = Htpasswd("alice", "pw-1", 5);
  const std::string web = dir.Write(
      "web.yml",
      TlsServerConfig() + "basic_auth_users:\n  alice: " + alice_hash + "\n");
  ExporterRig rig("services: []\n",
                  RigClient{TrustTestCa(),
                            {{"Authorization", BasicHeader("alice", "pw-1")}}},
                  {"--web.config.file=" + web});
  auto https = [&](const std::string& user, const std::string& password) {
    return sse::test::HttpsRequest(
               rig.port(), TrustTestCa(), "GET", "/metrics",
               {{"Authorization", BasicHeader(user, password)}})
        .status;
  };
  REQUIRE(https("alice", "pw-1") == 200);
  REQUIRE(https("carol", "pw-2") == 401);

  // Add a user and reload.
  dir.Write("web.yml", TlsServerConfig() +
                           "basic_auth_users:\n  alice: " + alice_hash +
                           "\n  carol: " + Htpasswd("carol", "pw-2", 5) + "\n");
  rig.process().Signal(SIGHUP);
  REQUIRE(
      sse::test::WaitFor([&] { return https("carol", "pw-2") == 200; }, 10s));

  // A broken web config is rejected whole: the running one stays.
  dir.Write("web.yml",
            TlsServerConfig() + "basic_auth_users:\n  alice: plain-text\n");
  rig.process().Signal(SIGHUP);
  REQUIRE(sse::test::WaitFor(
      [&] {
        auto st = nlohmann::json::parse(rig.Get("/api/v1/status").body, nullptr,
                                        false);
        return !st.is_discarded() && st["config"]["reload_successful"] == false;
      },
      10s));
  auto st = nlohmann::json::parse(rig.Get("/api/v1/status").body);
  CAPTURE(st.dump());
  REQUIRE(st["config"]["last_reload_error"].get<std::string>().find(
              "basic_auth_users.alice: must be a bcrypt hash") !=
          std::string::npos);
  REQUIRE(st["config"]["last_reload_error"].get<std::string>().find(
              "plain-text") == std::string::npos);
  REQUIRE(https("carol", "pw-2") == 200);
  REQUIRE(sse::test::FindSample(
              rig.Scrape(),
              "service_state_exporter_config_last_reload_successful",
              {}) == 0.0);
  REQUIRE(rig.process().log().find("plain-text") == std::string::npos);
}

TEST_CASE("a bad web config fails start-up and --config.check",
          "[web_config]") {
  const auto& pki = SharedPki();
  sse::test::TempDir dir;
  const std::string config = dir.Write("config.yaml", "services: []\n");
  struct Case {
    std::string name, web, expect;
  };
  const std::vector<Case> cases = {
      {"unknown key",
       "tls_server_config:\n  cert_file: " + pki.server.cert +
           "\n  key_file: " + pki.server.key + "\n  ciphers: [x]\n",
       "web.yml:4: tls_server_config.ciphers: unknown key"},
      {"key of another certificate",
       "tls_server_config:\n  cert_file: " + pki.server.cert +
           "\n  key_file: " + pki.client.key + "\n",
       "key values mismatch"},
      {"not a certificate",
       "tls_server_config:\n  cert_file: " + config +
           "\n  key_file: " + pki.server.key + "\n",
       "cannot load certificate"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::string web = dir.Write("web.yml", c.web);
    std::string output;
    REQUIRE(
        sse::test::RunCommand({SSE_BINARY, "--config.file=" + config,
                               "--web.config.file=" + web, "--config.check"},
                              output) == 1);
    CAPTURE(output);
    REQUIRE(output.find(c.expect) != std::string::npos);
    REQUIRE(sse::test::RunCommand({SSE_BINARY, "--config.file=" + config,
                                   "--web.config.file=" + web,
                                   "--web.listen-address=127.0.0.1:0"},
                                  output, 10s) == 1);
    REQUIRE(output.find(c.expect) != std::string::npos);
  }
  std::string output;
  const std::string good = dir.Write("good.yml", TlsServerConfig());
  REQUIRE(sse::test::RunCommand({SSE_BINARY, "--config.file=" + config,
                                 "--web.config.file=" + good, "--config.check"},
                                output) == 0);
  REQUIRE(output.find("good.yml is valid") != std::string::npos);
}

TEST_CASE(
    "basic auth: a crowd sending wrong passwords does not lock out an "
    "authorised scraper",
    "[web_config][auth][abuse]") {
  sse::test::TempDir dir;
  const std::string web = dir.Write(
      "web.yml",
      "basic_auth_users:\n  alice: " + Htpasswd("alice", "pw", 10) + "\n");
  const auto alice = BasicHeader("alice", "pw");
  // The rig's start-up wait verifies (and caches) alice's credentials, as a
  // Prometheus that was scraping before the crowd came would have.
  ExporterRig rig("services: []\n", RigClient{{}, {{"Authorization", alice}}},
                  {"--web.config.file=" + web});
  // More clients than --web.max-connections (512): every connection the
  // server has could be one of them.
  WrongPasswordFlood flood(rig.port(), 550);
  REQUIRE(sse::test::WaitFor([&] { return flood.answers() > 500; }, 10s));
  using Clock = std::chrono::steady_clock;
  int scrapes = 0, ok = 0;
  const auto start = Clock::now();
  while (Clock::now() - start < 8s) {
    ++scrapes;
    // Prometheus' default scrape timeout.
    auto reply = sse::test::HttpRequest(rig.port(), "GET", "/metrics",
                                        {{"Authorization", alice}}, 10s);
    if (reply.status == 200) ++ok;
    std::this_thread::sleep_for(100ms);
  }
  const int answers = flood.answers(), connects = flood.connects();
  std::printf(
      "wrong-password flood of 550 clients: %d answers, %d connections in "
      "%.1f s; authorised scrapes %d of %d\n",
      answers, connects,
      std::chrono::duration<double>(Clock::now() - start).count(), ok, scrapes);
  CAPTURE(answers, connects, scrapes, ok);
  REQUIRE(ok * 10 >= scrapes * 9);
  // The crowd really was served all along: refused fast, not queued.
  REQUIRE(flood.answers() > answers / 2 + 500);
  REQUIRE(rig.process().running());
}

TEST_CASE("TLS: memory taken by 600 abandoned handshakes is given back",
          "[web_config][tls][abuse]") {
  sse::test::TempDir dir;
  const std::string web = dir.Write("web.yml", TlsServerConfig());
  ExporterRig rig("services: []\n", RigClient{TrustTestCa(), {}},
                  {"--web.config.file=" + web});
  const pid_t pid = rig.process().pid();
  const std::string hello = ClientHello();
  // Warm up: a few complete scrapes, so the baseline has what any server
  // keeps once it has served.
  for (int i = 0; i < 5; ++i) REQUIRE(rig.Get("/metrics").status == 200);
  const std::uint64_t baseline = sse::test::ReadRssBytes(pid);
  REQUIRE(baseline > 0);
  std::uint64_t peak = 0;
  for (int round = 0; round < 2; ++round) {
    std::vector<std::unique_ptr<sse::test::RawConnection>> crowd;
    for (int i = 0; i < 300; ++i) {
      crowd.push_back(std::make_unique<sse::test::RawConnection>(rig.port()));
      crowd.back()->Send(hello);
    }
    // Each gets the server's first flight (the server did its share).
    int answered = 0;
    for (auto& c : crowd) {
      if (!c->ReadUntil("\x16\x03", 1, 2s).empty()) ++answered;
    }
    REQUIRE(answered >= 250);
    peak = std::max(peak, sse::test::ReadRssBytes(pid));
    for (auto& c : crowd) c->Reset();
  }
  // Gone; the server closes its side and gives the memory back.
  std::uint64_t after = 0;
  const std::uint64_t allowed = baseline + 8 * 1024 * 1024;
  sse::test::WaitFor(
      [&] {
        after = sse::test::ReadRssBytes(pid);
        return after <= allowed;
      },
      10s);
  std::printf(
      "600 abandoned TLS handshakes: RSS %.1f MB before, %.1f MB at the "
      "peak, %.1f MB after\n",
      baseline / 1e6, peak / 1e6, after / 1e6);
  CAPTURE(baseline, peak, after);
#if !defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in its quarantine: nothing to measure there.
  REQUIRE(after <= allowed);
#endif
  REQUIRE(rig.Get("/metrics").status == 200);
}
