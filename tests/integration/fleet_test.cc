#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

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

namespace {

// A list endpoint whose document the test changes.
struct FakeList {
  FakeService fake;
  std::mutex mutex;
  json services = json::array();
  unsigned status = 200;

  FakeList() {
    fake.SetHandler([this](const FakeRequest&) {
      std::lock_guard lock(mutex);
      FakeResponse r;
      r.status = status;
      r.body = json{{"services", services}, {"total", services.size()}}.dump();
      return r;
    });
  }
  void Set(json s) {
    std::lock_guard lock(mutex);
    services = std::move(s);
  }
  void SetStatus(unsigned s) {
    std::lock_guard lock(mutex);
    status = s;
  }
};

std::set<std::string> ServiceNames(std::uint16_t port) {
  auto doc = json::parse(sse::test::HttpGet(port, "/api/v1/services").body);
  std::set<std::string> names;
  for (const auto& s : doc["services"])
    names.insert(s["name"].get<std::string>());
  return names;
}

const char* kFast = "global:\n  poll_interval: 100ms\n  poll_timeout: 100ms\n";

}  // namespace

TEST_CASE(
    "json_list: services appear, flip, and vanish after absent_after polls",
    "[fleet]") {
  FakeList list;
  list.Set(json::array(
      {{{"name", "k8s"}, {"service_type", "MCPServer"}, {"state", "running"}},
       {{"name", "gh"}, {"state", "starting"}}}));
  ExporterRig rig(std::string(kFast) + "lists:\n  - name: muster\n    url: " +
                  list.fake.Url("/services") +
                  "\n    default_type: Aggregated\n    absent_after: 3\n");
  REQUIRE(rig.WaitValue("muster_service_up", Svc("k8s", "MCPServer"), 1));
  REQUIRE(rig.WaitValue("muster_service_up", Svc("gh", "Aggregated"), 0));

  list.Set(json::array(
      {{{"name", "k8s"}, {"service_type", "MCPServer"}, {"state", "failed"}},
       {{"name", "gh"}, {"state", "connected"}}}));
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("k8s", "MCPServer", "running", "failed"), 1));
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("gh", "Aggregated", "starting", "connected"), 1));
  auto polls = rig.Value("service_state_exporter_polls_total",
                         {{"service_name", "muster"}, {"outcome", "ok"}});
  REQUIRE(polls.value_or(0) >= 2);

  // A failed poll of the list: its services are unreachable, not removed.
  list.SetStatus(503);
  Labels gh_state = Svc("gh", "Aggregated");
  gh_state["state"] = "unknown";
  REQUIRE(rig.WaitValue("muster_service_state", gh_state, 1));
  REQUIRE(rig.Value("muster_service_up", Svc("k8s", "MCPServer")).has_value());
  list.SetStatus(200);

  // gh disappears: after 3 successful polls without it, its series go.
  list.Set(json::array(
      {{{"name", "k8s"}, {"service_type", "MCPServer"}, {"state", "failed"}}}));
  REQUIRE(sse::test::WaitFor(
      [&] {
        return !rig.Value("muster_service_up", Svc("gh", "Aggregated"))
                    .has_value();
      },
      5s));
  auto samples = rig.Scrape();
  REQUIRE(sse::test::FindSamples(samples, "muster_service_state",
                                 {{"service_name", "gh"}})
              .empty());
  REQUIRE(sse::test::FindSamples(samples,
                                 "muster_service_state_transitions_total",
                                 {{"service_name", "gh"}})
              .empty());
  REQUIRE(sse::test::FindSample(samples, "muster_service_up",
                                Svc("k8s", "MCPServer")) == 0.0);
}

