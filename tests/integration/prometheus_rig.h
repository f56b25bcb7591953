#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace sse::test {

// A real Prometheus on 127.0.0.1 (Debian's), scraping and evaluating every
// second; `rest` is the YAML after its global block (scrape_configs, and
// rule_files if any). Stopped by PID with the returned Process. Its `port`
// comes from FreePort: Prometheus, not the exporter, binds it, and it does
// not log the port it got when given port 0.
inline std::unique_ptr<Process> StartPrometheus(const TempDir& dir,
                                                std::uint16_t port,
                                                const std::string& rest) {
  const std::string prometheus = FindProgram("prometheus");
  REQUIRE_FALSE(prometheus.empty());
  const std::string config = dir.Write(
      "prometheus.yml",
      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n" + rest);
  return std::make_unique<Process>(
      std::vector<std::string>{
          prometheus, "--config.file=" + config,
          "--storage.tsdb.path=" + (dir.path() / "data").string(),
          "--web.listen-address=127.0.0.1:" + std::to_string(port)},
      (dir.path() / "prometheus.log").string());
}

// A query through Prometheus' HTTP API; null on any failure.
inline nlohmann::json PromApi(std::uint16_t port, const std::string& target) {
  auto reply = HttpGet(port, target);
  if (reply.status != 200) return nullptr;
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  if (doc.is_discarded() || doc["status"] != "success") return nullptr;
  return doc["data"];
}

// The shipped alert rules (deploy/prometheus/rules.yml) with every `for:`
// shortened to 5s, written to `dir`; returns the file.
inline std::string ShippedRulesFile(const TempDir& dir) {
  std::ifstream in(SSE_SOURCE_DIR "/deploy/prometheus/rules.yml");
  REQUIRE(in);
  std::string rules((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  const std::regex for_clause(R"(for: [0-9]+[smh])");
  REQUIRE(std::regex_search(rules, for_clause));
  return dir.Write("rules.yml",
                   std::regex_replace(rules, for_clause, "for: 5s"));
}

}  // namespace sse::test
