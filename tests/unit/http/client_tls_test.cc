// The HTTPS side of the client against a TLS fake service, with
// certificates made by the openssl CLI (tests/support/pki).

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "sse/http/client.h"
#include "sse/probe/prober.h"
#include "sse/probe/source.h"
#include "support/fake_service.h"
#include "support/pki.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using sse::Outcome;
using sse::test::FakeService;
using sse::test::FakeTlsOptions;
using sse::test::SharedPki;

namespace {

struct ClientRig {
  boost::asio::io_context io;
  sse::HttpClient client;
  ClientRig(const std::string& url, sse::HttpClientOptions options)
      : client(io.get_executor(), sse::ParseUrl(url), std::move(options)) {}
  sse::HttpResult Get() {
    sse::HttpResult result;
    boost::asio::co_spawn(io, client.Get(),
                          [&](std::exception_ptr e, sse::HttpResult r) {
                            REQUIRE_FALSE(e);
                            result = std::move(r);
                          });
    io.restart();
    io.run();
    return result;
  }
};

sse::HttpClientOptions Tls(const std::string& ca_file) {
  sse::HttpClientOptions o;
  o.timeout = 5s;
  o.has_tls = true;
  o.tls.ca_file = ca_file;
  return o;
}

FakeTlsOptions Serving(const sse::test::CertFiles& cert,
                       const std::string& client_ca = "") {
  return FakeTlsOptions{cert.cert, cert.key, client_ca};
}

}  // namespace

TEST_CASE("https with a certificate of the configured CA is ok",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.server));
  fake.SetState("running");
  REQUIRE(fake.Url().rfind("https://127.0.0.1:", 0) == 0);
  ClientRig rig(fake.Url("/status"), Tls(pki.ca.cert));
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == Outcome::kOk);
  REQUIRE(r.status == 200);
  REQUIRE(r.body == R"({"state":"running"})");
  REQUIRE(fake.handshakes() == 1);
}

TEST_CASE("https by host name verifies the DNS name and sends SNI",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.server));
  ClientRig rig("https://localhost:" + std::to_string(fake.port()) + "/",
                Tls(pki.ca.cert));
  auto r = rig.Get();
  CAPTURE(r.error);
  // localhost may resolve to ::1 first; the fake listens on 127.0.0.1 and
  // the client tries every resolved address.
  REQUIRE(r.outcome == Outcome::kOk);
  REQUIRE(fake.last_request().headers.at("host") ==
          "localhost:" + std::to_string(fake.port()));
}

TEST_CASE("an unknown CA is tls_error and observed as unreachable",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  auto cert = GENERATE(&sse::test::TestPki::foreign_server,
                       &sse::test::TestPki::self_signed);
  FakeService fake(Serving(pki.*cert));
  ClientRig rig(fake.Url("/status"), Tls(pki.ca.cert));
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == Outcome::kTlsError);
  REQUIRE(r.error.find("certificate verify failed") != std::string::npos);
  REQUIRE(fake.requests() == 0);

  sse::ServiceConfig service;
  service.name = "svc";
  service.source = sse::SourceKind::kJson;
  auto obs = sse::ObserveService(service, r);
  REQUIRE(obs.outcome == Outcome::kTlsError);
  REQUIRE(obs.state == "unreachable");
}

TEST_CASE("verification is on by default: system CAs do not know the test CA",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.server));
  ClientRig rig(fake.Url(), Tls(""));
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == Outcome::kTlsError);
  REQUIRE(r.error.find("unable to get local issuer certificate") !=
          std::string::npos);
}

TEST_CASE("a hostname mismatch is tls_error", "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.wrong_host));
  {
    ClientRig rig(fake.Url(), Tls(pki.ca.cert));
    auto r = rig.Get();
    CAPTURE(r.error);
    REQUIRE(r.outcome == Outcome::kTlsError);
    REQUIRE(r.error.find("IP address mismatch") != std::string::npos);
  }
  {
    ClientRig rig("https://localhost:" + std::to_string(fake.port()) + "/",
                  Tls(pki.ca.cert));
    auto r = rig.Get();
    CAPTURE(r.error);
    REQUIRE(r.outcome == Outcome::kTlsError);
    REQUIRE(r.error.find("hostname mismatch") != std::string::npos);
  }
  {
    // A server certificate for 127.0.0.1, checked against another name.
    FakeService good(Serving(pki.server));
    auto options = Tls(pki.ca.cert);
    options.tls.server_name = "other.example";
    ClientRig rig(good.Url(), options);
    auto r = rig.Get();
    CAPTURE(r.error);
    REQUIRE(r.outcome == Outcome::kTlsError);
  }
}

