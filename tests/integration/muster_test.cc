// The real exporter against a fake muster built on the official MCP
// TypeScript SDK (tests/mcp/fake_muster.mjs, installed by tests/mcp/setup.sh):
// both generations of muster's MCP surface (core_service_list as a tool of
// its own, or only through the call_tool meta-tool and its envelope),
// stateful and stateless servers, SSE and JSON answers, bearer tokens that
// rotate, broken envelopes, session DELETE, and how a failing list shows.
// The last test reads muster's admin API (GET /mcps) as a json_list and
// needs no node.

#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exporter_rig.h"
#include "support/fake_service.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using sse::test::ExporterRig;
using sse::test::FakeRequest;
using sse::test::FakeResponse;
using sse::test::FakeService;
using sse::test::Pair;
using sse::test::Svc;
using Labels = std::map<std::string, std::string>;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kMcpDir = std::string(SSE_SOURCE_DIR) + "/tests/mcp";

// Polls every 300 ms; each poll (initialize, tools/list and tools/call
// included) must finish within that.
const std::string kFast =
    "global:\n  poll_interval: 300ms\n  poll_timeout: 300ms\n";

// One entry of core_service_list (api.ServiceStatus).
json Service(const std::string& name, const std::string& state,
             const std::string& health = "healthy") {
  return {{"name", name},
          {"service_type", "MCPServer"},
          {"state", state},
          {"health", health}};
}

// Runs tests/mcp/setup.sh (npm ci from the lock file) once per process; it
// is a no-op when node_modules already matches and serialises itself.
void SetupFakeMuster() {
  static std::once_flag once;
  static int code = -1;
  static std::string output;
  std::call_once(once, [] {
    const std::string bash = sse::test::FindProgram("bash");
    if (bash.empty()) {
      output = "bash not found";
      return;
    }
    code = sse::test::RunCommand({bash, kMcpDir + "/setup.sh"}, output, 300s);
  });
  if (code != 0)
    FAIL("tests/mcp/setup.sh failed (exit " << code << "):\n" << output);
}

// POST with a body, by hand (the test helpers only send bodiless requests).
sse::test::HttpReply Post(std::uint16_t port, const std::string& target,
                          const std::string& body) {
  sse::test::HttpReply reply;
  try {
    sse::test::RawConnection conn(port);
    conn.Send("POST " + target +
              " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
              "application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
              body);
    conn.WaitClosed(20s);
    const std::string& raw = conn.received();
    if (raw.rfind("HTTP/1.1 ", 0) == 0)
      reply.status = std::stoi(raw.substr(9, 3));
    if (auto end = raw.find("\r\n\r\n"); end != std::string::npos)
      reply.body = raw.substr(end + 4);
  } catch (const std::exception& e) {
    reply.error = e.what();
  }
  return reply;
}

// tests/mcp/fake_muster.mjs on 127.0.0.1:<free port>, stopped by PID.
struct FakeMuster {
  sse::test::TempDir dir;
  std::uint16_t port = 0;
  std::unique_ptr<sse::test::Process> process;

  explicit FakeMuster(const std::vector<std::string>& flags = {}) {
    SetupFakeMuster();
    const std::string node = sse::test::FindProgram("node");
    if (node.empty()) FAIL("node not found on PATH (Debian package nodejs)");
    // The fake (node), not the exporter, binds it: it takes the port it is
    // given. (Racy like every port picked beforehand; the fake is not ours
    // to change here.)
    port = sse::test::FreePort();
    std::vector<std::string> argv = {node, kMcpDir + "/fake_muster.mjs",
                                     "--port=" + std::to_string(port)};
    argv.insert(argv.end(), flags.begin(), flags.end());
    process = std::make_unique<sse::test::Process>(
        argv, (dir.path() / "fake_muster.log").string());
    const std::string ready = "listening " + std::to_string(port);
    bool up = sse::test::WaitFor(
        [&] {
          return process->log().find(ready) != std::string::npos ||
                 process->Wait(0ms).has_value();
        },
        20s);
    if (!up || !process->running())
      FAIL("fake muster did not start:\n" << process->log());
  }

  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(port) + "/mcp";
  }

  // Changes the fake (see /control in fake_muster.mjs); returns its stats.
  json Control(const json& change) {
    auto reply = Post(port, "/control", change.dump());
    INFO(reply.error << " " << reply.body << "\n" << process->log());
    REQUIRE(reply.status == 200);
    return json::parse(reply.body);
  }

  json Stats() {
    auto reply = sse::test::HttpGet(port, "/control");
    INFO(reply.error << "\n" << process->log());
    REQUIRE(reply.status == 200);
    return json::parse(reply.body);
  }

  void Stop() { process->Stop(); }
};

