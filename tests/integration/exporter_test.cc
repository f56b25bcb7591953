#include <signal.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "exporter_rig.h"
#include "support/fake_service.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using sse::test::ExporterRig;
using sse::test::FakeService;
using Labels = std::map<std::string, std::string>;

namespace {

std::string OneService(const std::string& url, const std::string& extra = "") {
  return "global:\n  poll_interval: 100ms\n  poll_timeout: 100ms\n"
         "services:\n  - name: fake\n    type: MCPServer\n    url: " +
         url + "\n    source: json\n" + extra;
}

const Labels kFake{{"service_name", "fake"}, {"service_type", "MCPServer"}};

Labels Pair(const std::string& from, const std::string& to) {
  Labels l = kFake;
  l["from_state"] = from;
  l["to_state"] = to;
  return l;
}

std::string Gunzip(const std::string& data) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out;
  char buf[65536];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

// Runs promtool check metrics on an exposition; returns its exit code.
int PromtoolCheck(const std::string& text, std::string& output) {
  std::string promtool = sse::test::FindProgram("promtool");
  REQUIRE_FALSE(promtool.empty());
  sse::test::TempDir dir;
  std::string file = dir.Write("metrics.txt", text);
  return sse::test::RunCommand(
      {"/bin/sh", "-c", promtool + " check metrics < " + file}, output);
}

}  // namespace

TEST_CASE("states flipped by the service show up as exact counts and up values",
          "[exporter]") {
  FakeService fake;
  fake.SetState("running");
  ExporterRig rig(OneService(fake.Url("/status")));
  REQUIRE(rig.WaitValue("muster_service_up", kFake, 1));
  // The first observation is not a transition.
  REQUIRE(rig.Value("muster_service_state_changes_total", kFake) == 0.0);

  fake.SetState("failed");
  REQUIRE(rig.WaitValue("muster_service_up", kFake, 0));
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("running", "failed"), 1));
  REQUIRE(rig.Value("muster_service_state_transitions_total",
                    Pair("failed", "running")) == 0.0);

  fake.SetState("running");
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("failed", "running"), 1));
  fake.SetState("starting");
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("running", "starting"), 1));
  fake.SetState("connected");
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("starting", "connected"), 1));
  REQUIRE(rig.WaitValue("muster_service_up", kFake, 1));

  // Steady state: nothing more is counted.
  std::this_thread::sleep_for(500ms);
  auto samples = rig.Scrape();
  REQUIRE(sse::test::FindSample(samples, "muster_service_state_changes_total",
                                kFake) == 4.0);
  REQUIRE(sse::test::FindSample(samples,
                                "muster_service_state_transitions_total",
                                Pair("running", "failed")) == 1.0);
  Labels one_hot = kFake;
  one_hot["state"] = "connected";
  REQUIRE(sse::test::FindSample(samples, "muster_service_state", one_hot) ==
          1.0);
  one_hot["state"] = "running";
  REQUIRE(sse::test::FindSample(samples, "muster_service_state", one_hot) ==
          0.0);
  auto ok =
      sse::test::FindSample(samples, "service_state_exporter_polls_total",
                            {{"service_name", "fake"}, {"outcome", "ok"}});
  REQUIRE(ok.value_or(0) >= 5);
  REQUIRE(rig.process().Stop() == 0);
}

TEST_CASE("a transport failure is observed as unreachable", "[exporter]") {
  auto fake = std::make_unique<FakeService>();
  ExporterRig rig(OneService(fake->Url("/status")));
  REQUIRE(rig.WaitValue("muster_service_up", kFake, 1));
  fake.reset();  // the service goes away: connection refused
  REQUIRE(rig.WaitValue("muster_service_state_transitions_total",
                        Pair("running", "unreachable"), 1));
  REQUIRE(rig.Value("muster_service_up", kFake) == 0.0);
  // The poll in flight when it went away may time out; later ones are refused.
  CAPTURE(rig.process().log());
  REQUIRE(rig.WaitAtLeast(
      "service_state_exporter_polls_total",
      {{"service_name", "fake"}, {"outcome", "connect_error"}}, 1, 5s));
  REQUIRE(rig.Value("muster_service_state_changes_total", kFake) == 1.0);
}

TEST_CASE("a poll that times out is unreachable with outcome timeout",
          "[exporter]") {
  FakeService fake;
  fake.SetHandler([](const sse::test::FakeRequest&) {
    sse::test::FakeResponse r;
    r.delay = 2s;
    return r;
  });
  ExporterRig rig(OneService(fake.Url("/status")));
  Labels state = kFake;
  state["state"] = "unreachable";
  REQUIRE(rig.WaitValue("muster_service_state", state, 1));
  auto timeouts = rig.Value("service_state_exporter_polls_total",
                            {{"service_name", "fake"}, {"outcome", "timeout"}});
  REQUIRE(timeouts.value_or(0) >= 1);
}

