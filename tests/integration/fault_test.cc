// The fault suite: the real exporter polls a fleet of services that
// misbehave in every way a real one can, all at once. For each: the
// observed state and poll outcome of the README table
// "How a poll becomes a state"; meanwhile the exporter stays alive, every
// /metrics scrape is answered in under 0.5 s, its RSS stays bounded and a
// service that invents a new state on every poll is capped.

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
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
using Clock = std::chrono::steady_clock;

namespace {

#if defined(__SANITIZE_ADDRESS__)
// ASan's shadow memory and quarantine inflate RSS several times over, and
// everything runs a few times slower.
constexpr std::uint64_t kMaxRss = 512ull << 20;
constexpr double kMaxScrapeSeconds = 2.0;
#else
// A 64 MiB body held in memory would exceed this on its own.
constexpr std::uint64_t kMaxRss = 64ull << 20;
constexpr double kMaxScrapeSeconds = 0.5;
#endif

const std::string kInjectNewline =
    "running\"} "
    "1\nmuster_service_up{service_name=\"victim\",service_type=\"x\"} 1\n# ";
const std::string kInjectKept =
    "x\"} 1 muster_service_up{service_name=\"victim\"";
const std::string kInjectHtml = "<script>alert('victim')</script>";

FakeResponse Json(unsigned status, std::string body) {
  FakeResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

FakeResponse Raw(std::string raw) {
  FakeResponse r;
  r.raw = std::move(raw);
  return r;
}

// The hostile fleet: one fake service, one misbehaviour per path.
FakeResponse Misbehave(const FakeRequest& req) {
  const std::string& path = req.target;
  if (path == "/control") return Json(200, R"({"state":"running"})");
  if (path == "/never") {
    FakeResponse r;
    r.hang = true;
    return r;
  }
  if (path == "/drip") {
    FakeResponse r =
        Raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n{\"state\":\"running\"");
    r.drip = 1s;
    r.stream_fill = ' ';
    return r;
  }
  if (path == "/drip_headers") {
    FakeResponse r = Raw("HTTP/1.1 200 OK\r\nX-Slow: ");
    r.drip = 1s;
    return r;
  }
  if (path == "/huge") {
    FakeResponse r =
        Raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Content-Length: 67108864\r\n\r\n");
    r.stream_bytes = 64ull << 20;
    return r;
  }
  if (path == "/huge_chunked") {
    FakeResponse r =
        Raw("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
    r.stream_bytes = 64ull << 20;
    r.stream_chunked = true;
    return r;
  }
  if (path == "/truncated_json") return Json(200, R"({"state":"runn)");
  if (path == "/truncated_http") {
    return Raw(
        "HTTP/1.1 200 OK\r\nContent-Length: "
        "100\r\n\r\n{\"state\":\"running\"}");
  }
  if (path == "/non_utf8") return Json(200, "{\"state\":\"run\xff\xfening\"}");
  if (path == "/deep") {
    const int levels = 200000;
    return Json(200, R"({"state":"running","x":)" + std::string(levels, '[') +
                         std::string(levels, ']') + "}");
  }
  if (path == "/state_number") return Json(200, R"({"state":42})");
  if (path == "/state_object")
    return Json(200, R"({"state":{"name":"running"}})");
  if (path == "/state_null") return Json(200, R"({"state":null})");
  if (path == "/state_array") return Json(200, R"({"state":["running"]})");
  if (path == "/long_state")
    return Json(200, R"({"state":")" + std::string(10000, 'r') + "\"}");
  if (path == "/empty") return Json(200, "");
  if (path == "/html") {
    FakeResponse r =
        Json(200, "<!DOCTYPE html><html><body>It works!</body></html>");
    r.content_type = "text/html";
    return r;
  }
  if (path == "/html_502") {
    FakeResponse r =
        Json(502, "<html><body><h1>502 Bad Gateway</h1></body></html>");
    r.content_type = "text/html";
    return r;
  }
  if (path == "/reset_mid_body") {
    FakeResponse r =
        Raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"state\":\"runn");
    r.reset = true;
    return r;
  }
  if (path == "/reset_at_once") {
    FakeResponse r;
    r.close = true;
    r.reset = true;
    return r;
  }
  if (path == "/redirect_loop") {
    FakeResponse r = Json(302, "");
    r.headers["Location"] = "/redirect_loop";
    return r;
  }
  if (path == "/random") {
    static std::mt19937_64 rng(std::random_device{}());
    char state[24];
    std::snprintf(state, sizeof state, "s%016llx",
                  static_cast<unsigned long long>(rng()));
    return Json(200, nlohmann::json{{"state", state}}.dump());
  }
  if (path == "/inject_newline")
    return Json(200, nlohmann::json{{"state", kInjectNewline}}.dump());
  if (path == "/inject_kept")
    return Json(200, nlohmann::json{{"state", kInjectKept}}.dump());
  if (path == "/inject_html")
    return Json(200, nlohmann::json{{"state", kInjectHtml}}.dump());
  if (path == "/big_header") {
    return Raw("HTTP/1.1 200 OK\r\nX-Big: " + std::string(200 * 1024, 'h') +
               "\r\nContent-Length: 19\r\n\r\n{\"state\":\"running\"}");
  }
  if (path == "/garbage") return Raw("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
  return Json(404, "");
}

struct Case {
  std::string name;
  std::string url;  // a path on the fake, or a whole URL
  std::string state;
  std::vector<std::string> outcomes;  // the allowed ones (usually one)
  std::string extra;                  // more YAML for the service
};

std::vector<Case> Cases(std::uint16_t refused_port) {
  const std::vector<std::string> unreachable_timeout = {"timeout"};
  return {
      {"control", "/control", "running", {"ok"}, ""},
      {"never_answers", "/never", "unreachable", {"timeout"}, ""},
      {"drip_body", "/drip", "unreachable", {"timeout"}, ""},
      {"drip_headers", "/drip_headers", "unreachable", {"timeout"}, ""},
      {"huge_body", "/huge", "unknown", {"too_large"}, ""},
      {"huge_chunked_body", "/huge_chunked", "unknown", {"too_large"}, ""},
      {"truncated_json", "/truncated_json", "unknown", {"invalid_body"}, ""},
      {"truncated_http",
       "/truncated_http",
       "unreachable",
       {"connect_error"},
       ""},
      {"non_utf8", "/non_utf8", "unknown", {"invalid_body"}, ""},
      {"deep_nesting", "/deep", "unknown", {"invalid_body"}, ""},
      {"state_number", "/state_number", "unknown", {"invalid_body"}, ""},
      {"state_object", "/state_object", "unknown", {"invalid_body"}, ""},
      {"state_null", "/state_null", "unknown", {"invalid_body"}, ""},
      {"state_array", "/state_array", "unknown", {"invalid_body"}, ""},
      {"long_state", "/long_state", "unknown", {"invalid_body"}, ""},
      {"empty_body", "/empty", "unknown", {"invalid_body"}, ""},
      {"html", "/html", "unknown", {"invalid_body"}, ""},
      {"html_502", "/html_502", "error", {"http_error"}, ""},
      {"reset_mid_body",
       "/reset_mid_body",
       "unreachable",
       {"connect_error"},
       ""},
      {"reset_at_once", "/reset_at_once", "unreachable", {"connect_error"}, ""},
      {"redirect_loop",
       "/redirect_loop",
       "unknown",
       {"http_error"},
       "    follow_redirects: true\n"},
      // Polled faster than the rest, so that it reaches its cap of states
      // within the time the slow cases need for their polls.
      {"random_states",
       "/random",
       "other",
       {"ok"},
       "    interval: 250ms\n    timeout: 250ms\n"},
      {"inject_newline", "/inject_newline", "unknown", {"invalid_body"}, ""},
      {"inject_kept",
       "/inject_kept",
       kInjectKept,
       {"ok"},
       "    keep_case: true\n"},
      {"inject_html",
       "/inject_html",
       kInjectHtml,
       {"ok"},
       "    keep_case: true\n"},
      {"big_header", "/big_header", "unknown", {"http_error"}, ""},
      {"garbage", "/garbage", "unknown", {"http_error"}, ""},
      {"refused",
       "http://127.0.0.1:" + std::to_string(refused_port) + "/",
       "unreachable",
       {"connect_error"},
       ""},
      // Usually answered at once (NXDOMAIN); where the resolver cannot reach
      // a DNS server at all, the lookup runs into the poll timeout instead.
      {"unresolvable",
       "http://nonexistent.invalid/status",
       "unreachable",
       {"connect_error", "timeout"},
       ""},
  };
}

// Scrapes /metrics in a loop until stopped; records the slowest answer,
// failures, and the exporter's peak RSS and open fds.
class Scraper {
 public:
  Scraper(std::uint16_t port, pid_t pid) : port_(port), pid_(pid) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Scraper() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::atomic<int> scrapes{0};  // read while it runs
  int failures = 0;
  double slowest = 0;
  std::uint64_t peak_rss = 0;
  int peak_fds = 0;

 private:
  void Run() {
    while (!stop_) {
      auto start = Clock::now();
      auto reply = sse::test::HttpRequest(port_, "GET", "/metrics", {}, 5s);
      double took = std::chrono::duration<double>(Clock::now() - start).count();
      ++scrapes;
      if (reply.status != 200) ++failures;
      slowest = std::max(slowest, took);
      peak_rss = std::max(peak_rss, sse::test::ReadRssBytes(pid_));
      peak_fds = std::max(peak_fds, sse::test::CountOpenFds(pid_));
      std::this_thread::sleep_for(50ms);
    }
  }
  std::uint16_t port_;
  pid_t pid_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

nlohmann::json ServiceJson(std::uint16_t port, const std::string& name) {
  auto reply = sse::test::HttpGet(port, "/api/v1/services?name=" + name);
  if (reply.status != 200) return nullptr;
  auto doc = nlohmann::json::parse(reply.body, nullptr, false);
  if (doc.is_discarded() || doc["services"].size() != 1) return nullptr;
  return doc["services"][0];
}

int PromtoolCheck(const std::string& text, std::string& output) {
  std::string promtool = sse::test::FindProgram("promtool");
  REQUIRE_FALSE(promtool.empty());
  sse::test::TempDir dir;
  std::string file = dir.Write("metrics.txt", text);
  return sse::test::RunCommand(
      {"/bin/sh", "-c", promtool + " check metrics < " + file}, output);
}

}  // namespace

TEST_CASE(
    "a fleet of broken services: right states and outcomes, exporter unharmed",
    "[fault]") {
  FakeService fake;
  fake.SetHandler(Misbehave);
  // FreePort: a port nobody listens on (the `refused` case).
  const auto cases = Cases(sse::test::FreePort());
  std::string yaml =
      "global:\n  poll_interval: 500ms\n  poll_timeout: 500ms\nservices:\n";
  for (const auto& c : cases) {
    const std::string url =
        c.url.rfind("http", 0) == 0 ? c.url : fake.Url(c.url);
    yaml += "  - name: " + c.name + "\n    type: hostile\n    url: " + url +
            "\n    source: json\n" + c.extra;
  }
  ExporterRig rig(yaml);
  const auto start = Clock::now();
  Scraper scraper(rig.port(), rig.process().pid());

  for (const auto& c : cases) {
    CAPTURE(c.name);
    nlohmann::json last;
    const bool settled = sse::test::WaitFor(
        [&] {
          last = ServiceJson(rig.port(), c.name);
          if (last.is_null()) return false;
          const std::string outcome = last["last_poll"]["outcome"];
          return last["state"] == c.state &&
                 std::find(c.outcomes.begin(), c.outcomes.end(), outcome) !=
                     c.outcomes.end();
        },
        15s);
    CAPTURE(last.dump());
    CHECK(settled);
  }
  // Keep the fleet polled, with the scraper running, until the assertions
  // below have what they need: at least 3 polls of each case, the inventive
  // service past its cap of 16 states, and 20 scrapes.
  const auto allowed_polls = [&](const std::vector<sse::test::Sample>& samples,
                                 const Case& c) {
    double n = 0;
    for (const auto& outcome : c.outcomes) {
      n += sse::test::FindSample(
               samples, "service_state_exporter_polls_total",
               {{"service_name", c.name}, {"outcome", outcome}})
               .value_or(0);
    }
    return n;
  };
  std::string waiting_for;
  const bool polled_enough = sse::test::WaitFor(
      [&] {
        const auto reply = sse::test::HttpGet(rig.port(), "/metrics");
        if (reply.status != 200) return false;
        const auto samples = sse::test::ParseExposition(reply.body);
        for (const auto& c : cases) {
          waiting_for = c.name;
          if (allowed_polls(samples, c) < 3) return false;
        }
        waiting_for = "random_states past the cap";
        if (sse::test::FindSample(
                samples, "service_state_exporter_polls_total",
                {{"service_name", "random_states"}, {"outcome", "ok"}})
                    .value_or(0) <= 16 ||
            rig.log().find("service reports more distinct states than "
                           "allowed") == std::string::npos)
          return false;
        waiting_for = "20 scrapes";
        return scraper.scrapes.load() >= 20;
      },
      40s, 200ms);
  CAPTURE(waiting_for);
  CHECK(polled_enough);
  const double polled_seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  CAPTURE(polled_seconds);
  scraper.Stop();

  const std::string text = rig.ScrapeText();
  const auto samples = sse::test::ParseExposition(text);
  for (const auto& c : cases) {
    CAPTURE(c.name);
    // Every poll of the service had one of the expected outcomes.
    double expected = 0;
    double other = 0;
    for (const auto& s :
         sse::test::FindSamples(samples, "service_state_exporter_polls_total",
                                {{"service_name", c.name}})) {
      const bool allowed =
          std::find(c.outcomes.begin(), c.outcomes.end(),
                    s.labels.at("outcome")) != c.outcomes.end();
      (allowed ? expected : other) += s.value;
    }
    CAPTURE(expected, other);
    CHECK(expected >= 3);
    CHECK(other == 0);
    // One-hot: exactly the expected state is 1.
    for (const auto& s : sse::test::FindSamples(samples, "muster_service_state",
                                                {{"service_name", c.name}})) {
      CAPTURE(s.labels.at("state"));
      CHECK(s.value == (s.labels.at("state") == c.state ? 1.0 : 0.0));
    }
    CHECK(sse::test::FindSample(samples, "muster_service_state",
                                {{"service_name", c.name},
                                 {"service_type", "hostile"},
                                 {"state", c.state}}) == 1.0);
  }

  // The inventive service: at most 16 distinct states, then `other`
  // (plus `unknown`, which does not count); transition pairs stay bounded.
  const auto states = sse::test::FindSamples(
      samples, "muster_service_state", {{"service_name", "random_states"}});
  CHECK(states.size() <= 16 + 2);
  CHECK(sse::test::FindSamples(samples,
                               "muster_service_state_transitions_total",
                               {{"service_name", "random_states"}})
            .size() <= 18 * 17);
  CHECK(sse::test::FindSample(
            samples, "service_state_exporter_polls_total",
            {{"service_name", "random_states"}, {"outcome", "ok"}})
            .value_or(0) > 16);
  CHECK(rig.log().find("service reports more distinct states than allowed") !=
        std::string::npos);

  // Nothing was injected: no series of the victim, the exposition is valid.
  for (const auto& s : samples) {
    for (const auto& [name, value] : s.labels) {
      CAPTURE(s.name, name, value);
      CHECK(value != "victim");
    }
  }
  std::string output;
  CHECK(PromtoolCheck(text, output) == 0);
  CAPTURE(output);
  // Nor in OpenMetrics, nor as markup in the landing page.
  auto om = sse::test::HttpGet(
      rig.port(), "/metrics",
      {{"Accept", "application/openmetrics-text;version=1.0.0"}});
  REQUIRE(om.status == 200);
  for (const auto& s : sse::test::ParseExposition(om.body)) {
    CHECK((s.labels.count("service_name") == 0 ||
           s.labels.at("service_name") != "victim"));
  }
  const std::string page = sse::test::HttpGet(rig.port(), "/").body;
  CHECK(page.find("<script>") == std::string::npos);
  CHECK(page.find("&lt;script&gt;alert(&#39;victim&#39;)") !=
        std::string::npos);

  // The exporter stayed healthy and served every scrape promptly.
  const int scrapes = scraper.scrapes.load();
  CAPTURE(scrapes, scraper.failures, scraper.slowest, scraper.peak_rss,
          scraper.peak_fds);
  CHECK(scrapes >= 20);
  CHECK(scraper.failures == 0);
  CHECK(scraper.slowest < kMaxScrapeSeconds);
  CHECK(scraper.peak_rss > 0);
  CHECK(scraper.peak_rss < kMaxRss);
  // About one connection per service at most, plus the listener and logs.
  CHECK(scraper.peak_fds < static_cast<int>(cases.size()) * 2 + 20);
  REQUIRE(rig.process().running());
  REQUIRE(sse::test::HttpGet(rig.port(), "/-/healthy").status == 200);
  REQUIRE(rig.process().Stop() == 0);
}

TEST_CASE("a hanging name resolver stalls nothing but the polls of that name",
          "[fault]") {
  FakeService fake;
  fake.SetHandler([](const FakeRequest&) {
    // A new connection, so a new name lookup, for every poll.
    FakeResponse r = Json(200, R"({"state":"running"})");
    r.keep_alive = false;
    return r;
  });
  std::string yaml =
      "global:\n  poll_interval: 500ms\n  poll_timeout: 500ms\nservices:\n";
  for (int i = 0; i < 3; ++i) {
    yaml += "  - name: slow" + std::to_string(i) + "\n    url: http://svc" +
            std::to_string(i) + ".slow.test:" + std::to_string(fake.port()) +
            "/\n    source: json\n";
  }
  for (int i = 0; i < 3; ++i) {
    yaml += "  - name: named" + std::to_string(i) +
            "\n    url: http://localhost:" + std::to_string(fake.port()) +
            "/n" + std::to_string(i) + "\n    source: json\n";
  }
  std::string asan =
      std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
  ExporterRig rig(yaml, {},
                  {{"LD_PRELOAD", SSE_SLOW_RESOLVER},
                   {"SSE_SLOW_RESOLVER_SECONDS", "30"},
                   // The shim is loaded before the ASan runtime.
                   {"ASAN_OPTIONS", asan + (asan.empty() ? "" : ":") +
                                        "verify_asan_link_order=0"}});
  Scraper scraper(rig.port(), rig.process().pid());
  // Within the 8 s this test used to sleep: the hanging names have had 6
  // polls end at their timeout, the others 12 good polls (checked below).
  const auto enough_polls = [](const std::vector<sse::test::Sample>& samples) {
    for (int i = 0; i < 3; ++i) {
      const auto polls = [&](const std::string& name, const char* outcome) {
        return sse::test::FindSample(
                   samples, "service_state_exporter_polls_total",
                   {{"service_name", name}, {"outcome", outcome}})
            .value_or(0);
      };
      if (polls("slow" + std::to_string(i), "timeout") < 6 ||
          polls("named" + std::to_string(i), "ok") < 12)
        return false;
    }
    return true;
  };
  CHECK(sse::test::WaitFor(
      [&] {
        const auto reply = sse::test::HttpGet(rig.port(), "/metrics");
        return reply.status == 200 &&
               enough_polls(sse::test::ParseExposition(reply.body));
      },
      8s, 200ms));
  scraper.Stop();
  const auto samples = rig.Scrape();
  for (int i = 0; i < 3; ++i) {
    const std::string slow = "slow" + std::to_string(i);
    const std::string named = "named" + std::to_string(i);
    CAPTURE(slow, named);
    // Each poll of a hanging name ends at its 500 ms timeout, not 30 s later
    // (a poll that takes the whole interval skips the next slot: ~1/s).
    CHECK(
        sse::test::FindSample(samples, "service_state_exporter_polls_total",
                              {{"service_name", slow}, {"outcome", "timeout"}})
            .value_or(0) >= 6);
    CHECK(sse::test::FindSample(samples, "muster_service_state",
                                {{"service_name", slow},
                                 {"service_type", "service"},
                                 {"state", "unreachable"}}) == 1.0);
    // Names that resolve keep being looked up and polled at full rate.
    CHECK(sse::test::FindSample(samples, "service_state_exporter_polls_total",
                                {{"service_name", named}, {"outcome", "ok"}})
              .value_or(0) >= 12);
    CHECK(sse::test::FindSamples(samples, "service_state_exporter_polls_total",
                                 {{"service_name", named}})
              .size() == 1);
  }
  // Poll durations stay within the timeout (plus a little): none over 1 s.
  CHECK(sse::test::FindSample(
            samples, "service_state_exporter_poll_duration_seconds_bucket",
            {{"le", "1"}}) ==
        sse::test::FindSample(
            samples, "service_state_exporter_poll_duration_seconds_count", {}));
  CAPTURE(scraper.scrapes.load(), scraper.slowest);
  CHECK(scraper.failures == 0);
  CHECK(scraper.slowest < kMaxScrapeSeconds);
  // Shutdown is not held up by the lookups still hanging.
  auto stop_start = Clock::now();
  REQUIRE(rig.process().Stop() == 0);
  CHECK(Clock::now() - stop_start < 3s);
}

TEST_CASE("a fleet of 10,000 services shuts down promptly on SIGTERM",
          "[fault]") {
  // FreePort: nothing listens there; the long interval keeps polls rare.
  const std::string url =
      "http://127.0.0.1:" + std::to_string(sse::test::FreePort()) + "/svc/";
  std::string yaml =
      "global:\n  poll_interval: 10m\n  poll_timeout: 1s\nservices:\n";
  for (int i = 0; i < 10000; ++i) {
    yaml += "  - {name: svc-" + std::to_string(i) + ", url: '" + url +
            std::to_string(i) + "', source: json}\n";
  }
  ExporterRig rig(yaml, {"--log.level=info"});
  REQUIRE(sse::test::WaitFor(
      [&] { return rig.log().find("msg=listening") != std::string::npos; },
      10s));
  const auto start = Clock::now();
  rig.process().Signal(SIGTERM);
  auto code = rig.process().Wait(20s);
  const double took =
      std::chrono::duration<double>(Clock::now() - start).count();
  CAPTURE(took);
  REQUIRE(code == 0);
  // It took 30 s before (one-by-one series removal at exit is quadratic),
  // beyond Kubernetes' default grace period.
  REQUIRE(took < 5);
}

TEST_CASE("the open files limit is raised to the hard limit for large fleets",
          "[fault]") {
  const std::string prlimit = sse::test::FindProgram("prlimit");
  REQUIRE_FALSE(prlimit.empty());
  sse::test::TempDir dir;
  const std::string config = dir.Write("config.yaml", "services: []\n");
  // A soft limit of 256 would allow ~250 kept-alive poll connections.
  sse::test::Process exporter(
      {prlimit, "--nofile=256:4096", SSE_BINARY, "--config.file=" + config,
       "--web.listen-address=127.0.0.1:0"},
      (dir.path() / "exporter.log").string());
  const std::uint16_t port = sse::test::WaitListeningPort(exporter);
  REQUIRE(port != 0);
  std::optional<double> max_fds;
  REQUIRE(sse::test::WaitFor(
      [&] {
        auto reply = sse::test::HttpGet(port, "/metrics");
        if (reply.status != 200) return false;
        max_fds = sse::test::FindSample(sse::test::ParseExposition(reply.body),
                                        "process_max_fds", {});
        return true;
      },
      10s));
  REQUIRE(max_fds == 4096.0);
}
