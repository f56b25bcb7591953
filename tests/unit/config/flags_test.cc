#include "sse/config/flags.h"

#include <catch2/catch.hpp>

TEST_CASE("flags parse in both forms", "[flags]") {
  auto f = sse::ParseFlags({"--config.file=/etc/x.yaml", "--web.listen-address",
                            "127.0.0.1:9999", "--web.enable-lifecycle",
                            "--log.level=debug", "--log.format", "json"});
  REQUIRE(f.config_file == "/etc/x.yaml");
  REQUIRE(f.listen_address == "127.0.0.1:9999");
  REQUIRE(f.enable_lifecycle);
  REQUIRE(f.log_level == sse::LogLevel::kDebug);
  REQUIRE(f.log_format == sse::LogFormat::kJson);
  REQUIRE(f.telemetry_path == "/metrics");
  REQUIRE(f.web_config_file.empty());
  REQUIRE(sse::ParseFlags({"--web.config.file=/etc/web.yml"}).web_config_file ==
          "/etc/web.yml");
}

TEST_CASE("defaults follow the README", "[flags]") {
  auto f = sse::ParseFlags({});
  REQUIRE(f.listen_address == ":9810");
  REQUIRE(f.telemetry_path == "/metrics");
  REQUIRE_FALSE(f.enable_lifecycle);
}

TEST_CASE("boolean flags accept values and negation", "[flags]") {
  REQUIRE_FALSE(
      sse::ParseFlags({"--web.enable-lifecycle=false"}).enable_lifecycle);
  REQUIRE_FALSE(
      sse::ParseFlags({"--web.enable-lifecycle", "--no-web.enable-lifecycle"})
          .enable_lifecycle);
  REQUIRE(sse::ParseFlags({"--config.check"}).config_check);
}

TEST_CASE("bad flags name the flag", "[flags]") {
  REQUIRE_THROWS_WITH(sse::ParseFlags({"--config.fil=x"}),
                      Catch::Contains("--config.fil"));
  REQUIRE_THROWS_WITH(sse::ParseFlags({"--log.level=loud"}),
                      Catch::Contains("--log.level"));
  REQUIRE_THROWS_WITH(sse::ParseFlags({"--config.file"}),
                      Catch::Contains("needs a value"));
  REQUIRE_THROWS_WITH(sse::ParseFlags({"--web.telemetry-path=metrics"}),
                      Catch::Contains("must start with /"));
  REQUIRE_THROWS_WITH(sse::ParseFlags({"stray"}), Catch::Contains("stray"));
}

TEST_CASE("help lists every flag", "[flags]") {
  std::string help = sse::HelpText();
  for (const char* flag :
       {"--config.file", "--config.check", "--web.listen-address",
        "--web.telemetry-path", "--web.config.file", "--web.enable-lifecycle",
        "--storage.state-file", "--log.level", "--log.format", "--version"}) {
    REQUIRE(help.find(flag) != std::string::npos);
  }
}

TEST_CASE("web server limits are flags", "[flags]") {
  auto defaults = sse::ParseFlags({});
  REQUIRE(defaults.web_read_timeout == std::chrono::seconds(30));
  REQUIRE(defaults.web_write_timeout == std::chrono::seconds(60));
  REQUIRE(defaults.web_max_connections == 512);
  auto f = sse::ParseFlags({"--web.read-timeout=1s", "--web.write-timeout",
                            "1m30s", "--web.max-connections=8"});
  REQUIRE(f.web_read_timeout == std::chrono::seconds(1));
  REQUIRE(f.web_write_timeout == std::chrono::seconds(90));
  REQUIRE(f.web_max_connections == 8);
  REQUIRE_THROWS_WITH(sse::ParseFlags({"--web.read-timeout=0s"}),
                      Catch::Contains("--web.read-timeout"));
  REQUIRE_THROWS_WITH(sse::ParseFlags({"--web.write-timeout=soon"}),
                      Catch::Contains("--web.write-timeout"));
  REQUIRE_THROWS_WITH(sse::ParseFlags({"--web.max-connections=0"}),
                      Catch::Contains("--web.max-connections"));
  REQUIRE_THROWS_WITH(sse::ParseFlags({"--web.max-connections=-1"}),
                      Catch::Contains("positive integer"));
  std::string help = sse::HelpText();
  for (const char* flag :
       {"--web.read-timeout", "--web.write-timeout", "--web.max-connections"}) {
    REQUIRE(help.find(flag) != std::string::npos);
  }
}
