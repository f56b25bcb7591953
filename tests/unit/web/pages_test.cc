// The HTML pages and SVGs: landing page (summary, problems first, filters,
// pages), timelines, the service page, badges; every text escaped.
#include "sse/web/pages.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "sse/util/text.h"
#include "sse/version.h"

namespace {

sse::ServiceRow Row(std::string name, std::string state, bool up,
                    double since) {
  sse::ServiceRow row;
  row.view.name = std::move(name);
  row.view.type = "MCPServer";
  row.view.state = std::move(state);
  row.view.up = up;
  row.view.observed = true;
  row.view.since = since;
  row.view.up_states = {"running"};
  row.poll.polled = true;
  row.poll.outcome = "ok";
  return row;
}

sse::HistoryEvent Change(double time, std::string from, std::string to) {
  sse::HistoryEvent e;
  e.time = time;
  e.from = std::move(from);
  e.to = std::move(to);
  return e;
}

// The <rect>s of an SVG: x, width, fill, state and title, in order.
struct Rect {
  double x, width;
  std::string fill, state, title;
};
std::vector<Rect> Rects(const std::string& svg) {
  static const std::regex rect(
      R"re(<rect x="([0-9.]+)" y="0" width="([0-9.]+)" height="16" fill="(#[0-9a-f]{6})" data-state="([^"]*)"><title>([^<]*)</title></rect>)re");
  std::vector<Rect> out;
  for (std::sregex_iterator it(svg.begin(), svg.end(), rect), end; it != end;
       ++it) {
    out.push_back(Rect{std::stod((*it)[1]), std::stod((*it)[2]), (*it)[3],
                       (*it)[4], (*it)[5]});
  }
  return out;
}

// Names in the services table, in order.
std::vector<std::string> TableNames(const std::string& html) {
  static const std::regex name(
      R"re(<tr><td><a href="services/[^"]*">([^<]*)</a>)re");
  std::vector<std::string> out;
  for (std::sregex_iterator it(html.begin(), html.end(), name), end; it != end;
       ++it) {
    out.push_back((*it)[1]);
  }
  return out;
}

// Occurrences of `part` in `text`.
std::size_t Count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t p = text.find(part); p != std::string::npos;
       p = text.find(part, p + 1))
    ++n;
  return n;
}

constexpr double kNow = 1700003600;  // 2023-11-14T23:13:20Z

// A landing page over `rows`, which must outlive it.
sse::LandingPage PageOf(const std::vector<sse::ServiceRow>& rows) {
  sse::LandingPage page;
  page.now = kNow;
  for (const auto& r : rows) {
    page.services.push_back(sse::ServiceBrief{&r.view.name, &r.view.type,
                                              &r.view.state, r.view.since,
                                              r.view.up, r.view.changes});
  }
  page.detail =
      [&rows](const std::string& name) -> std::optional<sse::ServiceRow> {
    for (const auto& r : rows) {
      if (r.view.name == name) return r;
    }
    return std::nullopt;
  };
  return page;
}

}  // namespace

TEST_CASE("timeline: one segment per state, coloured, with exact times",
          "[pages][svg]") {
  sse::ServiceRow row = Row("svc", "running", true, kNow - 600);
  // Before the window: running; failed 45 min ago for 15 min; starting
  // 30 min ago for 20 min; running for the last 10 minutes.
  row.view.history = {Change(kNow - 7200, "unknown", "running"),
                      Change(kNow - 2700, "running", "failed"),
                      Change(kNow - 1800, "failed", "starting"),
                      Change(kNow - 600, "starting", "running")};
  const auto rects = Rects(sse::RenderTimelineSvg(row.view, kNow, 3600, 240));
  REQUIRE(rects.size() == 4);
  REQUIRE(rects[0].state == "running");
  REQUIRE(rects[0].fill == "#2e7d32");
  REQUIRE(rects[0].x == 0);
  REQUIRE(rects[0].width == Approx(60));  // 15 of 60 minutes of 240 px
  REQUIRE(rects[1].state == "failed");
  REQUIRE(rects[1].fill == "#c62828");
  REQUIRE(rects[1].x == Approx(60));
  REQUIRE(rects[1].width == Approx(60));
  REQUIRE(rects[1].title ==
          "failed from 2023-11-14T22:28:20Z to 2023-11-14T22:43:20Z (15m 0s)");
  REQUIRE(rects[2].state == "starting");
  REQUIRE(rects[2].fill == "#f9a825");
  REQUIRE(rects[2].width == Approx(80));
  REQUIRE(rects[3].state == "running");
  REQUIRE(rects[3].x == Approx(200));
  REQUIRE(rects[3].width == Approx(40));
  REQUIRE(rects[3].title.ends_with("to now (10m 0s)"));
  double total = 0;
  for (const auto& r : rects) total += r.width;
  REQUIRE(total == Approx(240));

  // Over a day the first change shows too, with what it came from.
  const auto day = Rects(sse::RenderTimelineSvg(row.view, kNow, 86400, 240));
  REQUIRE(day.size() == 5);
  REQUIRE(day[0].state == "unknown");
  REQUIRE(day[0].fill == "#9e9e9e");
  REQUIRE(day[0].x == 0);
  // A first observation has nothing before it: a gap, no rect.
  row.view.history[0].counted = false;
  const auto first = Rects(sse::RenderTimelineSvg(row.view, kNow, 86400, 240));
  REQUIRE(first.size() == 4);
  REQUIRE(first[0].state == "running");
  REQUIRE(first[0].x == Approx(240.0 * (86400 - 7200) / 86400));
}

TEST_CASE("timeline without history: the current state since `since`",
          "[pages][svg]") {
  const auto old = Rects(sse::RenderTimelineSvg(
      Row("a", "running", true, kNow - 99999).view, kNow, 3600, 100));
  REQUIRE(old.size() == 1);
  REQUIRE(old[0].width == Approx(100));
  const auto recent = Rects(sse::RenderTimelineSvg(
      Row("a", "failed", false, kNow - 900).view, kNow, 3600, 100));
  // Nothing is known before `since`: a gap.
  REQUIRE(recent.size() == 1);
  REQUIRE(recent[0].state == "failed");
  REQUIRE(recent[0].x == Approx(75));
  REQUIRE(recent[0].width == Approx(25));
  REQUIRE(recent[0].fill == "#c62828");
}

TEST_CASE("timeline and pages escape hostile names and states",
          "[pages][svg][html]") {
  const std::string hostile = "<script>alert(1)</script>\"'&";
  sse::ServiceRow row = Row(hostile, hostile, false, kNow - 100);
  row.view.type = hostile;
  row.view.history = {Change(kNow - 100, "running", hostile)};
  row.poll.error = hostile;
  row.poll.url = "http://h/?a=1&b=<2>";
  static const std::regex entity(R"(&(amp|lt|gt|quot|#39);)");
  auto check = [&](const std::string& html) {
    CAPTURE(html);
    REQUIRE(html.find("<script") == std::string::npos);
    REQUIRE(html.find(hostile) == std::string::npos);
    // Every '&' starts an entity (percent-encoded links aside).
    REQUIRE(std::regex_replace(html, entity, "").find('&') ==
            std::string::npos);
  };
  check(sse::RenderTimelineSvg(row.view, kNow, 3600, 240));
  check(sse::RenderServicePage(row, "/metrics", kNow, 64));
  check(sse::RenderBadgeSvg(hostile, hostile, false));
  const std::vector<sse::ServiceRow> rows = {row};
  sse::LandingPage page = PageOf(rows);
  sse::ListStatus list;
  list.name = hostile;
  list.source = "mcp";
  list.mcp_mode = "meta";
  list.poll.error = hostile;
  page.lists = {list};
  sse::PageQuery q;
  q.name = hostile;
  const std::string html = sse::RenderLandingPage(page, q);
  check(html);
  // The link to the service page percent-encodes the name.
  REQUIRE(html.find("href=\"services/" + sse::PercentEncode(hostile) + "\"") !=
          std::string::npos);
  REQUIRE(html.find("mcp (meta)") != std::string::npos);
}

TEST_CASE("landing page: summary down first, problems first, one SVG a row",
          "[pages][html]") {
  // ok-first was only observed (no transition) a minute ago.
  std::vector<sse::ServiceRow> rows = {
      Row("ok-old", "running", true, kNow - 86400),
      Row("ok-new", "running", true, kNow - 60),
      Row("ok-mid", "running", true, kNow - 600),
      Row("ok-first", "running", true, kNow - 60),
      Row("down-old", "failed", false, kNow - 5000),
      Row("down-new", "unreachable", false, kNow - 10),
      Row("another-old", "running", true, kNow - 90000)};
  rows[1].view.changes = 3;
  rows[2].view.changes = 1;
  rows[0].view.changes = 5;  // but a day ago
  sse::LandingPage page = PageOf(rows);
  page.telemetry_path = "/custom/metrics";
  const std::string html = sse::RenderLandingPage(page, sse::PageQuery{});
  REQUIRE(TableNames(html) ==
          std::vector<std::string>{"down-new", "down-old", "ok-new", "ok-mid",
                                   "another-old", "ok-first", "ok-old"});
  REQUIRE(Rects(html).size() >= 7);
  REQUIRE(Count(html, "<svg") == 7);
  // Summary: states not up first, then up; counts; each a filter link.
  const std::size_t failed =
      html.find("data-state=\"failed\" href=\"?state=failed\">failed <b>1</b>");
  const std::size_t unreachable = html.find(
      "data-state=\"unreachable\" href=\"?state=unreachable\">unreachable "
      "<b>1</b>");
  const std::size_t running = html.find(
      "data-state=\"running\" href=\"?state=running\">running <b>5</b>");
  REQUIRE(failed != std::string::npos);
  REQUIRE(unreachable != std::string::npos);
  REQUIRE(running != std::string::npos);
  REQUIRE(failed < running);
  REQUIRE(unreachable < running);
  REQUIRE(html.find("all <b>7</b>") != std::string::npos);
  REQUIRE(html.find("<a href=\"/custom/metrics\">") != std::string::npos);
  REQUIRE(html.find(std::string("Version ") + sse::kVersion) !=
          std::string::npos);
  REQUIRE(html.find("Page 1 of 1") != std::string::npos);
  REQUIRE(html.find("rel=\"next\"") == std::string::npos);
  REQUIRE(html.find("id=\"lists\"") == std::string::npos);
}

TEST_CASE("landing page: filters and pages of 100", "[pages][html]") {
  std::vector<sse::ServiceRow> rows;
  for (int i = 0; i < 250; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "svc-%03d", i);
    auto row = Row(name, i % 10 == 0 ? "failed" : "running", i % 10 != 0,
                   kNow - 100000);
    row.view.type = i % 2 ? "odd" : "even";
    rows.push_back(row);
  }
  const sse::LandingPage page = PageOf(rows);
  sse::PageQuery q;
  auto names = TableNames(sse::RenderLandingPage(page, q));
  REQUIRE(names.size() == 100);
  REQUIRE(names[0] == "svc-000");  // failed ones first
  REQUIRE(names[24] == "svc-240");
  REQUIRE(names[25] == "svc-001");
  q.page = 3;
  const std::string third = sse::RenderLandingPage(page, q);
  names = TableNames(third);
  REQUIRE(names.size() == 50);
  REQUIRE(names.back() == "svc-249");
  REQUIRE(third.find("Page 3 of 3") != std::string::npos);
  REQUIRE(third.find("rel=\"prev\" href=\"?page=2\"") != std::string::npos);
  // A page past the end shows the last one.
  q.page = 99;
  REQUIRE(TableNames(sse::RenderLandingPage(page, q)).size() == 50);

