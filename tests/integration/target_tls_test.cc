// Targets over TLS and with credentials, polled by the real binary:
// https:// with the config's tls block, tls_error as unreachable, one
// connection for many polls, and secret files re-read on reload.

#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "exporter_rig.h"
#include "support/fake_service.h"
#include "support/pki.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using sse::test::ExporterRig;
using sse::test::FakeService;
using sse::test::FakeTlsOptions;
using sse::test::SharedPki;
using Labels = std::map<std::string, std::string>;

namespace {

const Labels kSecure{{"service_name", "secure"}, {"service_type", "MCPServer"}};

std::string SecureService(const std::string& url,
                          const std::string& tls_block) {
  return "global:\n  poll_interval: 300ms\n  poll_timeout: 300ms\n"
         "services:\n  - name: secure\n    type: MCPServer\n    source: json\n"
         "    url: " +
         url + "\n" + tls_block;
}

}  // namespace

TEST_CASE("an https target with a client certificate is up, on one connection",
          "[target][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(
      FakeTlsOptions{pki.server.cert, pki.server.key, pki.ca.cert});
  fake.SetState("running");
  ExporterRig rig(SecureService(
      fake.Url("/status"), "    tls:\n      ca_file: " + pki.ca.cert +
                               "\n      cert_file: " + pki.client.cert +
                               "\n      key_file: " + pki.client.key + "\n"));
  REQUIRE(rig.WaitValue("muster_service_up", kSecure, 1));
  REQUIRE(sse::test::WaitFor(
      [&] {
        return rig.Value("service_state_exporter_polls_total",
                         {{"service_name", "secure"}, {"outcome", "ok"}})
                   .value_or(0) >= 6;
      },
      10s));
  REQUIRE(fake.connections() == 1);
  REQUIRE(fake.handshakes() == 1);
  REQUIRE(fake.requests() >= 6);
}

TEST_CASE(
    "a target whose certificate does not verify is unreachable with tls_error",
    "[target][tls]") {
  const auto& pki = SharedPki();
  FakeService fake(FakeTlsOptions{pki.wrong_host.cert, pki.wrong_host.key, ""});
  fake.SetState("running");
  ExporterRig rig(
      SecureService(fake.Url("/status"),
                    "    tls:\n      ca_file: " + pki.ca.cert + "\n"),
      {"--web.enable-lifecycle"});
  Labels state = kSecure;
  state["state"] = "unreachable";
  REQUIRE(rig.WaitValue("muster_service_state", state, 1));
  REQUIRE(rig.Value("service_state_exporter_polls_total",
                    {{"service_name", "secure"}, {"outcome", "tls_error"}})
              .value_or(0) >= 1);
  auto api =
      nlohmann::json::parse(rig.Get("/api/v1/services?name=secure").body);
  REQUIRE(api["services"][0]["last_poll"]["outcome"] == "tls_error");
  REQUIRE(api["services"][0]["last_poll"]["error"].get<std::string>().find(
              "IP address mismatch") != std::string::npos);
  REQUIRE(fake.requests() == 0);

  // server_name fixes it: a reload with the name on the certificate.
  rig.RewriteConfig(SecureService(fake.Url("/status"),
                                  "    tls:\n      ca_file: " + pki.ca.cert +
                                      "\n      server_name: other.example\n"));
  REQUIRE(rig.Request("POST", "/-/reload").status == 200);
  REQUIRE(rig.WaitValue("muster_service_up", kSecure, 1));
  REQUIRE(rig.Value("muster_service_state_transitions_total",
                    {{"service_name", "secure"},
                     {"service_type", "MCPServer"},
                     {"from_state", "unreachable"},
                     {"to_state", "running"}}) == 1.0);
}

TEST_CASE(
    "credentials and headers go with every poll, and their files are re-read "
    "on reload",
    "[target][auth]") {
  FakeService bearer;
  FakeService basic;
  sse::test::TempDir dir;
  dir.Write("token", "tok-1\n");
  dir.Write("password", "pw-1\n");
  const std::string config =
      "global:\n  poll_interval: 100ms\n  poll_timeout: 100ms\n"
      "services:\n"
      "  - name: bearer\n    url: " +
      bearer.Url("/") +
      "\n"
      "    bearer_token_file: " +
      (dir.path() / "token").string() +
      "\n"
      "    headers: {X-Request-Source: sse-test}\n"
      "  - name: basic\n    url: " +
      basic.Url("/") +
      "\n"
      "    basic_auth: {username: probe, password_file: " +
      (dir.path() / "password").string() + "}\n";
  ExporterRig rig(config);
  REQUIRE(sse::test::WaitFor(
      [&] { return bearer.requests() >= 3 && basic.requests() >= 3; }, 10s));
  auto req = bearer.last_request();
  REQUIRE(req.headers.at("authorization") == "Bearer tok-1");
  REQUIRE(req.headers.at("x-request-source") == "sse-test");
  REQUIRE(basic.last_request().headers.at("authorization") ==
          "Basic cHJvYmU6cHctMQ==");

  dir.Write("token", "tok-2\n");
  dir.Write("password", "pw-2\n");
  rig.process().Signal(SIGHUP);
  REQUIRE(sse::test::WaitFor(
      [&] {
        return bearer.last_request().headers.at("authorization") ==
                   "Bearer tok-2" &&
               basic.last_request().headers.at("authorization") ==
                   "Basic cHJvYmU6cHctMg==";
      },
      10s));
  const std::string log = rig.process().log();
  for (const char* secret : {"tok-1", "tok-2", "pw-1", "pw-2", "cHJvYmU6"}) {
    CAPTURE(secret);
    REQUIRE(log.find(secret) == std::string::npos);
  }
}
