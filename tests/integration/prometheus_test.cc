#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "exporter_rig.h"
#include "prometheus_rig.h"
#include "support/fake_service.h"
#include "support/pki.h"
#include "support/test_util.h"

using namespace std::chrono_literals;

namespace {

using sse::test::PromApi;
using sse::test::StartPrometheus;

// State ("pending", "firing") of `alert` for service `name`, or "".
std::string AlertState(std::uint16_t port, const std::string& alert,
                       const std::string& name) {
  auto data = PromApi(port, "/api/v1/alerts");
  if (data.is_null()) return "";
  for (const auto& a : data["alerts"]) {
    if (a["labels"]["alertname"] == alert &&
        a["labels"]["service_name"] == name) {
      return a["state"].get<std::string>();
    }
  }
  return "";
}

std::optional<double> InstantValue(std::uint16_t port,
                                   const std::string& encoded_query) {
  auto data = PromApi(port, "/api/v1/query?query=" + encoded_query);
  if (data.is_null() || data["result"].size() != 1) return std::nullopt;
  return std::stod(data["result"][0]["value"][1].get<std::string>());
}

}  // namespace

TEST_CASE("a real Prometheus scrapes the exporter and sees muster_service_up",
          "[prometheus]") {
  sse::test::FakeService fake;
  fake.SetState("connected");
  sse::test::ExporterRig rig(
      "global:\n  poll_interval: 200ms\n  poll_timeout: 200ms\n"
      "services:\n  - name: fake\n    type: MCPServer\n    url: " +
      fake.Url("/status") + "\n    source: json\n");

  sse::test::TempDir dir;
  const std::uint16_t prom_port = sse::test::FreePort();
  auto prom_process = StartPrometheus(
      dir, prom_port,
      "scrape_configs:\n  - job_name: sse\n    static_configs:\n"
      "      - targets: ['127.0.0.1:" +
          std::to_string(rig.port()) + "']\n");
  sse::test::Process& prom = *prom_process;

  // The fake service's series, up, through Prometheus' query API.
  bool found = sse::test::WaitFor(
      [&] {
        return InstantValue(prom_port,
                            "muster_service_up%7Bservice_name%3D%22fake%22%2C"
                            "service_type%3D%22MCPServer%22%7D") == 1.0;
      },
      45s);
  CAPTURE(prom.log());
  REQUIRE(found);

  // The scrape itself is healthy: `up` is 1 for the exporter's target, and
  // Prometheus negotiated OpenMetrics (its default Accept header prefers it),
  // so this also proves our OpenMetrics output parses.
  auto up = sse::test::HttpGet(prom_port,
                               "/api/v1/query?query=up%7Bjob%3D%22sse%22%7D");
  auto doc = nlohmann::json::parse(up.body);
  REQUIRE(doc["data"]["result"][0]["value"][1] == "1");
  auto targets = nlohmann::json::parse(
      sse::test::HttpGet(prom_port, "/api/v1/targets").body);
  CAPTURE(targets.dump());
  REQUIRE(targets["data"]["activeTargets"][0]["health"] == "up");
  REQUIRE(targets["data"]["activeTargets"][0]["lastError"] == "");
  REQUIRE(prom.Stop() == 0);
}

TEST_CASE("a real Prometheus scrapes over TLS with basic auth",
          "[prometheus][web_config]") {
  const std::string htpasswd = sse::test::FindProgram("htpasswd");
  REQUIRE_FALSE(htpasswd.empty());
  const auto& pki = sse::test::SharedPki();
  sse::test::TempDir dir;
  std::string hash;
  REQUIRE(sse::test::RunCommand({htpasswd, "-nbBC", "10", "prom", "scrape-pw"},
                                hash) == 0);
  hash = hash.substr(hash.find(':') + 1);
  while (!hash.empty() && (hash.back() == '\n' || hash.back() == '\r'))
    hash.pop_back();
  const std::string web = dir.Write(
      "web.yml", "tls_server_config:\n  cert_file: " + pki.server.cert +
                     "\n  key_file: " + pki.server.key +
                     "\nbasic_auth_users:\n  prom: " + hash + "\n");
  const std::string password_file = dir.Write("password", "scrape-pw\n");

  sse::test::FakeService fake;
  fake.SetState("connected");
  sse::test::ClientTls tls;
  tls.ca_file = pki.ca.cert;
  sse::test::ExporterRig rig(
      "global:\n  poll_interval: 200ms\n  poll_timeout: 200ms\n"
      "services:\n  - name: fake\n    type: MCPServer\n    url: " +
          fake.Url("/status") + "\n    source: json\n",
      sse::test::RigClient{tls,
                           {{"Authorization", "Basic cHJvbTpzY3JhcGUtcHc="}}},
      {"--web.config.file=" + web});

  const std::uint16_t prom_port = sse::test::FreePort();
  auto prom_process = StartPrometheus(
      dir, prom_port,
      "scrape_configs:\n  - job_name: sse\n    scheme: https\n"
      "    tls_config:\n      ca_file: " +
          pki.ca.cert +
          "\n      server_name: localhost\n"
          "    basic_auth:\n      username: prom\n      password_file: " +
          password_file +
          "\n"
          "    static_configs:\n      - targets: ['127.0.0.1:" +
          std::to_string(rig.port()) + "']\n");
  sse::test::Process& prom = *prom_process;
  // The fake service's series, up, through Prometheus' query API.
  bool found = sse::test::WaitFor(
      [&] {
        return InstantValue(prom_port,
                            "muster_service_up%7Bservice_name%3D%22fake%22%2C"
                            "service_type%3D%22MCPServer%22%7D") == 1.0;
      },
      45s);
  CAPTURE(prom.log());
  auto targets = nlohmann::json::parse(
      sse::test::HttpGet(prom_port, "/api/v1/targets").body);
  CAPTURE(targets.dump());
  REQUIRE(found);
  REQUIRE(targets["data"]["activeTargets"][0]["health"] == "up");
  REQUIRE(
      targets["data"]["activeTargets"][0]["scrapeUrl"].get<std::string>().rfind(
          "https://", 0) == 0);
  REQUIRE(prom.Stop() == 0);
}