  sse::PageQuery f;
  f.state = "failed";
  f.type = "even";
  f.name = "SVC-1";  // case-insensitive substring
  f.range = 86400;
  const std::string filtered = sse::RenderLandingPage(page, f);
  REQUIRE(TableNames(filtered) ==
          std::vector<std::string>{"svc-100", "svc-110", "svc-120", "svc-130",
                                   "svc-140", "svc-150", "svc-160", "svc-170",
                                   "svc-180", "svc-190"});
  REQUIRE(filtered.find("Services (10 of 250)") != std::string::npos);
  // The other range keeps the filters.
  REQUIRE(
      filtered.find(
          "href=\"?state=failed&amp;type=even&amp;name=SVC-1\">last hour") !=
      std::string::npos);
  REQUIRE(
      filtered.find("<input type=\"hidden\" name=\"range\" value=\"1d\">") !=
      std::string::npos);
}

TEST_CASE("ParsePageQuery reads filters, page and range", "[pages]") {
  auto q =
      sse::ParsePageQuery("state=failed&type=a%20b&name=x&page=2&range=1d");
  REQUIRE(q);
  REQUIRE(q->state == "failed");
  REQUIRE(q->type == "a b");
  REQUIRE(q->page == 2);
  REQUIRE(q->range == 86400);
  REQUIRE(sse::ParsePageQuery("")->range == 3600);
  for (const char* bad : {"page=0", "page=x", "page=-1", "range=1w", "name=%FF",
                          "page=99999999999"}) {
    CAPTURE(bad);
    REQUIRE_FALSE(sse::ParsePageQuery(bad));
  }
}