TEST_CASE("promtool check metrics passes, also with hostile state strings",
          "[exporter][promtool]") {
  FakeService fake;
  // A state with quotes, braces and backslashes is kept and escaped.
  const std::string hostile = "x\"} 1 fake{a=\"b\\";
  fake.SetState(hostile);
  ExporterRig rig(OneService(fake.Url("/status"), "    keep_case: true\n"));
  Labels state = kFake;
  state["state"] = hostile;
  REQUIRE(rig.WaitValue("muster_service_state", state, 1));
  std::string text = rig.ScrapeText();
  std::string output;
  int code = PromtoolCheck(text, output);
  CAPTURE(output);
  REQUIRE(code == 0);
  REQUIRE(
      sse::test::FindSamples(sse::test::ParseExposition(text), "fake").empty());

  // With a newline the state is refused: observed as unknown, invalid_body.
  fake.SetState("x\"} 1\nfake{a=\"b");
  Labels unknown = kFake;
  unknown["state"] = "unknown";
  REQUIRE(rig.WaitValue("muster_service_state", unknown, 1));
  auto invalid =
      rig.Value("service_state_exporter_polls_total",
                {{"service_name", "fake"}, {"outcome", "invalid_body"}});
  REQUIRE(invalid.value_or(0) >= 1);
  text = rig.ScrapeText();
  code = PromtoolCheck(text, output);
  CAPTURE(output);
  REQUIRE(code == 0);
  REQUIRE(
      sse::test::FindSamples(sse::test::ParseExposition(text), "fake").empty());
}

TEST_CASE("/metrics speaks gzip and OpenMetrics when asked",
          "[exporter][promtool]") {
  FakeService fake;
  ExporterRig rig(OneService(fake.Url("/status")));
  REQUIRE(rig.WaitValue("muster_service_up", kFake, 1));
  auto gz =
      sse::test::HttpGet(rig.port(), "/metrics", {{"Accept-Encoding", "gzip"}});
  REQUIRE(gz.status == 200);
  REQUIRE(gz.headers["content-encoding"] == "gzip");
  auto samples = sse::test::ParseExposition(Gunzip(gz.body));
  REQUIRE(sse::test::FindSample(samples, "muster_service_up", kFake) == 1.0);

  auto om =
      sse::test::HttpGet(rig.port(), "/metrics",
                         {{"Accept",
                           "application/openmetrics-text;version=1.0.0,text/"
                           "plain;version=0.0.4;q=0.5"}});
  REQUIRE(om.status == 200);
  REQUIRE(om.headers["content-type"].rfind(
              "application/openmetrics-text; version=1.0.0", 0) == 0);
  REQUIRE(om.body.size() > 6);
  REQUIRE(om.body.substr(om.body.size() - 6) == "# EOF\n");
  // promtool 2.42 lints only text 0.0.4; OpenMetrics is checked by the real
  // Prometheus scrape in prometheus_test.cc, which negotiates it.
  auto om_samples = sse::test::ParseExposition(om.body);
  REQUIRE(sse::test::FindSample(
              om_samples, "muster_service_state_changes_total", kFake) == 0.0);

  auto text = sse::test::HttpGet(rig.port(), "/metrics");
  REQUIRE(text.headers["content-type"] ==
          "text/plain; version=0.0.4; charset=utf-8");
  REQUIRE(text.headers.count("content-encoding") == 0);
}

TEST_CASE("the exporter's own series are served", "[exporter]") {
  FakeService fake;
  ExporterRig rig(OneService(fake.Url("/status")));
  REQUIRE(rig.WaitValue("muster_service_up", kFake, 1));
  auto samples = rig.Scrape();
  REQUIRE(sse::test::FindSamples(samples, "service_state_exporter_build_info")
              .size() == 1);
  REQUIRE(
      sse::test::FindSamples(samples, "service_state_exporter_build_info")[0]
          .labels.count("version") == 1);
  REQUIRE(sse::test::FindSample(
              samples, "service_state_exporter_config_last_reload_successful",
              {}) == 1.0);
  REQUIRE(sse::test::FindSample(
              samples, "service_state_exporter_poll_duration_seconds_count", {})
              .value_or(0) >= 1);
  REQUIRE(sse::test::FindSample(
              samples, "service_state_exporter_last_poll_timestamp_seconds",
              {{"service_name", "fake"}})
              .value_or(0) > 1.7e9);
  // CPU time is counted in clock ticks (10 ms): a young exporter on a fast
  // machine may show 0, but the series must be there.
  REQUIRE(sse::test::FindSample(samples, "process_cpu_seconds_total", {})
              .value_or(-1) >= 0);
  for (const char* name :
       {"process_resident_memory_bytes", "process_virtual_memory_bytes",
        "process_open_fds", "process_max_fds", "process_start_time_seconds"}) {
    CAPTURE(name);
    REQUIRE(sse::test::FindSample(samples, name, {}).value_or(0) > 0);
  }
}