// The list's entry in /api/v1/status (an empty object if absent).
json ListStatus(ExporterRig& rig, const std::string& name) {
  auto reply = rig.Get("/api/v1/status");
  if (reply.status != 200) return json::object();
  json doc = json::parse(reply.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("lists") || !doc["lists"].is_array())
    return json::object();
  for (const auto& l : doc["lists"]) {
    if (l.is_object() && l.value("name", "") == name) return l;
  }
  return json::object();
}

double Polls(ExporterRig& rig, const std::string& list,
             const std::string& outcome) {
  return rig
      .Value("service_state_exporter_polls_total",
             {{"service_name", list}, {"outcome", outcome}})
      .value_or(0);
}

// Every outcome the list's polls have had so far.
std::set<std::string> Outcomes(ExporterRig& rig, const std::string& list) {
  std::set<std::string> out;
  for (const auto& s : sse::test::FindSamples(
           rig.Scrape(), "service_state_exporter_polls_total",
           {{"service_name", list}})) {
    if (s.value > 0) out.insert(s.labels.at("outcome"));
  }
  return out;
}

// Waits until the list's last poll has this outcome (and returns the list's
// status entry then, or null).
json WaitOutcome(ExporterRig& rig, const std::string& list,
                 const std::string& outcome,
                 std::chrono::milliseconds timeout = 10s) {
  json found = nullptr;
  sse::test::WaitFor(
      [&] {
        json l = ListStatus(rig, list);
        if (l.value("polled", false) && l.value("outcome", "") == outcome) {
          found = l;
          return true;
        }
        return false;
      },
      timeout);
  return found;
}

// One logfmt line as fields (values optionally quoted, with \" escapes);
// empty if the line is not logfmt.
std::map<std::string, std::string> ParseLogfmt(const std::string& line) {
  std::map<std::string, std::string> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    std::size_t eq = line.find('=', i);
    if (eq == std::string::npos) return {};
    std::string key = line.substr(i, eq - i);
    std::string value;
    i = eq + 1;
    if (i < line.size() && line[i] == '"') {
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          ++i;
          value += line[i] == 'n' ? '\n' : line[i] == 't' ? '\t' : line[i];
        } else {
          value += line[i];
        }
      }
      if (i >= line.size()) return {};
      ++i;
    } else {
      while (i < line.size() && line[i] != ' ') value += line[i++];
    }
    fields[key] = value;
  }
  return fields;
}

// The exporter's log lines with level=warn msg="list poll failed" for a list.
std::vector<std::map<std::string, std::string>> ListWarnings(
    const std::string& log, const std::string& list) {
  std::vector<std::map<std::string, std::string>> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    auto f = ParseLogfmt(line);
    if (f["level"] == "warn" && f["msg"] == "list poll failed" &&
        f["list"] == list)
      out.push_back(f);
  }
  return out;
}

std::string McpList(const FakeMuster& muster, const std::string& extra = "") {
  return "lists:\n  - name: muster\n    url: " + muster.Url() +
         "\n    source: mcp\n" + extra;
}

void WriteFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  REQUIRE(out.good());
}

// Writes `content` to a new file beside `path` and renames it over `path`.
void ReplaceFile(const fs::path& path, const std::string& content) {
  fs::path tmp = path;
  tmp += ".new";
  WriteFile(tmp, content);
  fs::rename(tmp, path);
}

}  // namespace