TEST_CASE("the service page: fields, timelines, history newest first",
          "[pages][html]") {
  sse::ServiceRow row = Row("svc", "failed", false, kNow - 30);
  row.poll.outcome = "http_error";
  row.poll.error = "HTTP status 503";
  row.view.history = {Change(kNow - 100, "unknown", "running"),
                      Change(kNow - 30, "running", "failed")};
  row.view.history[0].counted = false;
  row.view.history[1].outcome = sse::Outcome::kHttpError;
  row.view.history[1].error = "HTTP status 503";
  const std::string html = sse::RenderServicePage(row, "/metrics", kNow, 64);
  REQUIRE(html.find("<h1>svc</h1>") != std::string::npos);
  REQUIRE(html.find("History (2 of at most 64)") != std::string::npos);
  const std::size_t newest = html.find(
      "<td>running</td><td class=\"down\">failed</td><td>http_error</td><td "
      "class=\"err\">HTTP status 503</td>");
  const std::size_t oldest = html.find(
      "<td>unknown (first observation)</td><td class=\"up\">running</td>");
  REQUIRE(newest != std::string::npos);
  REQUIRE(oldest != std::string::npos);
  REQUIRE(newest < oldest);
  REQUIRE(Count(html, "<svg") == 2);
  REQUIRE(html.find("href=\"../badge/svc.svg\"") != std::string::npos);
}

