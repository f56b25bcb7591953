// State history through the real exporter: the events API and its filters,
// the watch stream (latency, a reader that never reads), one service with
// its history, badges, history across kill -9 with the state file, and the
// landing page's filters and pages on 1,000 services.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "exporter_rig.h"
#include "support/fake_service.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using nlohmann::json;
using sse::test::ExporterRig;
using sse::test::FakeService;

namespace {

// A fake whose answer per path is a state the test sets ("/a" → state of
// "a"); unknown paths say "running".
class StateBoard {
 public:
  StateBoard() {
    fake_.SetHandler([this](const sse::test::FakeRequest& req) {
      sse::test::FakeResponse r;
      std::lock_guard lock(mutex_);
      auto it = states_.find(req.target.substr(1));
      r.body = std::string(R"({"state":")") +
               (it == states_.end() ? "running" : it->second) + "\"}";
      return r;
    });
  }
  void Set(const std::string& name, const std::string& state) {
    std::lock_guard lock(mutex_);
    states_[name] = state;
  }
  std::string Url(const std::string& name) const {
    return fake_.Url("/" + name);
  }

 private:
  FakeService fake_;
  std::mutex mutex_;
  std::map<std::string, std::string> states_;
};

std::set<std::string> Keys(const json& object) {
  std::set<std::string> out;
  for (const auto& [key, value] : object.items()) out.insert(key);
  return out;
}

json GetJson(ExporterRig& rig, const std::string& target) {
  auto reply = rig.Get(target);
  REQUIRE(reply.status == 200);
  return json::parse(reply.body);
}

std::string Service(const std::string& name, const std::string& type,
                    const std::string& url) {
  return "  - name: " + name + "\n    type: " + type +
         "\n    source: json\n    url: " + url + "\n";
}

const std::set<std::string> kEventKeys = {
    "time",       "timestamp", "service_name",      "service_type",
    "from_state", "to_state",  "first_observation", "outcome",
    "error"};

}  // namespace

TEST_CASE("events: newest first, filtered; one service with its history",
          "[history][api]") {
  StateBoard board;
  ExporterRig rig(
      "global:\n  poll_interval: 100ms\n  poll_timeout: 100ms\n"
      "services:\n" +
      Service("a", "db", board.Url("a")) + Service("b", "mcp", board.Url("b")));
  // Both observed (first observations), then a flips twice.
  REQUIRE(sse::test::WaitFor(
      [&] { return GetJson(rig, "/api/v1/events")["events"].size() == 2; },
      10s));
  board.Set("a", "failed");
  REQUIRE(sse::test::WaitFor(
      [&] { return GetJson(rig, "/api/v1/events")["events"].size() == 3; },
      10s));
  board.Set("a", "running");
  REQUIRE(sse::test::WaitFor(
      [&] { return GetJson(rig, "/api/v1/events")["events"].size() == 4; },
      10s));

  const json all = GetJson(rig, "/api/v1/events");
  REQUIRE(Keys(all) == std::set<std::string>{"events"});
  const json& events = all["events"];
  for (const auto& e : events) REQUIRE(Keys(e) == kEventKeys);
  // Newest first.
  for (std::size_t i = 1; i < events.size(); ++i)
    REQUIRE(events[i - 1]["timestamp"] >= events[i]["timestamp"]);
  REQUIRE(events[0]["service_name"] == "a");
  REQUIRE(events[0]["from_state"] == "failed");
  REQUIRE(events[0]["to_state"] == "running");
  REQUIRE(events[0]["first_observation"] == false);
  REQUIRE(events[0]["outcome"] == "ok");
  REQUIRE(events[1]["to_state"] == "failed");
  REQUIRE(events[3]["first_observation"] == true);
  REQUIRE(events[3]["from_state"] == "unknown");
  REQUIRE(std::regex_match(
      events[0]["time"].get<std::string>(),
      std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));

  REQUIRE(GetJson(rig, "/api/v1/events?service=b")["events"].size() == 1);
  REQUIRE(GetJson(rig, "/api/v1/events?type=db")["events"].size() == 3);
  REQUIRE(GetJson(rig, "/api/v1/events?limit=2")["events"] ==
          json(std::vector<json>{events[0], events[1]}));
  // since: RFC 3339 or Unix seconds; the failure and what came after.
  const std::string failed_at = events[1]["time"];
  REQUIRE(GetJson(rig, "/api/v1/events?since=" + failed_at)["events"].size() ==
          2);
  const double failed_ts = events[1]["timestamp"];
  REQUIRE(GetJson(rig, "/api/v1/events?since=" +
                           std::to_string(failed_ts - 0.0005))["events"]
              .size() == 2);
  for (const char* bad : {"since=yesterday", "limit=0", "limit=x",
                          "limit=10001", "watch=maybe", "service=%FF"}) {
    CAPTURE(bad);
    auto reply = rig.Get(std::string("/api/v1/events?") + bad);
    REQUIRE(reply.status == 400);
  }

  // One service: the fields of /api/v1/services plus its history.
  const json a = GetJson(rig, "/api/v1/services/a");
  REQUIRE(Keys(a) == std::set<std::string>{"name", "type", "state", "up",
                                           "since", "since_timestamp", "url",
                                           "last_poll", "pending",
                                           "transitions_total", "transitions",
                                           "history_size", "history"});
  REQUIRE(a["history_size"] == 64);
  REQUIRE(a["history"].size() == 3);
  for (const auto& e : a["history"]) {
    REQUIRE(Keys(e) == std::set<std::string>{"time", "timestamp", "from_state",
                                             "to_state", "first_observation",
                                             "outcome", "error"});
  }
  REQUIRE(a["history"][0]["to_state"] == "running");
  REQUIRE(a["history"][0]["timestamp"] == events[0]["timestamp"]);
  REQUIRE(rig.Get("/api/v1/services/nope").status == 404);

  // The HTML page of a service and its badge.
  auto page = rig.Get("/services/a");
  REQUIRE(page.status == 200);
  REQUIRE(page.headers["content-security-policy"].find("default-src 'none'") ==
          0);
  REQUIRE(page.body.find("History (3 of at most 64)") != std::string::npos);
  auto badge = rig.Get("/badge/a.svg");
  REQUIRE(badge.status == 200);
  REQUIRE(badge.headers["content-type"] == "image/svg+xml");
  REQUIRE(badge.headers["cache-control"] == "max-age=0");  // 100 ms polls
  REQUIRE(badge.body.find(">running</text>") != std::string::npos);
  REQUIRE(rig.Get("/badge/nope.svg").status == 404);
  REQUIRE(rig.Get("/badge/a.png").status == 404);
}

