#include "sse/config/config.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "support/test_util.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
std::string DataDir() { return SSE_TEST_DATA_DIR "/config"; }

// The fixture's expected message: its first line is `# expect: <text>`;
// empty if there is no such line or no text after it.
std::string ExpectedMessage(const fs::path& file) {
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  const std::string prefix = "# expect: ";
  if (first.rfind(prefix, 0) != 0) return "";
  return first.substr(prefix.size());
}
}  // namespace

// Every fixture in one pass (no sections: one failure does not hide the
// others): each is rejected with its own expected message, after its path.
TEST_CASE("every invalid config is rejected with file, line and key",
          "[config]") {
  std::vector<fs::path> fixtures;
  for (const auto& entry : fs::directory_iterator(DataDir())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("invalid-", 0) == 0) {
      fixtures.push_back(entry.path());
    } else if (entry.path().extension() == ".yaml") {
      // A config fixture named otherwise would be checked by nothing.
      CAPTURE(name);
      CHECK(name.rfind("valid-", 0) == 0);
    }
  }
  std::sort(fixtures.begin(), fixtures.end());
  // As many as there were when this was written: a lost fixture fails.
  CHECK(fixtures.size() >= 54);
  for (const auto& path : fixtures) {
    const std::string name = path.filename().string();
    INFO("fixture " << name);
    const std::string expected = ExpectedMessage(path);
    // A fixture must say what it expects.
    CHECK_FALSE(expected.empty());
    if (expected.empty()) continue;
    std::string message;
    try {
      sse::LoadConfigFile(path.string());
      FAIL_CHECK("not rejected: " << name);
      continue;
    } catch (const sse::ConfigError& e) {
      message = e.what();
    }
    INFO("message: " << message);
    INFO("expected: " << expected);
    // The message starts with the path of the file, then :line: key.
    CHECK(message.rfind(path.string(), 0) == 0);
    CHECK(message.find(expected) != std::string::npos);
  }
}

TEST_CASE("a full valid config applies defaults and overrides", "[config]") {
  sse::Config c = sse::LoadConfigFile(DataDir() + "/valid-full.yaml");
  REQUIRE(c.global.metric_namespace == "acme");
  REQUIRE(c.global.poll_interval == 1min);
  REQUIRE(c.global.max_body_bytes == 512 * 1024);
  REQUIRE(c.services.size() == 3);

  const auto& mcp = c.services[0];
  REQUIRE(mcp.type == "MCPServer");
  REQUIRE(mcp.source == sse::SourceKind::kJson);
  REQUIRE(mcp.state_pointer == "/health/state");
  REQUIRE(mcp.state_map.at("UP") == "running");
  REQUIRE(mcp.keep_case);
  REQUIRE(mcp.interval == 5s);
  REQUIRE(mcp.timeout == 2s);
  REQUIRE(mcp.transition_after == 2);
  REQUIRE(mcp.up_states ==
          std::vector<std::string>{"running", "connected", "ok"});
  REQUIRE(mcp.url.host == "127.0.0.1");
  REQUIRE(mcp.url.port == "8080");
  REQUIRE(mcp.url.target == "/status?verbose=1");
  REQUIRE(mcp.url.host_header == "127.0.0.1:8080");
  REQUIRE(mcp.bearer_token.Reveal() == "hunter2-secret-token");
  REQUIRE(mcp.headers.size() == 1);

  const auto& act = c.services[1];
  REQUIRE(act.type == "service");
  REQUIRE(act.source == sse::SourceKind::kHttpStatus);
  REQUIRE(act.url.host == "::1");
  REQUIRE(act.url.host_header == "[::1]:8443");
  REQUIRE(act.status_map.at("503") == "stopped");
  REQUIRE(act.follow_redirects);
  REQUIRE(act.has_basic_auth);
  REQUIRE(act.basic_auth.password.Reveal() == "s3cr3t-password");
  REQUIRE(act.has_tls);
  REQUIRE(act.tls.insecure_skip_verify);
  REQUIRE(act.interval == 1min);
  REQUIRE(act.timeout == 10s);

  const auto& def = c.services[2];
  REQUIRE(def.url.port == "80");
  REQUIRE(def.url.target == "/");
  REQUIRE(def.url.host_header == "example.com");
  REQUIRE(def.max_states == 8);
}