TEST_CASE("a list cannot take the name of a configured service", "[fleet]") {
  FakeList list;
  list.Set(json::array(
      {{{"name", "dup"}, {"service_type", "FromList"}, {"state", "failed"}},
       {{"name", "other"}, {"state", "running"}}}));
  FakeService direct;
  direct.SetState("running");
  ExporterRig rig(std::string(kFast) +
                  "services:\n  - name: dup\n    type: Direct\n    url: " +
                  direct.Url("/s") + "\n    source: json\n" +
                  "lists:\n  - name: l\n    url: " + list.fake.Url("/") + "\n");
  REQUIRE(rig.WaitValue("muster_service_up", Svc("other", "service"), 1));
  std::this_thread::sleep_for(300ms);
  auto samples = rig.Scrape();
  REQUIRE(sse::test::FindSample(samples, "muster_service_up",
                                Svc("dup", "Direct")) == 1.0);
  REQUIRE_FALSE(sse::test::FindSample(samples, "muster_service_up",
                                      Svc("dup", "FromList"))
                    .has_value());
  REQUIRE(
      rig.process().log().find("list reports a service whose name is taken") !=
      std::string::npos);
}

// Behaves like the aggregator's MCP endpoint: sessions, SSE framing,
// JSON-RPC errors, bearer auth.
struct FakeMcp {
  FakeService fake;
  std::mutex mutex;
  std::set<std::string> sessions;
  std::atomic<int> initializes{0};
  std::atomic<int> calls{0};
  json services = json::array();
  int next_session = 1;

  FakeMcp() {
    fake.SetHandler([this](const FakeRequest& req) { return Handle(req); });
  }
  void Set(json s) {
    std::lock_guard lock(mutex);
    services = std::move(s);
  }
  void ForgetSessions() {
    std::lock_guard lock(mutex);
    sessions.clear();
  }
  FakeResponse Handle(const FakeRequest& req) {
    std::lock_guard lock(mutex);
    FakeResponse r;
    auto auth = req.headers.find("authorization");
    if (auth == req.headers.end() || auth->second != "Bearer mcp-token") {
      r.status = 401;
      r.body = R"({"error":"unauthorized"})";
      return r;
    }
    if (req.method != "POST") {
      r.status = 405;
      return r;
    }
    json msg = json::parse(req.body, nullptr, false);
    if (msg.is_discarded()) {
      r.status = 400;
      return r;
    }
    const std::string method = msg.value("method", "");
    if (method == "initialize") {
      ++initializes;
      std::string id = "session-" + std::to_string(next_session++);
      sessions.insert(id);
      r.headers["Mcp-Session-Id"] = id;
      r.body = json{{"jsonrpc", "2.0"},
                    {"id", msg["id"]},
                    {"result",
                     {{"protocolVersion", "2025-03-26"},
                      {"capabilities", {{"tools", json::object()}}},
                      {"serverInfo", {{"name", "muster"}, {"version", "1"}}}}}}
                   .dump();
      return r;
    }
    auto session = req.headers.find("mcp-session-id");
    if (session == req.headers.end() || !sessions.contains(session->second)) {
      r.status = 404;
      r.body =
          R"({"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"}})";
      return r;
    }
    if (method == "notifications/initialized") {
      r.status = 202;
      r.body = "";
      return r;
    }
    if (method == "tools/call") {
      ++calls;
      json result;
      if (msg["params"].value("name", "") != "core_service_list") {
        result = {{"jsonrpc", "2.0"},
                  {"id", msg["id"]},
                  {"error", {{"code", -32602}, {"message", "unknown tool"}}}};
      } else {
        json doc = {{"services", services}, {"total", services.size()}};
        result = {{"jsonrpc", "2.0"},
                  {"id", msg["id"]},
                  {"result",
                   {{"content", {{{"type", "text"}, {"text", doc.dump()}}}}}}};
      }
      // Streamable HTTP: answer as an event stream, with a notification first.
      r.content_type = "text/event-stream";
      r.body =
          "event: message\ndata: "
          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
          "message\",\"params\":{}}\n\n"
          "event: message\ndata: " +
          result.dump() + "\n\n";
      return r;
    }
    r.body =
        json{{"jsonrpc", "2.0"},
             {"id", msg["id"]},
             {"error", {{"code", -32601}, {"message", "method not found"}}}}
            .dump();
    return r;
  }
};