TEST_CASE("watch: a flip reaches a streaming client within interval + 100 ms",
          "[history][watch]") {
  StateBoard board;
  ExporterRig rig(
      "global:\n  poll_interval: 500ms\n  poll_timeout: 400ms\n"
      "services:\n" +
      Service("a", "db", board.Url("a")) + Service("b", "mcp", board.Url("b")));
  REQUIRE(sse::test::WaitFor(
      [&] { return GetJson(rig, "/api/v1/events")["events"].size() == 2; },
      10s));
  sse::test::RawConnection watch(rig.port());
  REQUIRE(
      watch.Send("GET /api/v1/events?watch=true&type=db HTTP/1.1\r\n"
                 "Host: 127.0.0.1\r\n\r\n"));
  const std::string head = watch.ReadUntil("watching transitions", 1, 5s);
  REQUIRE(head.find("HTTP/1.1 200") == 0);
  REQUIRE(head.find("Content-Type: text/event-stream") != std::string::npos);
  REQUIRE(head.find("Content-Length") == std::string::npos);

  int expected = 0;
  for (const char* state : {"failed", "running", "starting"}) {
    ++expected;
    const std::size_t seen = watch.received().size();
    board.Set("b", state);  // another type: filtered out
    board.Set("a", state);
    const auto flipped = std::chrono::steady_clock::now();
    std::string got = watch.ReadUntil("event: transition", expected, 5s);
    const auto latency = std::chrono::steady_clock::now() - flipped;
    CAPTURE(state, got.substr(seen));
    REQUIRE(got.size() > seen);
    REQUIRE(latency <= 600ms);
    const std::string last = got.substr(got.rfind("data: ") + 6);
    const json event = json::parse(last.substr(0, last.find('\n')));
    REQUIRE(event["service_name"] == "a");
    REQUIRE(event["to_state"] == state);
  }
  REQUIRE(watch.received().find("\"service_name\":\"b\"") == std::string::npos);

  // since= replays what came before, oldest first, then goes live.
  sse::test::RawConnection replay(rig.port());
  REQUIRE(
      replay.Send("GET /api/v1/events?watch=true&service=a&since=0 "
                  "HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  const std::string replayed = replay.ReadUntil("event: transition", 4, 5s);
  const std::size_t p1 = replayed.find("\"to_state\":\"running\"");
  const std::size_t p2 = replayed.find("\"to_state\":\"failed\"");
  const std::size_t p3 = replayed.find("\"to_state\":\"starting\"");
  REQUIRE(p1 < p2);
  REQUIRE(p2 < p3);
  // Stopping the exporter ends the streams.
  rig.process().Signal(SIGTERM);
  REQUIRE(watch.WaitClosed(10s));
  REQUIRE(rig.process().Wait(10s) == 0);
}

TEST_CASE("watch: a reader that never reads is dropped, memory stays flat",
          "[history][watch]") {
  // 200 services that flip at every poll (every 40 ms): ~5,000 events/s.
  FakeService fake;
  std::atomic<std::uint64_t> answers{0};
  fake.SetHandler([&](const sse::test::FakeRequest&) {
    sse::test::FakeResponse r;
    r.body = ++answers % 2 ? R"({"state":"running"})" : R"({"state":"failed"})";
    return r;
  });
  std::string config =
      "global:\n  poll_interval: 40ms\n  poll_timeout: 40ms\nservices:\n";
  for (int i = 0; i < 200; ++i)
    config += Service("s" + std::to_string(i), "flappy", fake.Url("/x"));
  ExporterRig rig(config, {"--log.level=info"});
  REQUIRE(sse::test::WaitFor(
      [&] {
        return GetJson(rig, "/api/v1/events?limit=1000")["events"].size() >=
               1000;
      },
      20s));
  const std::uint64_t rss_before = sse::test::ReadRssBytes(rig.process().pid());

  // A small receive buffer, and the test reads nothing.
  sse::test::RawConnection lazy(rig.port(), 4096);
  REQUIRE(
      lazy.Send("GET /api/v1/events?watch=true HTTP/1.1\r\n"
                "Host: 127.0.0.1\r\n\r\n"));
  REQUIRE(sse::test::WaitFor(
      [&] {
        return rig.log().find("event watcher dropped") != std::string::npos;
      },
      60s, 100ms));
  // Its last words say why, then the connection ends.
  const std::string got = lazy.ReadUntil("event: dropped", 1, 10s);
  REQUIRE(got.find("event: dropped") != std::string::npos);
  REQUIRE(got.find("did not read") != std::string::npos);
  REQUIRE(lazy.WaitClosed(10s));
  const std::uint64_t rss_after = sse::test::ReadRssBytes(rig.process().pid());
  REQUIRE(rig.Value("service_state_exporter_event_watchers_dropped_total",
                    {}) == 1);
  CAPTURE(rss_before, rss_after);
#if !defined(__SANITIZE_ADDRESS__)
  // ASan keeps freed memory in its quarantine (256 MiB): at thousands of
  // events a second it fills up, whatever the watcher does.
  REQUIRE(rss_after < rss_before + 16 * 1024 * 1024);
#endif
  // Scrapes were answered all along, and a new watcher is served.
  REQUIRE(rig.Get("/metrics").status == 200);
  sse::test::RawConnection next(rig.port());
  REQUIRE(
      next.Send("GET /api/v1/events?watch=true HTTP/1.1\r\n"
                "Host: 127.0.0.1\r\n\r\n"));
  REQUIRE(
      next.ReadUntil("event: transition", 3, 5s).find("event: transition") !=
      std::string::npos);
}

TEST_CASE("history survives kill -9 with the state file", "[history][state]") {
  StateBoard board;
  sse::test::TempDir dir;
  const std::string state_file = (dir.path() / "state.json").string();
  const std::string config =
      "global:\n  poll_interval: 100ms\n  poll_timeout: 100ms\nservices:\n" +
      Service("a", "db", board.Url("a"));
  json before;
  {
    ExporterRig rig(config, {"--storage.state-file=" + state_file});
    REQUIRE(sse::test::WaitFor(
        [&] {
          return GetJson(rig, "/api/v1/services/a")["history"].size() == 1;
        },
        10s));
    board.Set("a", "failed");
    REQUIRE(sse::test::WaitFor(
        [&] {
          return GetJson(rig, "/api/v1/services/a")["history"].size() == 2;
        },
        10s));
    board.Set("a", "running");
    REQUIRE(sse::test::WaitFor(
        [&] {
          return GetJson(rig, "/api/v1/services/a")["history"].size() == 3;
        },
        10s));
    before = GetJson(rig, "/api/v1/services/a")["history"];
    // Saved within a second or so; then no goodbye.
    REQUIRE(sse::test::WaitFor(
        [&] {
          std::ifstream in(state_file);
          std::string text((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
          return text.find("state/v2") != std::string::npos &&
                 std::count(text.begin(), text.end(), '{') >= 6;
        },
        10s));
    rig.process().Signal(SIGKILL);
    REQUIRE(rig.process().Wait(5s) == 128 + SIGKILL);
  }
  ExporterRig again(config, {"--storage.state-file=" + state_file});
  const json after = GetJson(again, "/api/v1/services/a")["history"];
  REQUIRE(after == before);
  board.Set("a", "starting");
  REQUIRE(sse::test::WaitFor(
      [&] {
        return GetJson(again, "/api/v1/services/a")["history"].size() == 4;
      },
      10s));
  const json grown = GetJson(again, "/api/v1/services/a")["history"];
  REQUIRE(grown[0]["from_state"] == "running");
  REQUIRE(grown[0]["to_state"] == "starting");
  REQUIRE(grown[0]["first_observation"] == false);
}

TEST_CASE("landing page on 1,000 services: problems first, filters, pages",
          "[history][landing_page]") {
  StateBoard board;
  std::string config =
      "global:\n  poll_interval: 1s\n  poll_timeout: 500ms\nservices:\n";
  for (int i = 0; i < 1000; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "svc-%04d", i);
    if (i % 50 == 7) board.Set(name, "failed");
    config += Service(name, i % 2 ? "odd" : "even", board.Url(name));
  }
  ExporterRig rig(config);
  REQUIRE(sse::test::WaitFor([&] { return rig.Get("/-/ready").status == 200; },
                             20s));
  static const std::regex row(R"re(<tr><td><a href="services/([^"]*)">)re");
  auto names = [&](const std::string& query) {
    auto reply = rig.Get("/" + query);
    REQUIRE(reply.status == 200);
    std::vector<std::string> out;
    for (std::sregex_iterator it(reply.body.begin(), reply.body.end(), row),
         end;
         it != end; ++it) {
      out.push_back((*it)[1]);
    }
    return out;
  };
  auto first = names("");
  REQUIRE(first.size() == 100);
  // The 20 failed ones first.
  std::set<std::string> failed(first.begin(), first.begin() + 20);
  for (const auto& n : failed) {
    const int i = std::stoi(n.substr(4));
    REQUIRE(i % 50 == 7);
  }
  REQUIRE(names("?page=10").size() == 100);
  REQUIRE(names("?page=10").back() == "svc-0999");
  REQUIRE(names("?state=failed").size() == 20);
  REQUIRE(names("?state=failed&type=odd").size() == 20);  // 7, 57, ... odd
  REQUIRE(names("?state=failed&type=even").empty());
  REQUIRE(names("?name=svc-00").size() == 100);
  REQUIRE(names("?name=SVC-012").size() == 10);
  REQUIRE(rig.Get("/?page=0").status == 400);
  REQUIRE(rig.Get("/?range=5m").status == 400);
  auto page = rig.Get("/?range=1d");
  REQUIRE(page.body.find("<b>last day</b>") != std::string::npos);
  REQUIRE(page.headers.count("content-encoding") == 0);
  // Compressed for clients that accept it.
  auto gz = rig.Get("/?range=1d", {{"Accept-Encoding", "gzip"}});
  REQUIRE(gz.status == 200);
  REQUIRE(gz.headers["content-encoding"] == "gzip");
  REQUIRE(gz.headers["vary"] == "Accept-Encoding");
  REQUIRE(gz.body.size() < page.body.size() / 4);
  REQUIRE(gz.body.substr(0, 2) == "\x1f\x8b");
}

TEST_CASE("watch: streams take at most a quarter of the connections",
          "[history][watch]") {
  StateBoard board;
  ExporterRig rig("services:\n" + Service("a", "db", board.Url("a")),
                  {"--web.max-connections=8"});
  const std::string request =
      "GET /api/v1/events?watch=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  sse::test::RawConnection first(rig.port()), second(rig.port());
  REQUIRE(first.Send(request));
  REQUIRE(second.Send(request));
  REQUIRE(first.ReadUntil("watching", 1, 5s).find("200 OK") !=
          std::string::npos);
  REQUIRE(second.ReadUntil("watching", 1, 5s).find("200 OK") !=
          std::string::npos);
  // A third stream would pass 8 / 4: refused, and told when to come back.
  sse::test::RawConnection third(rig.port());
  REQUIRE(third.Send(request));
  const std::string refused = third.ReadUntil("retry later", 1, 5s);
  REQUIRE(refused.find("HTTP/1.1 503") == 0);
  REQUIRE(refused.find("Retry-After: 5") != std::string::npos);
  // Scrapes and pages are served meanwhile.
  for (int i = 0; i < 10; ++i) REQUIRE(rig.Get("/metrics").status == 200);
  REQUIRE(rig.Value("service_state_exporter_event_watchers", {}) == 2);
  REQUIRE(rig.Get("/").status == 200);
  // A watcher that leaves frees its place at once (the server listens on
  // every stream, not only at the next keep-alive).
  first.Reset();
  REQUIRE(sse::test::WaitFor(
      [&] {
        return rig.Value("service_state_exporter_event_watchers", {}) == 1;
      },
      2s));
  REQUIRE(sse::test::WaitFor(
      [&] {
        sse::test::RawConnection again(rig.port());
        if (!again.Send(request)) return false;
        return again.ReadUntil("watching", 1, 2s).find("200 OK") !=
               std::string::npos;
      },
      3s, 100ms));
}