TEST_CASE("muster meta-tools (stateful, SSE): services through call_tool",
          "[muster]") {
  FakeMuster muster({"--mode=meta"});
  muster.Control({{"services",
                   {Service("kubernetes", "running"),
                    Service("github", "failed", "unhealthy")}}});
  ExporterRig rig(kFast + McpList(muster));
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
  REQUIRE(rig.WaitValue("muster_service_up", Svc("github", "MCPServer"), 0));

  muster.Control({{"services",
                   {Service("kubernetes", "failed", "unhealthy"),
                    Service("github", "failed", "unhealthy")}}});
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("kubernetes", "MCPServer", "running", "failed"),
                        1));

  json stats = muster.Stats();
  CAPTURE(stats.dump());
  REQUIRE(stats["call_tool_calls"].get<int>() > 0);
  REQUIRE(stats["direct_calls"].get<int>() == 0);
  REQUIRE(stats["initializes"].get<int>() == 1);  // one session, kept
  // Detecting the generation may cost at most one refused direct call per
  // session (the -32602 answer), never one per poll.
  REQUIRE(stats["unknown_tool_calls"].get<int>() <= 1);
  REQUIRE(stats["sessions"].size() == 1);
  REQUIRE(stats["sessions"][0].get<std::string>().rfind("mcp-session-", 0) ==
          0);
  REQUIRE(stats["last_arguments"] == json::object());

  json list = WaitOutcome(rig, "muster", "ok");
  REQUIRE(list.is_object());
  CAPTURE(list.dump());
  REQUIRE(list["source"] == "mcp");
  REQUIRE(list["url"] == muster.Url());
  REQUIRE(list["mcp_mode"] == "meta");
  REQUIRE(list["items"] == 2);
  REQUIRE(list["error"] == "");
  REQUIRE(list["last_poll"].get<double>() > 1.7e9);
  REQUIRE(Outcomes(rig, "muster") == std::set<std::string>{"ok"});
}

TEST_CASE("muster direct tools (stateless, JSON): core_service_list itself",
          "[muster]") {
  FakeMuster muster({"--mode=direct", "--stateless", "--json"});
  muster.Control({{"services",
                   {Service("kubernetes", "running"),
                    Service("github", "starting", "unknown")}}});
  ExporterRig rig(kFast + McpList(muster));
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
  REQUIRE(rig.WaitValue("muster_service_up", Svc("github", "MCPServer"), 0));

  muster.Control(
      {{"services",
        {Service("kubernetes", "running"), Service("github", "running")}}});
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("github", "MCPServer", "starting", "running"), 1));

  json stats = muster.Stats();
  CAPTURE(stats.dump());
  REQUIRE(stats["call_tool_calls"].get<int>() == 0);
  REQUIRE(stats["direct_calls"].get<int>() > 0);
  REQUIRE(stats["unknown_tool_calls"].get<int>() == 0);
  REQUIRE(stats["sessions"].empty());

  json list = WaitOutcome(rig, "muster", "ok");
  REQUIRE(list.is_object());
  REQUIRE(list["mcp_mode"] == "direct");
  REQUIRE(Outcomes(rig, "muster") == std::set<std::string>{"ok"});
}

TEST_CASE(
    "muster upgraded behind the exporter: the mode is detected again "
    "after the session is lost",
    "[muster]") {
  FakeMuster muster({"--mode=direct"});
  muster.Control(
      {{"services",
        {Service("kubernetes", "running"), Service("github", "connected")}}});
  ExporterRig rig(kFast + McpList(muster));
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
  REQUIRE(rig.WaitValue("muster_service_up", Svc("github", "MCPServer"), 1));
  REQUIRE(WaitOutcome(rig, "muster", "ok")["mcp_mode"] == "direct");
  REQUIRE(muster.Stats()["call_tool_calls"] == 0);

  // The new muster starts: meta-tools only, and every session is gone.
  muster.Control({{"mode", "meta"}, {"forget_sessions", true}});
  REQUIRE(sse::test::WaitFor(
      [&] {
        json s = muster.Stats();
        return s["initializes"].get<int>() >= 2 &&
               s["call_tool_calls"].get<int>() >= 3;
      },
      10s));
  REQUIRE(sse::test::WaitFor(
      [&] { return ListStatus(rig, "muster").value("mcp_mode", "") == "meta"; },
      5s));

  // And back (a rollback), the same way.
  const int direct_before = muster.Stats()["direct_calls"].get<int>();
  muster.Control({{"mode", "direct"}, {"forget_sessions", true}});
  REQUIRE(sse::test::WaitFor(
      [&] {
        json s = muster.Stats();
        return s["initializes"].get<int>() >= 3 &&
               s["direct_calls"].get<int>() >= direct_before + 3;
      },
      10s));
  REQUIRE(sse::test::WaitFor(
      [&] {
        return ListStatus(rig, "muster").value("mcp_mode", "") == "direct";
      },
      5s));

  // No poll failed, so no service ever left its state.
  auto samples = rig.Scrape();
  REQUIRE(sse::test::FindSample(samples, "muster_service_up",
                                Svc("kubernetes", "MCPServer")) == 1.0);
  REQUIRE(sse::test::FindSample(samples, "muster_service_up",
                                Svc("github", "MCPServer")) == 1.0);
  for (const auto& t : sse::test::FindSamples(
           samples, "muster_service_state_transitions_total")) {
    CAPTURE(t.labels.at("service_name"), t.labels.at("from_state"),
            t.labels.at("to_state"));
    REQUIRE(t.value == 0);
  }
  REQUIRE(Outcomes(rig, "muster") == std::set<std::string>{"ok"});
}