TEST_CASE(
    "mcp: the aggregator's services over MCP, with session re-initialisation",
    "[fleet][mcp]") {
  FakeMcp mcp;
  mcp.Set(json::array({{{"name", "kubernetes"},
                        {"service_type", "MCPServer"},
                        {"state", "Running"}},
                       {{"name", "github"},
                        {"service_type", "MCPServer"},
                        {"state", "failed"}}}));
  sse::test::TempDir secrets;
  secrets.Write("token", "mcp-token\n");
  ExporterRig rig(
      std::string(kFast) + "lists:\n  - name: muster-mcp\n    url: " +
      mcp.fake.Url("/mcp") + "\n    source: mcp\n    bearer_token_file: " +
      (secrets.path() / "token").string() + "\n");
  REQUIRE(
      rig.WaitValue("muster_service_up", Svc("kubernetes", "MCPServer"), 1));
  REQUIRE(rig.WaitValue("muster_service_up", Svc("github", "MCPServer"), 0));
  REQUIRE(mcp.initializes == 1);

  mcp.Set(json::array({{{"name", "kubernetes"},
                        {"service_type", "MCPServer"},
                        {"state", "stopped"}},
                       {{"name", "github"},
                        {"service_type", "MCPServer"},
                        {"state", "failed"}}}));
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("kubernetes", "MCPServer", "running", "stopped"),
                        1));

  // The server restarts and forgets the session: the exporter initialises
  // again and carries on without a failed poll.
  mcp.ForgetSessions();
  REQUIRE(sse::test::WaitFor([&] { return mcp.initializes >= 2; }, 5s));
  int calls = mcp.calls;
  REQUIRE(sse::test::WaitFor([&] { return mcp.calls > calls + 2; }, 5s));
  auto failed =
      sse::test::FindSamples(rig.Scrape(), "service_state_exporter_polls_total",
                             {{"service_name", "muster-mcp"}});
  for (const auto& s : failed) {
    CAPTURE(s.labels.at("outcome"));
    REQUIRE(s.labels.at("outcome") == "ok");
  }
  REQUIRE(rig.Value("muster_service_state_changes_total",
                    Svc("kubernetes", "MCPServer")) == 1.0);
}

TEST_CASE("mcp: a wrong tool is a failed poll, services unknown",
          "[fleet][mcp]") {
  FakeMcp mcp;
  mcp.Set(json::array(
      {{{"name", "k"}, {"service_type", "MCPServer"}, {"state", "running"}}}));
  sse::test::TempDir secrets;
  secrets.Write("token", "mcp-token");
  ExporterRig rig(std::string(kFast) +
                  "lists:\n  - name: m\n    url: " + mcp.fake.Url("/mcp") +
                  "\n    source: mcp\n    tool: nope\n    bearer_token_file: " +
                  (secrets.path() / "token").string() + "\n");
  REQUIRE(sse::test::WaitFor(
      [&] {
        return rig.Value("service_state_exporter_polls_total",
                         {{"service_name", "m"}, {"outcome", "http_error"}})
                   .value_or(0) >= 1;
      },
      5s));
  auto api =
      json::parse(sse::test::HttpGet(rig.port(), "/api/v1/services").body);
  REQUIRE(api["services"].empty());
}