TEST_CASE("server_name overrides the name that is verified",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.wrong_host));
  auto options = Tls(pki.ca.cert);
  options.tls.server_name = "other.example";
  ClientRig rig(fake.Url(), options);
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == Outcome::kOk);
  // The Host header still names the URL's host.
  REQUIRE(fake.last_request().headers.at("host") ==
          "127.0.0.1:" + std::to_string(fake.port()));
}

TEST_CASE("insecure_skip_verify accepts any certificate",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.self_signed));
  FakeService wrong(Serving(pki.wrong_host));
  auto options = Tls("");
  options.tls.insecure_skip_verify = true;
  ClientRig rig(fake.Url(), options);
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == Outcome::kOk);
  ClientRig rig2(wrong.Url(), options);
  REQUIRE(rig2.Get().outcome == Outcome::kOk);
}

TEST_CASE("a client certificate is sent when the server requires one",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.server, pki.ca.cert));
  fake.SetState("running");
  SECTION("given: ok") {
    auto options = Tls(pki.ca.cert);
    options.tls.cert_file = pki.client.cert;
    options.tls.key_file = pki.client.key;
    ClientRig rig(fake.Url(), options);
    auto r = rig.Get();
    CAPTURE(r.error);
    REQUIRE(r.outcome == Outcome::kOk);
    REQUIRE(r.status == 200);
  }
  SECTION("not given: tls_error") {
    ClientRig rig(fake.Url(), Tls(pki.ca.cert));
    auto r = rig.Get();
    CAPTURE(r.error);
    REQUIRE(r.outcome == Outcome::kTlsError);
    REQUIRE(fake.requests() == 0);
  }
  SECTION("signed by another CA: tls_error") {
    auto options = Tls(pki.ca.cert);
    options.tls.cert_file = pki.foreign_client.cert;
    options.tls.key_file = pki.foreign_client.key;
    ClientRig rig(fake.Url(), options);
    auto r = rig.Get();
    CAPTURE(r.error);
    REQUIRE(r.outcome == Outcome::kTlsError);
    REQUIRE(fake.requests() == 0);
  }
}

TEST_CASE(
    "keep-alive over TLS: one connection and one handshake for many polls",
    "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.server));
  ClientRig rig(fake.Url("/status"), Tls(pki.ca.cert));
  for (int i = 0; i < 5; ++i) {
    auto r = rig.Get();
    CAPTURE(r.error);
    REQUIRE(r.outcome == Outcome::kOk);
  }
  REQUIRE(fake.requests() == 5);
  REQUIRE(fake.connections() == 1);
  REQUIRE(fake.handshakes() == 1);
  REQUIRE(rig.client.connections_opened() == 1);
}

TEST_CASE("a kept-alive connection the server dropped is retried once",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  const bool tls = GENERATE(false, true);
  CAPTURE(tls);
  auto fake = tls ? std::make_unique<FakeService>(Serving(pki.server))
                  : std::make_unique<FakeService>();
  fake->SetHandler([](const sse::test::FakeRequest&) {
    sse::test::FakeResponse r;
    r.body = R"({"state":"running"})";
    r.drop_after = true;  // keep-alive promised, then an abrupt close
    return r;
  });
  ClientRig rig(fake->Url(), tls ? Tls(pki.ca.cert) : sse::HttpClientOptions{});
  for (int i = 0; i < 3; ++i) {
    // Let the server's close arrive before the next poll reuses the socket.
    std::this_thread::sleep_for(50ms);
    auto r = rig.Get();
    CAPTURE(i, r.error);
    REQUIRE(r.outcome == Outcome::kOk);
  }
  REQUIRE(fake->requests() == 3);
  REQUIRE(rig.client.connections_opened() == 3);
}

TEST_CASE("https to a plain HTTP server is tls_error", "[http_client][tls]") {
  FakeService plain;
  ClientRig rig("https://127.0.0.1:" + std::to_string(plain.port()) + "/",
                Tls(SharedPki().ca.cert));
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == Outcome::kTlsError);
}

