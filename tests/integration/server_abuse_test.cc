// The exporter's own HTTP server under abuse: slow, idle, oversized,
// pipelined, old-fashioned and malformed clients. Each test also checks
// that polling and other scrapers go on unaffected.

#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "exporter_rig.h"
#include "support/fake_service.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using namespace std::string_literals;
using sse::test::ExporterRig;
using sse::test::FakeService;
using sse::test::RawConnection;
using Clock = std::chrono::steady_clock;

namespace {

std::string Config(const std::string& url) {
  return "global:\n  poll_interval: 100ms\n  poll_timeout: 100ms\n"
         "services:\n  - name: fake\n    url: " +
         url + "\n    source: json\n";
}

double OkPolls(ExporterRig& rig) {
  return rig
      .Value("service_state_exporter_polls_total",
             {{"service_name", "fake"}, {"outcome", "ok"}})
      .value_or(0);
}

// One scrape of /metrics; fails the test unless it is answered with 200 in
// under 0.5 s.
void ScrapePromptly(std::uint16_t port) {
  auto start = Clock::now();
  auto reply = sse::test::HttpRequest(port, "GET", "/metrics", {}, 2s);
  auto took = std::chrono::duration<double>(Clock::now() - start).count();
  CAPTURE(reply.error, took);
  REQUIRE(reply.status == 200);
  REQUIRE(took < 0.5);
}

// Polls every 100 ms must go on: at least 60% of the expected count in
// `seconds` (the machine is shared; a stalled poller would give ~0).
void RequirePollsWentOn(double before, double after, double seconds) {
  CAPTURE(before, after, seconds);
  REQUIRE(after - before >= 0.6 * seconds / 0.1);
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE(
    "slowloris clients are cut at the read timeout while scrapers and polls go "
    "on",
    "[abuse]") {
  FakeService fake;
  ExporterRig rig(Config(fake.Url("/status")), {"--web.read-timeout=1s"});
  REQUIRE(rig.WaitValue("muster_service_up",
                        {{"service_name", "fake"}, {"service_type", "service"}},
                        1));
  const double polls_before = OkPolls(rig);

  struct Slow {
    std::unique_ptr<RawConnection> conn;
    Clock::time_point opened;
    std::optional<double> closed_after;
  };
  std::vector<Slow> slow;
  for (int i = 0; i < 30; ++i) {
    Slow s{std::make_unique<RawConnection>(rig.port()), Clock::now(), {}};
    // Half of them stop inside the request line, half inside the headers.
    s.conn->Send(i % 2 ? "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "
                       : "GET /met");
    slow.push_back(std::move(s));
  }
  const auto start = Clock::now();
  while (Clock::now() - start < 3s) {
    for (auto& s : slow) {
      if (s.closed_after) continue;
      s.conn->Send("a");  // one more byte: never a complete request
      if (s.conn->PeerClosed()) {
        s.closed_after =
            std::chrono::duration<double>(Clock::now() - s.opened).count();
      }
    }
    ScrapePromptly(rig.port());
    std::this_thread::sleep_for(100ms);
  }
  for (auto& s : slow) {
    REQUIRE(s.closed_after.has_value());
    // Cut at the 1 s read timeout although bytes kept coming.
    REQUIRE(*s.closed_after >= 0.9);
    REQUIRE(*s.closed_after < 2.0);
    // Nothing was answered to an incomplete request.
    REQUIRE(s.conn->received().find("HTTP/1.1 200") == std::string::npos);
  }
  RequirePollsWentOn(polls_before, OkPolls(rig), 3);
  REQUIRE(rig.process().running());
}

TEST_CASE("idle connections beyond max_connections do not lock out a scraper",
          "[abuse]") {
  FakeService fake;
  ExporterRig rig(Config(fake.Url("/status")),
                  {"--web.max-connections=8", "--web.read-timeout=60s"});
  REQUIRE(rig.WaitValue("muster_service_up",
                        {{"service_name", "fake"}, {"service_type", "service"}},
                        1));
  const double polls_before = OkPolls(rig);
  const auto start = Clock::now();

  SECTION("connections that never send anything") {
    std::vector<std::unique_ptr<RawConnection>> idle;
    for (int i = 0; i < 8; ++i) {
      idle.push_back(std::make_unique<RawConnection>(rig.port()));
      std::this_thread::sleep_for(30ms);  // distinct ages
    }
    ScrapePromptly(rig.port());
    // The scraper took the place of the connection idle the longest.
    REQUIRE(idle.front()->WaitClosed(2s));
    REQUIRE_FALSE(idle.back()->PeerClosed());
    // A flood of idle connections: every new scraper is still served.
    for (int i = 0; i < 100; ++i)
      idle.push_back(std::make_unique<RawConnection>(rig.port()));
    for (int i = 0; i < 10; ++i) ScrapePromptly(rig.port());
  }

  SECTION("idle keep-alive connections") {
    std::vector<std::unique_ptr<RawConnection>> kept;
    for (int i = 0; i < 8; ++i) {
      kept.push_back(std::make_unique<RawConnection>(rig.port()));
      kept.back()->Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n");
      REQUIRE(Count(kept.back()->ReadUntil("Healthy", 1, 2s), "HTTP/1.1 200") ==
              1);
      std::this_thread::sleep_for(30ms);
    }
    ScrapePromptly(rig.port());
    REQUIRE(kept.front()->WaitClosed(2s));
    // The others stay usable.
    kept.back()->Send("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(Count(kept.back()->ReadUntil("HTTP/1.1 200", 2, 2s),
                  "HTTP/1.1 200") == 2);
  }

  std::this_thread::sleep_for(500ms);
  RequirePollsWentOn(
      polls_before, OkPolls(rig),
      std::chrono::duration<double>(Clock::now() - start).count());
}

TEST_CASE("oversize request line, headers and bodies are refused", "[abuse]") {
  FakeService fake;
  ExporterRig rig(Config(fake.Url("/status")));
  struct Case {
    const char* what;
    std::string request;
    const char* status;
  };
  const std::string big(20 * 1024, 'a');
  auto c = GENERATE_COPY(
      Case{"request line",
           "GET /metrics?" + big + " HTTP/1.1\r\nHost: x\r\n\r\n",
           "HTTP/1.1 431"},
      Case{"one header",
           "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n",
           "HTTP/1.1 431"},
      Case{"many headers",
           [] {
             std::string r = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
             for (int i = 0; i < 2000; ++i)
               r += "X-H" + std::to_string(i) + ": v\r\n";
             return r + "\r\n";
           }(),
           "HTTP/1.1 431"},
      Case{"declared body",
           "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: "
           "1000000\r\n\r\n",
           "HTTP/1.1 413"},
      Case{"chunked body",
           [] {
             std::string r =
                 "POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                 "chunked\r\n\r\n";
             for (int i = 0; i < 80; ++i)
               r += "400\r\n" + std::string(1024, 'b') + "\r\n";
             return r + "0\r\n\r\n";
           }(),
           "HTTP/1.1 413"});
  CAPTURE(c.what);
  RawConnection conn(rig.port());
  conn.Send(c.request);
  // Answered and closed; the rest of the request is not read.
  REQUIRE(conn.WaitClosed(5s));
  CAPTURE(conn.received().substr(0, 200));
  REQUIRE(conn.received().rfind(c.status, 0) == 0);
  REQUIRE(conn.received().find("Connection: close") != std::string::npos);
  ScrapePromptly(rig.port());
}

TEST_CASE("pipelined requests are answered in order on one connection",
          "[abuse]") {
  FakeService fake;
  ExporterRig rig(Config(fake.Url("/status")));
  RawConnection conn(rig.port());
  conn.Send(
      "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /api/v1/services HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  REQUIRE(conn.WaitClosed(5s));
  const std::string& got = conn.received();
  REQUIRE(Count(got, "HTTP/1.1 ") == 5);
  auto healthy = got.find("HTTP/1.1 200");
  auto head = got.find("HTTP/1.1 200", healthy + 1);
  auto nope = got.find("HTTP/1.1 404");
  auto api = got.find("HTTP/1.1 200", nope);
  auto metrics = got.find("HTTP/1.1 200", api + 1);
  REQUIRE(healthy < head);
  REQUIRE(head < nope);
  REQUIRE(nope < api);
  REQUIRE(api < metrics);
  REQUIRE(metrics != std::string::npos);
  REQUIRE(got.find("Healthy") < head);
  REQUIRE(got.find("{\"services\"") > nope);
  REQUIRE(got.find("# TYPE", metrics) != std::string::npos);
  // HEAD sent no body: the 404 follows the HEAD's headers directly.
  REQUIRE(got.find("# TYPE") > nope);
}

TEST_CASE("HTTP/1.0, bad methods and garbage get bounded answers", "[abuse]") {
  FakeService fake;
  ExporterRig rig(Config(fake.Url("/status")));
  struct Case {
    const char* what;
    std::string request;
    const char* status;  // expected start of the answer; empty: just closed
  };
  auto c = GENERATE(
      Case{"HTTP/1.0 without Host", "GET /-/healthy HTTP/1.0\r\n\r\n",
           "HTTP/1.0 200"},
      Case{"unknown method",
           "FOO /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 405"},
      Case{"lower-case method",
           "get /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 405"},
      Case{"DELETE",
           "DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 405"},
      Case{"CONNECT",
           "CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\nConnection: "
           "close\r\n\r\n",
           "HTTP/1.1 404"},
      Case{"TRACE", "TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
           "HTTP/1.1 405"},
      Case{"HTTP/0.9", "GET /metrics\r\n\r\n", "HTTP/1.1 400"},
      Case{"bad version", "GET /metrics HTTP/9.9x\r\nHost: x\r\n\r\n",
           "HTTP/1.1 400"},
      Case{"control byte in method", std::string("GE\x01T / HTTP/1.1\r\n\r\n"),
           "HTTP/1.1 400"},
      Case{"NUL in target", "GET /me\0trics HTTP/1.1\r\n\r\n"s, "HTTP/1.1 400"},
      Case{"bare LF", "GET /metrics HTTP/1.1\nHost: x\n\n", "HTTP/1.1 400"},
      Case{"bad header line", "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
           "HTTP/1.1 400"},
      Case{"bad content-length",
           "POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
           "HTTP/1.1 400"},
      Case{"TLS client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s,
           "HTTP/1.1 400"});
  CAPTURE(c.what);
  RawConnection conn(rig.port());
  conn.Send(c.request);
  // Every one of them ends with the server closing the connection.
  REQUIRE(conn.WaitClosed(5s));
  CAPTURE(conn.received().substr(0, 200));
  REQUIRE(conn.received().rfind(c.status, 0) == 0);
  ScrapePromptly(rig.port());
  REQUIRE(rig.process().running());
}

TEST_CASE("clients that vanish mid-request or mid-response do not hurt",
          "[abuse]") {
  FakeService fake;
  ExporterRig rig(Config(fake.Url("/status")));
  REQUIRE(rig.WaitValue("muster_service_up",
                        {{"service_name", "fake"}, {"service_type", "service"}},
                        1));
  const double polls_before = OkPolls(rig);
  const auto start = Clock::now();
  for (int i = 0; i < 200; ++i) {
    RawConnection conn(rig.port());
    switch (i % 4) {
      case 0:
        conn.Send("GET /metr");
        break;
      case 1:
        conn.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        break;
      case 2:
        conn.Send(
            "GET /api/v1/services HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics "
            "HTTP/1.1\r\n");
        break;
      default:
        break;
    }
    conn.Reset();
  }
  ScrapePromptly(rig.port());
  std::this_thread::sleep_for(500ms);
  RequirePollsWentOn(
      polls_before, OkPolls(rig),
      std::chrono::duration<double>(Clock::now() - start).count());
  // No connection is left behind (all 200 are gone within the read timeout).
  const int fds = sse::test::CountOpenFds(rig.process().pid());
  CAPTURE(fds);
  REQUIRE(fds < 30);
}

TEST_CASE("a scraper that never reads its response is cut at the write timeout",
          "[abuse]") {
  FakeService fake;
  // Enough services for a /metrics response of most of a MiB.
  std::string yaml =
      "global:\n  poll_interval: 1s\n  poll_timeout: 1s\nservices:\n";
  for (int i = 0; i < 1000; ++i) {
    yaml += "  - {name: service-with-a-long-name-" + std::to_string(i) +
            ", url: '" + fake.Url("/status") + "', source: json}\n";
  }
  ExporterRig rig(yaml, {"--web.write-timeout=1s"});
  REQUIRE(sse::test::WaitFor(
      [&] { return sse::test::HttpGet(rig.port(), "/-/ready").status == 200; },
      15s));
  const auto size = sse::test::HttpGet(rig.port(), "/metrics").body.size();
  CAPTURE(size);
  REQUIRE(size > 256u << 10);

  // Each pipelines 20 scrapes: more than socket buffers on both ends hold
  // (up to 4 MiB on the sending side), so the server's write stalls.
  std::string requests;
  for (int i = 0; i < 20; ++i)
    requests += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int i = 0; i < 5; ++i) {
    stalled.push_back(std::make_unique<RawConnection>(rig.port(), 4096));
    stalled.back()->Send(requests);
  }
  // Meanwhile everyone else is served.
  const auto start = Clock::now();
  for (int i = 0; i < 5; ++i) {
    auto reply =
        sse::test::HttpRequest(rig.port(), "GET", "/-/healthy", {}, 5s);
    CAPTURE(reply.error);
    REQUIRE(reply.status == 200);
    std::this_thread::sleep_for(100ms);
  }
  // Reading now, long after the write timeout: the server gave up on them
  // (a part of the response, then the connection closed).
  std::this_thread::sleep_for(1500ms);
  for (auto& conn : stalled) {
    REQUIRE(conn->WaitClosed(10s));
    CAPTURE(conn->received().size());
    REQUIRE(conn->received().rfind("HTTP/1.1 200", 0) == 0);
    REQUIRE(conn->received().size() < 20 * size);
  }
  CHECK(Clock::now() - start < 15s);
  REQUIRE(rig.process().running());
}

TEST_CASE("a Transfer-Encoding other than exactly chunked is a 400 and a close",
          "[abuse]") {
  FakeService fake;
  ExporterRig rig(Config(fake.Url("/status")));
  // Had the server read such a request as bodiless, the chunk lines after
  // it and the GET would have been taken for the next requests (smuggling).
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  const std::string next = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string coding = GENERATE(
      as<std::string>{}, "xchunked", "gzip, chunked", "chunked, gzip", "gzip",
      "identity", "chunked;x=1", "chunked\r\nTransfer-Encoding: chunked");
  CAPTURE(coding);
  {
    RawConnection conn(rig.port());
    conn.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " +
              coding + "\r\n\r\n" + body + next);
    REQUIRE(conn.WaitClosed(5s));
    CAPTURE(conn.received().substr(0, 300));
    REQUIRE(conn.received().rfind("HTTP/1.1 400", 0) == 0);
    REQUIRE(conn.received().find("Connection: close") != std::string::npos);
    REQUIRE(Count(conn.received(), "HTTP/1.1 ") == 1);
  }
  // HTTP/1.0 has no transfer codings: faulty framing too.
  {
    RawConnection conn(rig.port());
    conn.Send("POST /-/reload HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" +
              body + next);
    REQUIRE(conn.WaitClosed(5s));
    REQUIRE(conn.received().find(" 400 ") != std::string::npos);
    REQUIRE(Count(conn.received(), "HTTP/1.") == 1);
  }
  // Exactly chunked (in any case) is read as a body: two answers.
  for (const char* ok : {"chunked", "Chunked"}) {
    RawConnection conn(rig.port());
    conn.Send("POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " +
              std::string(ok) + "\r\n\r\n" + body +
              "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    REQUIRE(conn.WaitClosed(5s));
    CAPTURE(ok, conn.received().substr(0, 300));
    REQUIRE(Count(conn.received(), "HTTP/1.1 ") == 2);
    REQUIRE(conn.received().find("HTTP/1.1 400") == std::string::npos);
  }
  ScrapePromptly(rig.port());
}

TEST_CASE(
    "out of file descriptors: accept failures are logged rarely and new "
    "clients get an answer",
    "[abuse]") {
  const std::string prlimit = sse::test::FindProgram("prlimit");
  REQUIRE_FALSE(prlimit.empty());
  sse::test::TempDir dir;
  const std::string config = dir.Write("config.yaml", "services: []\n");
  const std::string log = (dir.path() / "exporter.log").string();
  constexpr int kNoFile = 64;
  sse::test::Process exporter(
      {prlimit,
       "--nofile=" + std::to_string(kNoFile) + ":" + std::to_string(kNoFile),
       "--", SSE_BINARY, "--config.file=" + config,
       "--web.listen-address=127.0.0.1:0", "--log.level=debug"},
      log);
  const std::uint16_t port = sse::test::WaitListeningPort(exporter);
  REQUIRE(port != 0);
  REQUIRE(sse::test::WaitFor(
      [&] { return sse::test::HttpGet(port, "/-/healthy").status == 200; },
      10s));
  // Idle clients until the exporter has no descriptor left (the default
  // --web.max-connections is far above the limit), and some more that wait
  // in the listen backlog.
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < kNoFile + 16; ++i) {
    idle.push_back(std::make_unique<RawConnection>(port));
  }
  REQUIRE(sse::test::WaitFor(
      [&] { return sse::test::CountOpenFds(exporter.pid()) >= kNoFile - 1; },
      5s));
  const auto start = Clock::now();
  int answered = 0, asked = 0;
  while (Clock::now() - start < 3s) {
    ++asked;
    auto reply = sse::test::HttpRequest(port, "GET", "/-/healthy", {}, 2s);
    CAPTURE(reply.error);
    if (reply.status == 503 || reply.status == 200) ++answered;
    std::this_thread::sleep_for(200ms);
  }
  const std::string text = exporter.log();
  const int logged = Count(text, "accept failed");
  CAPTURE(asked, answered, logged,
          text.substr(text.size() > 3000 ? text.size() - 3000 : 0));
  // Nobody hangs in the backlog: every request got an answer.
  REQUIRE(answered == asked);
  // One line, maybe a second with a count of the suppressed ones; not one
  // per failed accept().
  REQUIRE(logged >= 1);
  REQUIRE(logged <= 2);
  // Once the idle clients go, the exporter serves normally again.
  idle.clear();
  REQUIRE(sse::test::WaitFor(
      [&] { return sse::test::HttpGet(port, "/-/healthy").status == 200; },
      10s));
  REQUIRE(exporter.Stop() == 0);
}