// Issue 5, point 4: the shipped alert rules (deploy/prometheus/rules.yml,
// `for:` shortened to 5s) in a real Prometheus that scrapes the exporter,
// which polls a fake service the test takes down.
TEST_CASE("end to end: the shipped rules page for a service that goes down",
          "[prometheus][alerts]") {
  sse::test::FakeService fake;
  fake.SetState("connected");
  sse::test::ExporterRig rig(
      "global:\n  poll_interval: 200ms\n  poll_timeout: 200ms\n"
      "services:\n  - name: fake\n    type: MCPServer\n    url: " +
      fake.Url("/status") + "\n    source: json\n");

  sse::test::TempDir dir;
  const std::string rules_file = sse::test::ShippedRulesFile(dir);
  const std::uint16_t prom_port = sse::test::FreePort();
  auto prom_process = StartPrometheus(
      dir, prom_port,
      "rule_files: ['" + rules_file +
          "']\n"
          "scrape_configs:\n  - job_name: sse\n    static_configs:\n"
          "      - targets: ['127.0.0.1:" +
          std::to_string(rig.port()) + "']\n");
  sse::test::Process& prom = *prom_process;
  CAPTURE(prom.log());

  // Up, and the rules loaded and evaluated without the alert.
  REQUIRE(sse::test::WaitFor(
      [&] {
        return InstantValue(
                   prom_port,
                   "muster_service_up%7Bservice_name%3D%22fake%22%7D") == 1.0;
      },
      45s));
  auto groups = PromApi(prom_port, "/api/v1/rules");
  REQUIRE(groups.dump().find("MusterServiceDown") != std::string::npos);
  REQUIRE(AlertState(prom_port, "MusterServiceDown", "fake").empty());

  // Down: pending first (the `for:` clause), then firing.
  fake.SetState("failed");
  std::vector<std::string> seen;
  REQUIRE(sse::test::WaitFor(
      [&] {
        std::string state = AlertState(prom_port, "MusterServiceDown", "fake");
        if (!state.empty() && (seen.empty() || seen.back() != state))
          seen.push_back(state);
        return state == "firing";
      },
      45s));
  REQUIRE(seen == std::vector<std::string>{"pending", "firing"});

  // Back up: the alert resolves, and increase() shows both flips. The
  // from/to counter of the first flip (connected -> failed) appears already
  // at 1, which increase() cannot see; its reverse pair was
  // exported at 0 then, so the way back counts, and changes_total, there
  // from the start, counts both.
  fake.SetState("connected");
  REQUIRE(sse::test::WaitFor(
      [&] {
        return AlertState(prom_port, "MusterServiceDown", "fake").empty();
      },
      30s));
  const std::string back =
      "increase(muster_service_state_transitions_total%7Bservice_name%3D%"
      "22fake%22%2C"
      "from_state%3D%22failed%22%2Cto_state%3D%22connected%22%7D%5B1m%5D)";
  const std::string changes =
      "increase(muster_service_state_changes_total%7Bservice_name%3D%22fake%22%"
      "7D%5B1m%5D)";
  std::optional<double> backs, all;
  REQUIRE(sse::test::WaitFor(
      [&] {
        backs = InstantValue(prom_port, back);
        all = InstantValue(prom_port, changes);
        return backs && *backs >= 0.9 && all && *all >= 1.9;
      },
      20s));
  CAPTURE(*backs, *all);
  REQUIRE(*backs < 2.0);  // extrapolation stretches 1 a little, never to 2
  REQUIRE(*all < 3.0);
  // The exporter's own counters agree exactly.
  for (auto [from, to] :
       {std::pair{"connected", "failed"}, std::pair{"failed", "connected"}}) {
    REQUIRE(rig.Value("muster_service_state_transitions_total",
                      {{"service_name", "fake"},
                       {"service_type", "MCPServer"},
                       {"from_state", from},
                       {"to_state", to}}) == 1.0);
  }

  // Stopped on purpose does not page: down, but the alert never even goes
  // pending, for well past its `for:`.
  fake.SetState("stopped");
  REQUIRE(sse::test::WaitFor(
      [&] {
        return InstantValue(
                   prom_port,
                   "muster_service_up%7Bservice_name%3D%22fake%22%7D") == 0.0;
      },
      20s));
  const auto quiet_until = std::chrono::steady_clock::now() + 8s;
  while (std::chrono::steady_clock::now() < quiet_until) {
    REQUIRE(AlertState(prom_port, "MusterServiceDown", "fake").empty());
    std::this_thread::sleep_for(200ms);
  }
  REQUIRE(prom.Stop() == 0);
}