TEST_CASE("file_sd: targets from files, watched, last good kept",
          "[fleet][sd]") {
  FakeService a, b;
  a.SetState("running");
  b.SetState("failed");
  sse::test::TempDir dir;
  auto target = [](const FakeService& f) {
    return "127.0.0.1:" + std::to_string(f.port());
  };
  dir.Write("targets/one.json",
            json::array({{{"targets", {target(a)}},
                          {"labels", {{"service_name", "alpha"}}}}})
                .dump());
  ExporterRig rig(std::string(kFast) + "file_sd:\n  - files: [" +
                  (dir.path() / "targets").string() +
                  "/*.json]\n    refresh_interval: 100ms\n    source: json\n   "
                  " path: /status\n"
                  "    type: Discovered\n");
  REQUIRE(rig.WaitValue("muster_service_up", Svc("alpha", "Discovered"), 1));
  REQUIRE(a.last_request().target == "/status");

  // A second file appears.
  dir.Write(
      "targets/two.json",
      json::array(
          {{{"targets", {target(b)}},
            {"labels", {{"service_name", "beta"}, {"service_type", "DB"}}}}})
          .dump());
  REQUIRE(rig.WaitValue("muster_service_up", Svc("beta", "DB"), 0));

  // A broken file keeps its last good targets.
  std::this_thread::sleep_for(50ms);
  dir.Write("targets/two.json", "{ broken");
  REQUIRE(sse::test::WaitFor(
      [&] {
        return rig.process().log().find("file_sd file is invalid") !=
               std::string::npos;
      },
      5s));
  REQUIRE(rig.Value("muster_service_up", Svc("beta", "DB")).has_value());

  // The file goes away: its service goes.
  std::filesystem::remove(dir.path() / "targets/two.json");
  REQUIRE(sse::test::WaitFor(
      [&] {
        return !rig.Value("muster_service_up", Svc("beta", "DB")).has_value();
      },
      5s));
  REQUIRE(rig.Value("muster_service_up", Svc("alpha", "Discovered")) == 1.0);
}

TEST_CASE("http_sd: targets from a URL, last good list kept on error",
          "[fleet][sd]") {
  FakeService svc;
  svc.SetState("connected");
  FakeList sd_dummy;  // unused list; keeps the helper types exercised
  FakeService sd;
  std::mutex mutex;
  json groups =
      json::array({{{"targets", {"127.0.0.1:" + std::to_string(svc.port())}},
                    {"labels", {{"service_name", "web"}}}}});
  unsigned status = 200;
  sd.SetHandler([&](const FakeRequest&) {
    std::lock_guard lock(mutex);
    FakeResponse r;
    r.status = status;
    r.body = groups.dump();
    return r;
  });
  ExporterRig rig(
      std::string(kFast) + "http_sd:\n  - url: " + sd.Url("/targets") +
      "\n    refresh_interval: 100ms\n    source: json\n    path: /s\n");
  REQUIRE(rig.WaitValue("muster_service_up", Svc("web", "service"), 1));
  const std::size_t before = rig.log().size();
  {
    std::lock_guard lock(mutex);
    status = 500;
  }
  // Two refreshes got the 500 and kept the targets (the exporter says so
  // for each); whatever the first one changed has been applied by the time
  // the second one is logged.
  auto failed_refreshes = [&] {
    const std::string log = rig.log().substr(before);
    int n = 0;
    for (std::size_t at = 0;
         (at = log.find("http_sd fetch failed", at)) != std::string::npos; ++at)
      ++n;
    return n;
  };
  const bool refreshed =
      sse::test::WaitFor([&] { return failed_refreshes() >= 2; }, 5s);
  CAPTURE(rig.log().substr(before));
  REQUIRE(refreshed);
  REQUIRE(rig.Value("muster_service_up", Svc("web", "service")) == 1.0);
  {
    std::lock_guard lock(mutex);
    status = 200;
    groups = json::array();
  }
  REQUIRE(sse::test::WaitFor(
      [&] {
        return !rig.Value("muster_service_up", Svc("web", "service"))
                    .has_value();
      },
      5s));
}

