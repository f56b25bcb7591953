// --web.config.file against the real binary: TLS (server certificates,
// client certificates, minimum version), bcrypt basic auth on every
// endpoint, reload, and start-up failures. Certificates come from the
// openssl CLI, bcrypt hashes from htpasswd, and curl is one of the clients.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "exporter_rig.h"
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
  // base64 via the openssl CLI would be one more process; this is short.
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (unsigned char c : in) {
    v = (v << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kTable[(v >> bits) & 63];
    }
  }
  if (bits > 0) out += kTable[(v << (6 - bits)) & 63];
  while (out.size() % 4 != 0) out += '=';
  return "Basic " + out;
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
