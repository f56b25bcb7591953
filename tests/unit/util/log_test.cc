#include "sse/util/log.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

TEST_CASE("logfmt quotes and escapes values", "[log]") {
  std::string line = sse::FormatLogLine(
      sse::LogFormat::kLogfmt, sse::LogLevel::kInfo, "state change",
      {{"service", "a b"}, {"to", "x\"y\nz"}, {"plain", "ok"}}, "T");
  REQUIRE(
      line ==
      R"(ts=T level=info msg="state change" service="a b" to="x\"y\nz" plain=ok)");
}

TEST_CASE("json lines are valid JSON with every field", "[log]") {
  std::string line = sse::FormatLogLine(
      sse::LogFormat::kJson, sse::LogLevel::kWarn, "poll failed",
      {{"service", "s\"1"}, {"err", "bad\xff"}}, "T");
  auto j = nlohmann::json::parse(line);
  REQUIRE(j["level"] == "warn");
  REQUIRE(j["msg"] == "poll failed");
  REQUIRE(j["service"] == "s\"1");
  REQUIRE(line.find('\n') == std::string::npos);
}

TEST_CASE("levels and formats parse", "[log]") {
  sse::LogLevel level;
  REQUIRE(sse::ParseLogLevel("warn", level));
  REQUIRE(level == sse::LogLevel::kWarn);
  REQUIRE_FALSE(sse::ParseLogLevel("verbose", level));
  sse::LogFormat format;
  REQUIRE(sse::ParseLogFormat("json", format));
  REQUIRE_FALSE(sse::ParseLogFormat("xml", format));
}