TEST_CASE(
    "reload: SIGHUP and POST /-/reload swap the config, a bad one is rejected "
    "whole",
    "[fleet][reload]") {
  FakeService fake;
  fake.SetState("running");
  auto config = [&](const std::vector<std::string>& names) {
    std::string yaml = std::string(kFast) + "services:\n";
    for (const auto& n : names) {
      yaml += "  - name: " + n + "\n    url: " + fake.Url("/" + n) +
              "\n    source: json\n";
    }
    return yaml;
  };
  ExporterRig rig(config({"keep", "drop"}), {"--web.enable-lifecycle"});
  REQUIRE(rig.WaitValue("muster_service_up", Svc("keep", "service"), 1));
  fake.SetState("failed");
  REQUIRE(rig.WaitValue("muster_service_state_changes_total",
                        Svc("keep", "service"), 1));
  fake.SetState("running");
  REQUIRE(rig.WaitValue("muster_service_state_changes_total",
                        Svc("keep", "service"), 2));

  rig.RewriteConfig(config({"keep", "new"}));
  rig.process().Signal(SIGHUP);
  REQUIRE(rig.WaitValue("muster_service_up", Svc("new", "service"), 1));
  REQUIRE(sse::test::WaitFor(
      [&] {
        return !rig.Value("muster_service_up", Svc("drop", "service"))
                    .has_value();
      },
      5s));
  // Unchanged services keep state and counters.
  REQUIRE(rig.Value("muster_service_state_changes_total",
                    Svc("keep", "service")) == 2.0);

  // A bad config: rejected whole, running config stays, metric says so.
  rig.RewriteConfig(config({"keep", "new"}) + "    bogus_key: 1\n");
  auto reply = sse::test::HttpRequest(rig.port(), "POST", "/-/reload");
  REQUIRE(reply.status == 500);
  REQUIRE(reply.body.find("bogus_key") != std::string::npos);
  REQUIRE(rig.Value("service_state_exporter_config_last_reload_successful",
                    {}) == 0.0);
  REQUIRE(rig.Value("muster_service_up", Svc("new", "service")) == 1.0);
  REQUIRE(rig.process().log().find("config reload failed") !=
          std::string::npos);

  // Fixed again: success, and an unchanged file is a no-op.
  rig.RewriteConfig(config({"keep", "new"}));
  REQUIRE(sse::test::HttpRequest(rig.port(), "POST", "/-/reload").status ==
          200);
  REQUIRE(rig.Value("service_state_exporter_config_last_reload_successful",
                    {}) == 1.0);
  REQUIRE(rig.process().log().find("config unchanged") != std::string::npos);
  REQUIRE(rig.Value("muster_service_state_changes_total",
                    Svc("keep", "service")) == 2.0);
  REQUIRE(sse::test::HttpGet(rig.port(), "/-/reload").status == 405);
}

TEST_CASE(
    "state file: counters survive kill -9 and a change while down counts once",
    "[fleet][state]") {
  FakeService fake;
  fake.SetState("running");
  sse::test::TempDir dir;
  const std::string state_file = (dir.path() / "state.json").string();
  const std::string yaml =
      std::string(kFast) +
      "services:\n  - name: s\n    url: " + fake.Url("/s") +
      "\n    source: json\n";
  {
    ExporterRig rig(yaml, {"--storage.state-file=" + state_file});
    REQUIRE(rig.WaitValue("muster_service_up", Svc("s", "service"), 1));
    fake.SetState("failed");
    REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                          Pair("s", "service", "running", "failed"), 1));
    // Writes are batched (at most once a second): wait for it to land.
    REQUIRE(sse::test::WaitFor(
        [&] {
          std::ifstream in(state_file);
          std::string text((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
          return text.find("\"failed\"") != std::string::npos;
        },
        5s));
    rig.process().Signal(SIGKILL);
    REQUIRE(rig.process().Wait(5s).has_value());
  }
  fake.SetState("running");  // changed while the exporter was down
  {
    ExporterRig rig(yaml, {"--storage.state-file=" + state_file});
    REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                          Pair("s", "service", "failed", "running"), 1));
    std::this_thread::sleep_for(300ms);
    REQUIRE(rig.Value("muster_service_state_transitions_total",
                      Pair("s", "service", "running", "failed")) == 1.0);
    REQUIRE(rig.Value("muster_service_state_changes_total",
                      Svc("s", "service")) == 2.0);
    REQUIRE(rig.Value("muster_service_up", Svc("s", "service")) == 1.0);
  }
  // A corrupt file is reported and ignored: the exporter starts afresh.
  dir.Write("state.json", "{ not json");
  ExporterRig rig(yaml, {"--storage.state-file=" + state_file});
  REQUIRE(rig.WaitValue("muster_service_up", Svc("s", "service"), 1));
  REQUIRE(rig.Value("muster_service_state_changes_total",
                    Svc("s", "service")) == 0.0);
  REQUIRE(rig.process().log().find("state file ignored") != std::string::npos);
}