TEST_CASE("defaults are those the README documents", "[config]") {
  sse::Config c = sse::ParseConfig(
      "services:\n  - name: a\n    url: http://h/\n", "mem.yaml", ".");
  REQUIRE(c.global.metric_namespace == "muster");
  REQUIRE(c.global.poll_interval == 15s);
  REQUIRE(c.global.poll_timeout == 5s);
  REQUIRE(c.global.up_states ==
          std::vector<std::string>{"running", "connected"});
  REQUIRE(c.global.transition_after == 1);
  REQUIRE(c.global.max_body_bytes == 1024 * 1024);
  REQUIRE(c.global.max_states_per_service == 16);
  REQUIRE(c.services[0].state_pointer == "/state");
  REQUIRE_FALSE(c.services[0].follow_redirects);
}

TEST_CASE("lists, file_sd and http_sd parse with their defaults", "[config]") {
  sse::Config c = sse::LoadConfigFile(DataDir() + "/valid-fleet.yaml");
  REQUIRE(c.lists.size() == 2);
  REQUIRE(c.lists[0].kind == sse::ListKind::kJsonList);
  REQUIRE(c.lists[0].default_type == "MCPServer");
  REQUIRE(c.lists[0].absent_after == 3);
  REQUIRE(c.lists[0].name_field == "name");
  REQUIRE(c.lists[0].type_field == "service_type");
  REQUIRE(c.lists[0].state_field == "state");
  REQUIRE(c.lists[1].kind == sse::ListKind::kMcp);
  REQUIRE(c.lists[1].tool == "core_service_list");
  REQUIRE(c.lists[1].arguments == "{}");
  REQUIRE(c.lists[0].max_services == 10000);
  REQUIRE(c.lists[1].poll.bearer_token.Reveal() == "hunter2-secret-token");
  REQUIRE(c.file_sd.size() == 1);
  REQUIRE(c.file_sd[0].files[0] == DataDir() + "/targets/*.json");
  REQUIRE(c.file_sd[0].path == "/healthz");
  REQUIRE(c.http_sd.size() == 1);
  REQUIRE(c.http_sd[0].refresh_interval == 60s);
  REQUIRE(c.http_sd[0].service.source == sse::SourceKind::kJson);
}

TEST_CASE("an empty config is valid", "[config]") {
  sse::Config c = sse::LoadConfigFile(DataDir() + "/valid-empty.yaml");
  REQUIRE(c.services.empty());
}

TEST_CASE("the bundled configs are valid", "[config]") {
  for (const char* name : {"example.yaml"}) {
    CAPTURE(name);
    REQUIRE_NOTHROW(sse::LoadConfigFile(std::string(SSE_TEST_DATA_DIR) +
                                        "/../../config/" + name));
  }
}

TEST_CASE("a missing file is a ConfigError naming the file", "[config]") {
  REQUIRE_THROWS_WITH(sse::LoadConfigFile("/nonexistent/x.yaml"),
                      Catch::Contains("/nonexistent/x.yaml"));
}

TEST_CASE("secret values never appear in config error messages", "[config]") {
  // A password given inline is rejected without echoing it.
  try {
    sse::ParseConfig(
        "services:\n  - name: a\n    url: http://h/\n    basic_auth: "
        "{username: u, password: topsecret}\n",
        "mem.yaml", ".");
    FAIL("accepted");
  } catch (const sse::ConfigError& e) {
    REQUIRE(std::string(e.what()).find("topsecret") == std::string::npos);
  }
}

TEST_CASE("SamePolling ignores only the line", "[config]") {
  sse::Config a = sse::ParseConfig(
      "services:\n  - name: a\n    url: http://h/\n", "m", ".");
  sse::Config b = sse::ParseConfig(
      "\n\nservices:\n  - name: a\n    url: http://h/\n", "m", ".");
  REQUIRE(a.services[0].SamePolling(b.services[0]));
  sse::Config c = sse::ParseConfig(
      "services:\n  - name: a\n    url: http://h/x\n", "m", ".");
  REQUIRE_FALSE(a.services[0].SamePolling(c.services[0]));
}