TEST_CASE("muster: the list's arguments reach the inner tool", "[muster]") {
  const std::string mode = GENERATE("meta", "direct");
  CAPTURE(mode);
  FakeMuster muster({"--mode=" + mode});
  muster.Control({{"services", {Service("kubernetes", "running")}}});
  ExporterRig rig(kFast + McpList(muster,
                                  "    arguments:\n"
                                  "      namespace: platform\n"
                                  "      include_stopped: true\n"
                                  "      limit: 5\n"
                                  "      quoted: \"5\"\n"
                                  "      labels: {team: \"<a&b>\"}\n"
                                  "      names: [a, b]\n"));
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
  const json want = {{"namespace", "platform"},
                     {"include_stopped", true},
                     {"limit", 5},
                     {"quoted", "5"},
                     {"labels", {{"team", "<a&b>"}}},
                     {"names", {"a", "b"}}};
  json stats = muster.Stats();
  CAPTURE(stats.dump());
  REQUIRE(stats["last_arguments"] == want);
  REQUIRE(
      stats[mode == "meta" ? "call_tool_calls" : "direct_calls"].get<int>() >
      0);
}

TEST_CASE("muster behind a bearer token that rotates, disappears and returns",
          "[muster]") {
  sse::test::TempDir secrets;
  const fs::path token = secrets.path() / "muster-sa-token";
  WriteFile(token, "token-0001\n");
  // The fake reads the same file on every request: after a rotation only
  // the new token is accepted.
  FakeMuster muster({"--mode=meta", "--token-file=" + token.string()});
  muster.Control({{"services", {Service("kubernetes", "running")}}});
  ExporterRig rig(kFast + McpList(muster, "    bearer_token_file: " +
                                              token.string() + "\n"));
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
  REQUIRE(WaitOutcome(rig, "muster", "ok").is_object());
  REQUIRE(muster.Stats()["unauthorized"] == 0);

  // Within ~2 s of a rotation the new token is used: three polls in a row
  // are ok and no 401 comes after them.
  auto settles = [&] {
    int unauthorized = -1;
    double ok_since = 0;
    return sse::test::WaitFor(
        [&] {
          const int u = muster.Stats()["unauthorized"].get<int>();
          const double ok = Polls(rig, "muster", "ok");
          if (u != unauthorized) {
            unauthorized = u;
            ok_since = ok;
          }
          return ok >= ok_since + 3;
        },
        4s);
  };
  const fs::path dir = secrets.path();
  {
    INFO("a new file renamed over the old one");
    ReplaceFile(token, "token-0002\n");
    REQUIRE(settles());
  }
  {
    INFO("the file rewritten in place");
    WriteFile(token, "token-0003");
    REQUIRE(settles());
  }
  {
    INFO("a kubelet projected volume: token -> ..data/token, ..data swapped");
    fs::create_directory(dir / "..2026_12_01_a");
    WriteFile(dir / "..2026_12_01_a" / "muster-sa-token", "token-0004\n");
    fs::create_directory_symlink("..2026_12_01_a", dir / "..data");
    fs::create_symlink("..data/muster-sa-token", dir / "link.new");
    fs::rename(dir / "link.new", token);
    REQUIRE(settles());
    fs::create_directory(dir / "..2026_12_01_b");
    WriteFile(dir / "..2026_12_01_b" / "muster-sa-token", "token-0005\n");
    fs::create_directory_symlink("..2026_12_01_b", dir / "..data_tmp");
    fs::rename(dir / "..data_tmp", dir / "..data");
    fs::remove_all(dir / "..2026_12_01_a");
    REQUIRE(settles());
  }

  // Gone (a secret being recreated), or there but empty: a failed poll
  // that names the file, not a crash; back: ok again.
  auto fails_naming_file = [&] {
    json failed = json::object();
    bool seen = sse::test::WaitFor(
        [&] {
          failed = ListStatus(rig, "muster");
          return failed.value("outcome", "ok") != "ok" &&
                 failed.value("error", "").find("muster-sa-token") !=
                     std::string::npos;
        },
        5s);
    UNSCOPED_INFO("status: " << failed.dump());
    return seen;
  };
  {
    INFO("token file deleted");
    fs::remove(token);
    REQUIRE(fails_naming_file());
    REQUIRE(rig.Value("muster_service_up", Svc("kubernetes", "MCPServer"))
                .has_value());
    REQUIRE(rig.Get("/-/healthy").status == 200);
    WriteFile(token, "token-0006\n");
    REQUIRE(WaitOutcome(rig, "muster", "ok", 5s).is_object());
  }
  {
    INFO("token file empty");
    WriteFile(token, "");
    REQUIRE(fails_naming_file());
    REQUIRE(rig.Get("/-/healthy").status == 200);
    WriteFile(token, "token-0007\n");
    REQUIRE(WaitOutcome(rig, "muster", "ok", 5s).is_object());
  }
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
}