TEST_CASE("an unreadable CA file makes every poll tls_error",
          "[http_client][tls]") {
  FakeService fake(Serving(SharedPki().server));
  ClientRig rig(fake.Url(), Tls("/nonexistent/ca.pem"));
  for (int i = 0; i < 2; ++i) {
    auto r = rig.Get();
    REQUIRE(r.outcome == Outcome::kTlsError);
    REQUIRE(r.error.rfind("TLS setup:", 0) == 0);
  }
  REQUIRE(fake.connections() <= 2);
}

TEST_CASE("a config's tls block and secret files drive an https poll",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.server, pki.ca.cert));
  sse::test::TempDir dir;
  dir.Write("token", "tok-tls\n");
  auto config = sse::ParseConfig(
      "services:\n"
      "  - name: a\n    url: " +
          fake.Url("/status") +
          "\n"
          "    bearer_token_file: token\n"
          "    headers: {X-Probe: tls}\n"
          "    tls:\n      ca_file: " +
          pki.ca.cert +
          "\n"
          "      cert_file: " +
          pki.client.cert +
          "\n"
          "      key_file: " +
          pki.client.key +
          "\n"
          "      server_name: localhost\n",
      "mem.yaml", dir.path());
  ClientRig rig(fake.Url("/status"), sse::ClientOptionsFor(config.services[0]));
  for (int i = 0; i < 2; ++i) {
    auto r = rig.Get();
    CAPTURE(r.error);
    REQUIRE(r.outcome == Outcome::kOk);
    auto req = fake.last_request();
    REQUIRE(req.headers.at("authorization") == "Bearer tok-tls");
    REQUIRE(req.headers.at("x-probe") == "tls");
  }
  REQUIRE(fake.connections() == 1);
}

TEST_CASE("TLS poll cost: the handshake is paid once per connection",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService plain;
  FakeService secure(Serving(pki.server));
  using Clock = std::chrono::steady_clock;
  auto measure = [](ClientRig& rig, double& first_ms, double& next_ms) {
    auto t0 = Clock::now();
    REQUIRE(rig.Get().outcome == Outcome::kOk);
    first_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::vector<double> times;
    for (int i = 0; i < 21; ++i) {
      t0 = Clock::now();
      REQUIRE(rig.Get().outcome == Outcome::kOk);
      times.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    next_ms = times[times.size() / 2];
  };
  ClientRig plain_rig(plain.Url(), sse::HttpClientOptions{});
  ClientRig tls_rig(secure.Url(), Tls(pki.ca.cert));
  double plain_first, plain_next, tls_first, tls_next;
  measure(plain_rig, plain_first, plain_next);
  measure(tls_rig, tls_first, tls_next);
  std::printf(
      "poll cost (ms): plain first %.3f, kept-alive median %.3f; "
      "TLS first (handshake) %.3f, kept-alive median %.3f\n",
      plain_first, plain_next, tls_first, tls_next);
  REQUIRE(secure.handshakes() == 1);
  REQUIRE(secure.connections() == 1);
}

TEST_CASE("rotated certificate files are used by the next connection",
          "[http_client][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(Serving(pki.server, pki.ca.cert));
  sse::test::TempDir dir;
  auto copy = [&](const std::string& from, const std::string& name) {
    std::filesystem::copy_file(
        from, dir.path() / name,
        std::filesystem::copy_options::overwrite_existing);
  };
  // Start with a client certificate the server does not accept.
  copy(pki.foreign_client.cert, "client.pem");
  copy(pki.foreign_client.key, "client.key");
  auto options = Tls(pki.ca.cert);
  options.tls.cert_file = (dir.path() / "client.pem").string();
  options.tls.key_file = (dir.path() / "client.key").string();
  ClientRig rig(fake.Url(), options);
  REQUIRE(rig.Get().outcome == Outcome::kTlsError);
  // The files are replaced (as cert-manager or a Secret update does).
  std::this_thread::sleep_for(20ms);
  copy(pki.client.cert, "client.pem");
  copy(pki.client.key, "client.key");
  auto r = rig.Get();
  CAPTURE(r.error);
  REQUIRE(r.outcome == Outcome::kOk);
  // Unchanged files: the kept-alive connection and its context stay.
  REQUIRE(rig.Get().outcome == Outcome::kOk);
  REQUIRE(fake.handshakes() == 1);
}
