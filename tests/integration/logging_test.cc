// The exporter's log, read from the real binary: one info line per state
// commit, a dead target warns once and then stays at debug, and
// --log.format=json writes one JSON object per line.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "exporter_rig.h"
#include "support/fake_service.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using sse::test::ExporterRig;
using sse::test::FakeService;
using Fields = std::map<std::string, std::string>;

namespace {

// Parses one logfmt line (key=value, values optionally quoted with \"
// escapes). Throws on a malformed line.
Fields ParseLogfmt(const std::string& line) {
  Fields fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    std::size_t eq = line.find('=', i);
    if (eq == std::string::npos) throw std::runtime_error("no '=' in: " + line);
    std::string key = line.substr(i, eq - i);
    std::string value;
    i = eq + 1;
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          value += line[i] == 'n' ? '\n' : line[i];
        } else {
          value += line[i];
        }
      }
      if (i >= line.size())
        throw std::runtime_error("unterminated value in: " + line);
      ++i;
    } else {
      while (i < line.size() && line[i] != ' ') value += line[i++];
    }
    fields[key] = value;
  }
  return fields;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<Fields> ParseLog(const std::string& text, bool json) {
  std::vector<Fields> out;
  for (const auto& line : Lines(text)) {
    CAPTURE(line);
    if (json) {
      auto j = nlohmann::json::parse(line);  // throws if a line is not JSON
      REQUIRE(j.is_object());
      Fields f;
      for (auto& [k, v] : j.items()) {
        REQUIRE(v.is_string());
        f[k] = v.get<std::string>();
      }
      out.push_back(std::move(f));
    } else {
      out.push_back(ParseLogfmt(line));
    }
  }
  return out;
}

std::vector<Fields> Matching(const std::vector<Fields>& log,
                             const Fields& want) {
  std::vector<Fields> out;
  for (const auto& f : log) {
    bool match = true;
    for (const auto& [k, v] : want) {
      auto it = f.find(k);
      if (it == f.end() || it->second != v) match = false;
    }
    if (match) out.push_back(f);
  }
  return out;
}

}  // namespace

TEST_CASE("log: one info line per commit, and a dead target warns once",
          "[log]") {
  const bool json = GENERATE(false, true);
  CAPTURE(json);
  FakeService fake;
  fake.SetState("running");
  // FreePort: a port nobody listens on (refused connections).
  const std::uint16_t dead_port = sse::test::FreePort();
  sse::test::TempDir secrets;
  secrets.Write("token", "tok-LOGGED-NEVER\n");
  const std::string config =
      "global:\n  poll_interval: 100ms\n  poll_timeout: 100ms\n"
      "services:\n"
      "  - name: live\n    type: MCPServer\n    source: json\n    url: " +
      fake.Url("/status") +
      "\n    bearer_token_file: " + (secrets.path() / "token").string() +
      "\n"
      "  - name: dead\n    type: Database\n    url: http://127.0.0.1:" +
      std::to_string(dead_port) + "/health\n";
  ExporterRig rig(config, {json ? "--log.format=json" : "--log.format=logfmt"});
  const std::map<std::string, std::string> live{{"service_name", "live"},
                                                {"service_type", "MCPServer"}};
  REQUIRE(rig.WaitValue("muster_service_up", live, 1));
  fake.SetState("failed");
  REQUIRE(rig.WaitValue("muster_service_up", live, 0));
  fake.SetState("running");
  REQUIRE(rig.WaitValue("muster_service_up", live, 1));
  // Let the dead target fail many times.
  REQUIRE(sse::test::WaitFor(
      [&] {
        return rig.Value(
                      "service_state_exporter_polls_total",
                      {{"service_name", "dead"}, {"outcome", "connect_error"}})
                   .value_or(0) >= 10;
      },
      10s));
  REQUIRE(rig.process().Stop() == 0);
  const std::string text = rig.process().log();
  CAPTURE(text.substr(0, 4000));
  const auto log = ParseLog(text, json);

  // Every line has ts, level and msg.
  for (const auto& f : log) {
    REQUIRE(f.count("ts") == 1);
    REQUIRE(f.count("level") == 1);
    REQUIRE(f.count("msg") == 1);
  }
  // Commits of "live": the first observation, then two changes; one info
  // line each, with service, type, from and to.
  auto initial = Matching(log, {{"msg", "initial state"}, {"service", "live"}});
  REQUIRE(initial.size() == 1);
  REQUIRE(initial[0] == Fields{{"ts", initial[0]["ts"]},
                               {"level", "info"},
                               {"msg", "initial state"},
                               {"service", "live"},
                               {"type", "MCPServer"},
                               {"from", "unknown"},
                               {"to", "running"}});
  auto changes = Matching(log, {{"msg", "state change"}, {"service", "live"}});
  REQUIRE(changes.size() == 2);
  REQUIRE(changes[0]["level"] == "info");
  REQUIRE(changes[0]["type"] == "MCPServer");
  REQUIRE(changes[0]["from"] == "running");
  REQUIRE(changes[0]["to"] == "failed");
  REQUIRE(changes[1]["from"] == "failed");
  REQUIRE(changes[1]["to"] == "running");

  // "dead": unreachable from the start. Its first failure is the one warn
  // line, every later failure is debug; one info line for its commit.
  auto failures = Matching(log, {{"msg", "poll failed"}, {"service", "dead"}});
  REQUIRE(failures.size() >= 10);
  REQUIRE(failures[0]["level"] == "warn");
  REQUIRE(failures[0]["outcome"] == "connect_error");
  REQUIRE(failures[0]["state"] == "unreachable");
  for (std::size_t i = 1; i < failures.size(); ++i) {
    CAPTURE(i);
    REQUIRE(failures[i]["level"] == "debug");
  }
  REQUIRE(Matching(log, {{"level", "warn"}, {"service", "dead"}}).size() == 1);
  auto dead_commit =
      Matching(log, {{"msg", "initial state"}, {"service", "dead"}});
  REQUIRE(dead_commit.size() == 1);
  REQUIRE(dead_commit[0]["to"] == "unreachable");
  REQUIRE(dead_commit[0]["type"] == "Database");
  // No line at warn or above for "live", and no error at all.
  REQUIRE(Matching(log, {{"level", "warn"}, {"service", "live"}}).empty());
  REQUIRE(Matching(log, {{"level", "error"}}).empty());
  REQUIRE(text.find("tok-LOGGED-NEVER") == std::string::npos);
}

TEST_CASE("log: at the default level a dead target writes one line", "[log]") {
  // FreePort: a port nobody listens on (refused connections).
  const std::uint16_t dead_port = sse::test::FreePort();
  ExporterRig rig(
      "global:\n  poll_interval: 100ms\n  poll_timeout: 100ms\n"
      "services:\n  - name: dead\n    url: http://127.0.0.1:" +
          std::to_string(dead_port) + "/\n",
      {"--log.level=info"});
  REQUIRE(sse::test::WaitFor(
      [&] {
        return rig.Value(
                      "service_state_exporter_polls_total",
                      {{"service_name", "dead"}, {"outcome", "connect_error"}})
                   .value_or(0) >= 20;
      },
      10s));
  REQUIRE(rig.process().Stop() == 0);
  const auto log = ParseLog(rig.process().log(), false);
  REQUIRE(Matching(log, {{"service", "dead"}, {"msg", "poll failed"}}).size() ==
          1);
  REQUIRE(Matching(log, {{"level", "debug"}}).empty());
}