TEST_CASE("muster: an inner tool error fails the poll, services stay",
          "[muster]") {
  const std::string mode = GENERATE("meta", "direct");
  CAPTURE(mode);
  FakeMuster muster({"--mode=" + mode});
  muster.Control(
      {{"services",
        {Service("kubernetes", "running"), Service("github", "running")}}});
  ExporterRig rig(kFast + McpList(muster));
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
  REQUIRE(rig.WaitValue("muster_service_up", Svc("github", "MCPServer"), 1));

  muster.Control({{"inner_error", "service manager handler not available"}});
  json failed = WaitOutcome(rig, "muster", "http_error");
  REQUIRE(failed.is_object());
  CAPTURE(failed.dump());
  REQUIRE(failed["error"].get<std::string>().find(
              "Tool execution failed: service manager handler not available") !=
          std::string::npos);
  REQUIRE(Polls(rig, "muster", "http_error") >= 1);
  REQUIRE(rig.Value("muster_service_up", Svc("kubernetes", "MCPServer"))
              .has_value());
  REQUIRE(
      rig.Value("muster_service_up", Svc("github", "MCPServer")).has_value());

  muster.Control({{"inner_error", nullptr}});
  REQUIRE(WaitOutcome(rig, "muster", "ok").is_object());
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
  REQUIRE(rig.WaitValue("muster_service_up", Svc("github", "MCPServer"), 1));
}

TEST_CASE("muster: a broken call_tool envelope is invalid_body, services stay",
          "[muster]") {
  struct Case {
    const char* name;
    json control;
    const char* interval;  // per-list interval and timeout
  };
  // An envelope whose inner result is itself an envelope.
  const std::string inner_envelope = json{
      {"isError", false},
      {"content",
       {{{"text", R"({"services":[],"total":0})"},
         {"type", "text"}}}}}.dump();
  const std::string nested =
      json{{"isError", false},
           {"content", {{{"text", inner_envelope}, {"type", "text"}}}}}
          .dump();
  // Several MB: a JSON string, not an envelope.
  const std::string huge = json(std::string(5 * 1024 * 1024, 'x')).dump();
  const Case c = GENERATE_COPY(
      Case{"not JSON",
           {{"raw_text", "this is <not> JSON & never was"}},
           "300ms"},
      Case{"nested envelope", {{"raw_text", nested}}, "300ms"},
      Case{"several MB, not an envelope", {{"raw_text", huge}}, "2s"},
      Case{"no content", {{"no_content", true}}, "300ms"});
  CAPTURE(c.name);

  FakeMuster muster({"--mode=meta"});
  muster.Control({{"services", {Service("kubernetes", "running")}}});
  ExporterRig rig(kFast +
                  McpList(muster, std::string("    interval: ") + c.interval +
                                      "\n    timeout: " + c.interval +
                                      "\n    max_body_bytes: 16MiB\n"));
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));

  muster.Control(c.control);
  json failed = WaitOutcome(rig, "muster", "invalid_body", 15s);
  REQUIRE(failed.is_object());
  CAPTURE(failed.dump().substr(0, 2000));
  const std::string error = failed["error"].get<std::string>();
  REQUIRE(error.find("envelope") != std::string::npos);
  REQUIRE(error.size() < 4096);  // the text is not echoed whole
  REQUIRE(rig.Value("muster_service_up", Svc("kubernetes", "MCPServer"))
              .has_value());
  REQUIRE(rig.Get("/-/healthy").status == 200);
  REQUIRE(rig.process().Wait(0ms) == std::nullopt);

  muster.Control({{"raw_text", nullptr}, {"no_content", false}});
  REQUIRE(WaitOutcome(rig, "muster", "ok", 15s).is_object());
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
}