TEST_CASE("endpoints: health, readiness, 404, 405, lifecycle off",
          "[exporter]") {
  FakeService fake;
  fake.SetHandler([](const sse::test::FakeRequest&) {
    sse::test::FakeResponse r;
    r.delay = 1500ms;
    r.body = R"({"state":"running"})";
    return r;
  });
  ExporterRig rig(
      "global:\n  poll_interval: 5s\n  poll_timeout: 3s\n"
      "services:\n  - name: fake\n    type: MCPServer\n    url: " +
      fake.Url("/status") + "\n    source: json\n");
  // Not polled yet: not ready.
  auto ready = sse::test::HttpGet(rig.port(), "/-/ready");
  REQUIRE(ready.status == 503);
  REQUIRE(sse::test::WaitFor(
      [&] { return sse::test::HttpGet(rig.port(), "/-/ready").status == 200; },
      10s));
  REQUIRE(sse::test::HttpGet(rig.port(), "/-/healthy").status == 200);
  REQUIRE(sse::test::HttpGet(rig.port(), "/nope").status == 404);
  auto post = sse::test::HttpRequest(rig.port(), "POST", "/metrics");
  REQUIRE(post.status == 405);
  REQUIRE(post.headers["allow"] == "GET, HEAD");
  REQUIRE(sse::test::HttpRequest(rig.port(), "POST", "/-/reload").status ==
          403);
  auto head = sse::test::HttpRequest(rig.port(), "HEAD", "/metrics");
  REQUIRE(head.status == 200);
  REQUIRE(head.body.empty());
  auto api = sse::test::HttpGet(rig.port(), "/api/v1/services?name=fake");
  REQUIRE(api.status == 200);
  auto doc = nlohmann::json::parse(api.body);
  REQUIRE(doc["services"].size() == 1);
  REQUIRE(doc["services"][0]["state"] == "running");
  REQUIRE(doc["services"][0]["last_poll"]["outcome"] == "ok");
  auto none = nlohmann::json::parse(
      sse::test::HttpGet(rig.port(), "/api/v1/services?name=other").body);
  REQUIRE(none["services"].empty());
  auto page = sse::test::HttpGet(rig.port(), "/");
  REQUIRE(page.status == 200);
  REQUIRE(page.headers["content-type"].rfind("text/html", 0) == 0);
  REQUIRE(page.body.find("<td><a href=\"services/fake\">fake</a></td>") !=
          std::string::npos);
}

TEST_CASE("SIGTERM stops the exporter with exit code 0", "[exporter]") {
  ExporterRig rig("services: []\n");
  rig.process().Signal(SIGTERM);
  auto code = rig.process().Wait(5s);
  REQUIRE(code.has_value());
  REQUIRE(*code == 0);
}

// The name must not start with "--": Catch2 would read it as an option
// when CTest runs it by name.
TEST_CASE(
    "config check (--config.check) exits 0 for valid and 1 for invalid configs",
    "[exporter]") {
  std::string output;
  REQUIRE(sse::test::RunCommand(
              {SSE_BINARY, "--config.check",
               "--config.file=" SSE_SOURCE_DIR "/config/example.yaml"},
              output) == 0);
  REQUIRE(output.find("SUCCESS") != std::string::npos);
  // A file of lists and discovery only is not "0 services": every kind is
  // counted.
  REQUIRE(sse::test::RunCommand(
              {SSE_BINARY, "--config.check",
               "--config.file=" SSE_SOURCE_DIR "/config/muster-sidecar.yaml"},
              output) == 0);
  REQUIRE(
      output.find("(0 services, 1 lists, 0 file_sd and 0 http_sd blocks)") !=
      std::string::npos);
  const std::string bad =
      SSE_SOURCE_DIR "/tests/data/config/invalid-duplicate-name.yaml";
  REQUIRE(sse::test::RunCommand(
              {SSE_BINARY, "--config.check", "--config.file=" + bad}, output) ==
          1);
  REQUIRE(output.find(bad + ":5: services[1].name: duplicate service name") !=
          std::string::npos);
  // A bad config at start-up: exit 1 with the error logged.
  REQUIRE(sse::test::RunCommand({SSE_BINARY, "--config.file=" + bad,
                                 "--web.listen-address=127.0.0.1:0"},
                                output) == 1);
  REQUIRE(output.find("duplicate service name") != std::string::npos);
  REQUIRE(sse::test::RunCommand({SSE_BINARY, "--bogus"}, output) == 2);
  REQUIRE(sse::test::RunCommand({SSE_BINARY, "--version"}, output) == 0);
  REQUIRE(output.find("service_state_exporter, version") != std::string::npos);
}