TEST_CASE("sharding: N replicas cover every service exactly once",
          "[fleet][shard]") {
  FakeService fake;
  FakeList list;
  json items = json::array();
  for (int i = 0; i < 20; ++i) {
    items.push_back(
        {{"name", "listed-" + std::to_string(i)}, {"state", "running"}});
  }
  list.Set(items);
  std::string yaml = std::string(kFast) + "services:\n";
  std::set<std::string> all;
  for (int i = 0; i < 20; ++i) {
    std::string name = "svc-" + std::to_string(i);
    yaml += "  - name: " + name + "\n    url: " + fake.Url("/" + name) + "\n";
    all.insert(name);
    all.insert("listed-" + std::to_string(i));
  }
  yaml += "lists:\n  - name: l\n    url: " + list.fake.Url("/") + "\n";
  const int kShards = 3;
  std::vector<std::unique_ptr<ExporterRig>> rigs;
  for (int i = 0; i < kShards; ++i) {
    rigs.push_back(std::make_unique<ExporterRig>(
        yaml, std::vector<std::string>{"--shard.count=3",
                                       "--shard.index=" + std::to_string(i)}));
  }
  std::vector<std::set<std::string>> seen(kShards);
  REQUIRE(sse::test::WaitFor(
      [&] {
        std::size_t total = 0;
        for (int i = 0; i < kShards; ++i) {
          seen[i] = ServiceNames(rigs[i]->port());
          total += seen[i].size();
        }
        return total == all.size();
      },
      10s));
  std::set<std::string> united;
  for (int i = 0; i < kShards; ++i) {
    CAPTURE(i);
    REQUIRE_FALSE(seen[i].empty());
    for (const auto& name : seen[i])
      REQUIRE(united.insert(name).second);  // disjoint
  }
  REQUIRE(united == all);
}

TEST_CASE("a service cannot take a list's name; it can once the list is gone",
          "[fleet][reload]") {
  FakeList list;
  list.Set(json::array({{{"name", "member"}, {"state", "running"}}}));
  FakeService direct;
  direct.SetState("running");
  const std::string service =
      "services:\n  - name: db\n    type: Direct\n"
      "    url: " +
      direct.Url("/s") + "\n    source: json\n";
  ExporterRig rig(std::string(kFast) + service +
                      "lists:\n  - name: db\n"
                      "    url: " +
                      list.fake.Url("/") + "\n",
                  {"--web.enable-lifecycle"});
  REQUIRE(rig.WaitValue("muster_service_up", Svc("member", "service"), 1));
  // The list polls as "db"; the service of that name is skipped.
  const Labels db_ok = {{"service_name", "db"}, {"outcome", "ok"}};
  REQUIRE(rig.WaitAtLeast("service_state_exporter_polls_total", db_ok, 2, 5s));
  REQUIRE_FALSE(
      rig.Value("muster_service_up", Svc("db", "Direct")).has_value());
  REQUIRE(rig.log().find("duplicate service name") != std::string::npos);

  // Without the list the service polls under the name, and keeps polling
  // after the list's removal (which must not drop what the service uses).
  rig.RewriteConfig(std::string(kFast) + service);
  REQUIRE(sse::test::HttpRequest(rig.port(), "POST", "/-/reload").status ==
          200);
  REQUIRE(rig.WaitValue("muster_service_up", Svc("db", "Direct"), 1));
  const double before =
      rig.Value("service_state_exporter_polls_total", db_ok).value_or(0);
  REQUIRE(rig.WaitAtLeast("service_state_exporter_polls_total", db_ok,
                          before + 3, 5s));
  REQUIRE(rig.Get("/-/healthy").status == 200);
}