// Waits until the exporter polls `muster` (kubernetes up) over one session,
// which nothing ended yet; returns its id.
std::string OneSession(FakeMuster& muster, ExporterRig& rig) {
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
  json stats = muster.Stats();
  REQUIRE(stats["sessions"].size() == 1);
  REQUIRE(stats["deletes"] == 0);
  return stats["sessions"][0];
}

TEST_CASE("muster: the session is ended (DELETE) on SIGTERM", "[muster]") {
  FakeMuster muster({"--mode=meta"});
  muster.Control({{"services", {Service("kubernetes", "running")}}});
  ExporterRig rig(kFast + McpList(muster));
  const std::string session = OneSession(muster, rig);

  rig.process().Signal(SIGTERM);
  auto code = rig.process().Wait(10s);
  REQUIRE(code.has_value());
  REQUIRE(*code == 0);
  json stats = muster.Stats();
  CAPTURE(stats.dump());
  REQUIRE(stats["deletes"] == 1);
  REQUIRE(stats["last_session_deleted"] == session);
  REQUIRE(stats["sessions"].empty());
}

TEST_CASE(
    "muster: the session is ended (DELETE) when a reload removes the list",
    "[muster]") {
  FakeMuster muster({"--mode=direct"});
  muster.Control({{"services", {Service("kubernetes", "running")}}});
  ExporterRig rig(kFast + McpList(muster));
  const std::string session = OneSession(muster, rig);

  rig.RewriteConfig(kFast + "services: []\n");
  rig.process().Signal(SIGHUP);
  REQUIRE(
      sse::test::WaitFor([&] { return muster.Stats()["deletes"] == 1; }, 5s));
  json stats = muster.Stats();
  CAPTURE(stats.dump());
  REQUIRE(stats["last_session_deleted"] == session);
  REQUIRE(stats["sessions"].empty());

  // The list is gone: no more calls, no list in the status.
  const int calls = stats["calls"].get<int>();
  std::this_thread::sleep_for(1s);
  REQUIRE(muster.Stats()["calls"] == calls);
  REQUIRE(ListStatus(rig, "muster").empty());
  REQUIRE(rig.Get("/-/healthy").status == 200);
}

TEST_CASE("muster unreachable: a warning, connect_error in /api/v1/status",
          "[muster]") {
  SECTION("down from the start") {
    // FreePort: a port nobody listens on (refused connections).
    const std::string url =
        "http://127.0.0.1:" + std::to_string(sse::test::FreePort()) + "/mcp";
    ExporterRig rig(kFast + "lists:\n  - name: muster\n    url: " + url +
                    "\n    source: mcp\n");
    json failed = WaitOutcome(rig, "muster", "connect_error");
    REQUIRE(failed.is_object());
    CAPTURE(failed.dump());
    REQUIRE(failed["source"] == "mcp");
    REQUIRE(failed["url"] == url);
    REQUIRE_FALSE(failed["error"].get<std::string>().empty());
    REQUIRE(failed["items"] == 0);
    REQUIRE(rig.WaitAtLeast(
        "service_state_exporter_polls_total",
        {{"service_name", "muster"}, {"outcome", "connect_error"}}, 4));
    // The first failure warns; the repeats do not.
    auto warnings = ListWarnings(rig.log(), "muster");
    CAPTURE(rig.log());
    REQUIRE(warnings.size() == 1);
    REQUIRE(warnings[0]["url"] == url);
    REQUIRE(warnings[0]["outcome"] == "connect_error");
    REQUIRE_FALSE(warnings[0]["err"].empty());
    // The landing page has the list in its table of lists, with the error.
    const std::string page = rig.Get("/").body;
    const auto table = page.find("<table id=\"lists\">");
    REQUIRE(table != std::string::npos);
    const std::string row =
        page.substr(table, page.find("</table>", table) - table);
    REQUIRE(row.find("<td>muster</td>") != std::string::npos);
    REQUIRE(row.find(">connect_error<") != std::string::npos);
    REQUIRE(row.find(failed["error"].get<std::string>().substr(0, 20)) !=
            std::string::npos);
  }

  SECTION("goes away after working") {
    FakeMuster muster({"--mode=meta"});
    muster.Control({{"services", {Service("kubernetes", "running")}}});
    ExporterRig rig(kFast + McpList(muster));
    REQUIRE(
        rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
    REQUIRE(ListWarnings(rig.log(), "muster").empty());

    muster.Stop();
    json failed = WaitOutcome(rig, "muster", "connect_error");
    REQUIRE(failed.is_object());
    CAPTURE(failed.dump());
    REQUIRE(failed["url"] == muster.Url());
    REQUIRE_FALSE(failed["error"].get<std::string>().empty());
    // Not removed: unreachable now.
    REQUIRE(
        rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 0));
    REQUIRE(rig.WaitAtLeast(
        "service_state_exporter_polls_total",
        {{"service_name", "muster"}, {"outcome", "connect_error"}}, 3));
    auto warnings = ListWarnings(rig.log(), "muster");
    CAPTURE(rig.log());
    REQUIRE(warnings.size() == 1);
    REQUIRE(warnings[0]["url"] == muster.Url());
    REQUIRE(warnings[0]["outcome"] == "connect_error");
    REQUIRE_FALSE(warnings[0]["err"].empty());
  }
}