// One verdict per file: a valid config with an invalid web config is not
// "SUCCESS ... valid" followed by "FAILED", and both files are checked.
TEST_CASE("config check gives one verdict per file and exits with it",
          "[exporter]") {
  const std::string config = SSE_SOURCE_DIR "/config/example.yaml";
  const std::string bad_config =
      SSE_SOURCE_DIR "/tests/data/config/invalid-duplicate-name.yaml";
  const std::string web =
      SSE_SOURCE_DIR "/tests/data/web_config/valid-empty.yml";
  const std::string bad_web =
      SSE_SOURCE_DIR "/tests/data/web_config/invalid-plain-password.yml";
  struct Case {
    std::string config, web;
    int code;
    std::vector<std::string> verdicts;
  };
  const std::vector<Case> cases = {
      {config, web, 0, {"SUCCESS: " + config, "SUCCESS: " + web}},
      {config, bad_web, 1, {"SUCCESS: " + config, "FAILED: " + bad_web}},
      {bad_config, web, 1, {"FAILED: " + bad_config, "SUCCESS: " + web}},
      {bad_config, bad_web, 1, {"FAILED: " + bad_config, "FAILED: " + bad_web}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.config, c.web);
    std::string output;
    REQUIRE(sse::test::RunCommand(
                {SSE_BINARY, "--config.check", "--config.file=" + c.config,
                 "--web.config.file=" + c.web},
                output) == c.code);
    std::vector<std::string> verdicts;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with("SUCCESS: ") || line.starts_with("FAILED: ")) {
        verdicts.push_back(line);
      }
    }
    CAPTURE(output);
    REQUIRE(verdicts.size() == c.verdicts.size());
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
      CHECK(verdicts[i].starts_with(c.verdicts[i]));
    }
  }
}

TEST_CASE("a port in use fails start-up with exit code 1", "[exporter]") {
  ExporterRig first("services: []\n");
  std::string output;
  int code = sse::test::RunCommand(
      {SSE_BINARY, "--config.file=" + first.config_path(),
       "--web.listen-address=127.0.0.1:" + std::to_string(first.port())},
      output, 10s);
  REQUIRE(code == 1);
  REQUIRE(output.find("cannot listen") != std::string::npos);
}

TEST_CASE("OpenMetrics output passes a strict OpenMetrics parser",
          "[exporter][openmetrics]") {
  // promtool 2.42 only lints text 0.0.4. The Python client's OpenMetrics
  // parser (Debian python3-prometheus-client) is strict: it checks # EOF,
  // counter _total samples, # UNIT suffixes, histogram buckets, escaping.
  const std::string python = "/usr/bin/python3";
  FakeService fake;
  const std::string hostile = "x\"} 1 fake{a=\"b\\";
  fake.SetState(hostile);
  ExporterRig rig(OneService(fake.Url("/status"), "    keep_case: true\n"));
  Labels state = kFake;
  state["state"] = hostile;
  REQUIRE(rig.WaitValue("muster_service_state", state, 1));
  fake.SetState("running");
  REQUIRE(rig.WaitValue("muster_service_up", kFake, 1));
  auto om = sse::test::HttpGet(
      rig.port(), "/metrics",
      {{"Accept", "application/openmetrics-text; version=1.0.0"}});
  REQUIRE(om.status == 200);
  sse::test::TempDir dir;
  const std::string file = dir.Write("metrics.om", om.body);
  const std::string script =
      "import sys\n"
      "from prometheus_client.openmetrics.parser import "
      "text_string_to_metric_families\n"
      "families = "
      "list(text_string_to_metric_families(open(sys.argv[1]).read()))\n"
      "names = {f.name: f for f in families}\n"
      "assert names['muster_service_state_transitions'].type == 'counter'\n"
      "assert names['service_state_exporter_poll_duration_seconds'].unit == "
      "'seconds'\n"
      "assert names['service_state_exporter_poll_duration_seconds'].type == "
      "'histogram'\n"
      "hostile = [s for s in names['muster_service_state'].samples if "
      "s.labels['state'] == sys.argv[2]]\n"
      "assert len(hostile) == 1, hostile\n"
      "print('families', len(families))\n";
  const std::string script_file = dir.Write("check.py", script);
  std::string output;
  const int code =
      sse::test::RunCommand({python, script_file, file, hostile}, output);
  CAPTURE(output, om.body);
  REQUIRE(code == 0);
  REQUIRE(output.find("families") != std::string::npos);

  // A truncated document (no # EOF) is rejected by the same parser: the
  // check above is not vacuous.
  const std::string truncated =
      dir.Write("truncated.om", om.body.substr(0, om.body.size() - 6));
  REQUIRE(sse::test::RunCommand({python, script_file, truncated, hostile},
                                output) != 0);
}