TEST_CASE("secret files larger than 64 KiB are refused", "[config]") {
  const fs::path dir = fs::temp_directory_path() /
                       ("sse-config-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "big") << std::string(64 * 1024 + 1, 't');
  std::ofstream(dir / "fits") << std::string(64 * 1024, 't') << "\n";
  const std::string yaml =
      "services:\n  - name: a\n    url: http://127.0.0.1:1/\n    "
      "bearer_token_file: ";
  REQUIRE_THROWS_WITH(
      sse::ParseConfig(yaml + "big\n", "mem.yaml", dir),
      Catch::Contains("mem.yaml:4: services[0].bearer_token_file: file") &&
          Catch::Contains("is larger than 64 KiB"));
  auto config = sse::ParseConfig(yaml + "fits\n", "mem.yaml", dir);
  REQUIRE(config.services[0].bearer_token.Reveal().size() == 64 * 1024);
  fs::remove_all(dir);
}

TEST_CASE("RedactUrl hides user information, even in malformed URLs",
          "[config]") {
  REQUIRE(sse::RedactUrl("http://user:pw@host:80/p?q@x") ==
          "http://xxxxx@host:80/p?q@x");
  REQUIRE(sse::RedactUrl("https://tok3n@host/") == "https://xxxxx@host/");
  REQUIRE(sse::RedactUrl("http://a:b@c@host") == "http://xxxxx@host");
  REQUIRE(sse::RedactUrl("http://host/path@x") == "http://host/path@x");
  REQUIRE(sse::RedactUrl("not a url") == "not a url");
}

TEST_CASE("an MCP list's arguments become the tool's JSON arguments",
          "[config]") {
  sse::Config c = sse::ParseConfig(
      "lists:\n  - name: m\n    url: http://h/mcp\n    source: mcp\n"
      "    max_services: 20\n"
      "    arguments:\n      namespace: prod\n      limit: 5\n"
      "      quoted: \"5\"\n      all: true\n      none: null\n"
      "      ratio: 0.5\n      tags: [a, 7]\n      nested: {x: {y: off}}\n",
      "m", ".");
  REQUIRE(c.lists[0].max_services == 20);
  REQUIRE(nlohmann::json::parse(c.lists[0].arguments) ==
          nlohmann::json{{"namespace", "prod"},
                         {"limit", 5},
                         {"quoted", "5"},
                         {"all", true},
                         {"none", nullptr},
                         {"ratio", 0.5},
                         {"tags", {"a", 7}},
                         {"nested", {{"x", {{"y", "off"}}}}}});
  auto fails = [](const std::string& yaml) {
    try {
      sse::ParseConfig(yaml, "m", ".");
    } catch (const sse::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  REQUIRE(
      fails("lists:\n  - name: j\n    url: http://h/\n    arguments: {a: 1}\n")
          .find("lists[0].arguments: only applies to source mcp") !=
      std::string::npos);
  REQUIRE(fails("lists:\n  - name: m\n    url: http://h/\n    source: mcp\n"
                "    arguments: [1]\n")
              .find("must be a map") != std::string::npos);
  REQUIRE(
      fails("lists:\n  - name: m\n    url: http://h/\n    max_services: 0\n")
          .find("lists[0].max_services") != std::string::npos);
}

TEST_CASE("a missing credential file is not a config error; a directory is",
          "[config]") {
  sse::test::TempDir dir;
  sse::Config c = sse::ParseConfig(
      "services:\n  - name: a\n    url: http://h/\n"
      "    bearer_token_file: not-yet/token\n",
      (dir.path() / "c.yaml").string(), dir.path());
  // Resolved against the config's directory: the client reads it there.
  REQUIRE(c.services[0].bearer_token_file ==
          (dir.path() / "not-yet/token").string());
  REQUIRE(c.services[0].bearer_token.empty());
  REQUIRE_THROWS_WITH(
      sse::ParseConfig("services:\n  - name: a\n    url: http://h/\n"
                       "    bearer_token_file: .\n",
                       (dir.path() / "c.yaml").string(), dir.path()),
      Catch::Contains("is not a regular file"));
}