TEST_CASE("badge: name and state on the state's colour", "[pages][svg]") {
  const std::string up = sse::RenderBadgeSvg("billing", "running", true);
  REQUIRE(up.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  REQUIRE(up.find("fill=\"#2e7d32\"") != std::string::npos);
  REQUIRE(up.find(">billing</text>") != std::string::npos);
  REQUIRE(up.find(">running</text>") != std::string::npos);
  REQUIRE(sse::RenderBadgeSvg("b", "failed", false).find("fill=\"#c62828\"") !=
          std::string::npos);
  REQUIRE(sse::StateColor("unknown", false) == std::string("#9e9e9e"));
  REQUIRE(sse::StateColor("starting", false) == std::string("#f9a825"));
}

TEST_CASE("PageHeaders allow exactly the pages' style and no script",
          "[pages]") {
  const auto headers = sse::PageHeaders();
  REQUIRE(headers.size() == 2);
  const std::string policy = headers[0].second;
  REQUIRE(headers[0].first == "Content-Security-Policy");
  REQUIRE(policy.starts_with("default-src 'none'; style-src 'sha256-"));
  REQUIRE(policy.find("script") == std::string::npos);
  // The hash is the <style> element's content as the page holds it.
  const std::string html =
      sse::RenderLandingPage(sse::LandingPage{}, sse::PageQuery{});
  const std::size_t open = html.find("<style>") + 7;
  const std::string style = html.substr(open, html.find("</style>") - open);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(style.data(), style.size(), digest, &size, EVP_sha256(), nullptr);
  const std::string expected =
      "'sha256-" +
      sse::EncodeBase64(std::string(reinterpret_cast<char*>(digest), size)) +
      "'";
  REQUIRE(policy.find(expected) != std::string::npos);
  REQUIRE(html.find("style=") == std::string::npos);
}