// muster's admin API (internal/admin/handlers.go handleMCPList, view.go
// MCPSummary): GET /mcps with an Accept naming application/json answers a
// top-level array, Go field names, indented; anything else gets HTML.
TEST_CASE("muster admin API: GET /mcps as a json_list", "[muster]") {
  // Declared before the fake, whose thread uses them until it is gone.
  std::mutex mutex;
  std::map<std::string, std::string> status = {{"github", "connected"},
                                               {"kubernetes", "disconnected"},
                                               {"prometheus", "unknown"}};
  FakeService admin;
  admin.SetHandler([&](const FakeRequest& req) {
    FakeResponse r;
    auto accept = req.headers.find("accept");
    if (req.target != "/mcps" || accept == req.headers.end() ||
        accept->second.find("application/json") == std::string::npos) {
      r.content_type = "text/html; charset=utf-8";
      r.body = "<!doctype html><title>MCP servers</title>";
      return r;
    }
    std::lock_guard lock(mutex);
    nlohmann::ordered_json servers = nlohmann::ordered_json::array();
    for (const auto& [name, state] : status) {  // sorted by name, as muster
      const bool auth = name == "github";
      servers.push_back({{"Name", name},
                         {"URL", "https://" + name + ".mcp.example.com/mcp"},
                         {"Namespace", "muster"},
                         {"Status", state},
                         {"Issuer", auth ? "https://dex.example.com" : ""},
                         {"RequiresAuth", auth},
                         {"LastUpdate", auth ? "2026-11-30T10:00:00.123456789Z"
                                             : "0001-01-01T00:00:00Z"}});
    }
    r.content_type = "application/json; charset=utf-8";
    r.body = servers.dump(2) + "\n";
    return r;
  });
  ExporterRig rig(
      kFast + "lists:\n  - name: muster-admin\n    url: " + admin.Url("/mcps") +
      "\n    source: json_list\n    items_pointer: \"\"\n"
      "    name_field: Name\n    state_field: Status\n"
      "    headers: {Accept: application/json}\n"
      "    default_type: MCPServer\n");
  REQUIRE(rig.WaitValue("muster_service_up", Svc("github", "MCPServer"), 1));
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 0));
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("prometheus", "MCPServer"), 0));
  REQUIRE(admin.last_request().headers.at("accept") == "application/json");

  {
    std::lock_guard lock(mutex);
    status["kubernetes"] = "connected";
  }
  REQUIRE(rig.WaitValue(
      "muster_service_state_transitions_total",
      Pair("kubernetes", "MCPServer", "disconnected", "connected"), 1));
  json list = WaitOutcome(rig, "muster-admin", "ok");
  REQUIRE(list.is_object());
  REQUIRE(list["source"] == "json_list");
  REQUIRE(list["items"] == 3);
  REQUIRE(list["mcp_mode"] == "");
}
