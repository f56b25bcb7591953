// The landing page `/` as a browser sees it: headless Chromium (Debian's
// chromium) loads it from the real exporter, over plain HTTP and over TLS
// with basic auth, and the test reads the summary, the table and its
// timelines out of the DOM Chromium built; a screenshot is kept under the
// build directory (test-artifacts/). Also /api/v1/status.

#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "exporter_rig.h"
#include "sse/util/text.h"
#include "support/fake_service.h"
#include "support/pki.h"
#include "support/test_util.h"

using namespace std::chrono_literals;
using sse::test::ExporterRig;
using sse::test::FakeService;

namespace {

std::string DecodeEntities(const std::string& html) {
  static const std::vector<std::pair<std::string, std::string>> kEntities = {
      {"&lt;", "<"},  {"&gt;", ">"},   {"&quot;", "\""},
      {"&#39;", "'"}, {"&nbsp;", " "}, {"&amp;", "&"}};
  std::string out;
  for (std::size_t i = 0; i < html.size();) {
    bool replaced = false;
    for (const auto& [entity, text] : kEntities) {
      if (html.compare(i, entity.size(), entity) == 0) {
        out += text;
        i += entity.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) out += html[i++];
  }
  return out;
}

// The text cells of the rows of <tbody> in a serialized DOM.
std::vector<std::vector<std::string>> TableRows(const std::string& dom) {
  std::vector<std::vector<std::string>> rows;
  const std::size_t body = dom.find("<tbody>");
  const std::size_t end = dom.find("</tbody>");
  if (body == std::string::npos || end == std::string::npos) return rows;
  const std::string tbody = dom.substr(body, end - body);
  static const std::regex kRow("<tr>([\\s\\S]*?)</tr>");
  static const std::regex kCell("<td[^>]*>([\\s\\S]*?)</td>");
  for (std::sregex_iterator r(tbody.begin(), tbody.end(), kRow), e; r != e;
       ++r) {
    const std::string row = (*r)[1];
    std::vector<std::string> cells;
    static const std::regex kTag("<[^>]*>");
    for (std::sregex_iterator c(row.begin(), row.end(), kCell); c != e; ++c) {
      // The text of the cell: links and SVG elements dropped, their text
      // (and the SVG's <title>s) kept.
      cells.push_back(
          DecodeEntities(std::regex_replace(std::string((*c)[1]), kTag, "")));
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

// Runs headless Chromium on `url` with `mode` (--dump-dom or
// --screenshot=...) and returns what it printed on stdout.
std::string RunChromium(const std::string& url, const sse::test::TempDir& dir,
                        const std::string& mode) {
  const std::string chromium = sse::test::FindProgram("chromium");
  REQUIRE_FALSE(chromium.empty());
  const std::string out = (dir.path() / "chromium.out").string();
  const std::string err = (dir.path() / "chromium.log").string();
  // exec: the PID RunCommand stops on a timeout is Chromium's own.
  const std::string command =
      "exec '" + chromium +
      "' --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
      " --disable-background-networking --disable-component-update"
      " --disable-sync --disable-dev-shm-usage --ignore-certificate-errors"
      " --window-size=1400,1800 --user-data-dir='" +
      (dir.path() / "profile").string() + "' " + mode + " '" + url + "' > '" +
      out + "' 2> '" + err + "'";
  std::string output;
  const int code =
      sse::test::RunCommand({"/bin/sh", "-c", command}, output, 90s);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (code != 0 || (mode == "--dump-dom" && text.empty())) {
    std::ifstream log(err);
    FAIL("chromium failed with "
         << code << ": "
         << std::string(std::istreambuf_iterator<char>(log),
                        std::istreambuf_iterator<char>()));
  }
  return text;
}

// Loads `url` in headless Chromium and returns the DOM it built.
std::string ChromiumDom(const std::string& url, const sse::test::TempDir& dir) {
  return RunChromium(url, dir, "--dump-dom");
}

// Loads `url` and saves a screenshot as `name` under the build directory's
// test-artifacts/ (kept after the test); returns its path.
std::filesystem::path ChromiumScreenshot(const std::string& url,
                                         const sse::test::TempDir& dir,
                                         const std::string& name) {
  const auto artifacts =
      std::filesystem::path(SSE_BINARY).parent_path() / "test-artifacts";
  std::filesystem::create_directories(artifacts);
  const auto path = artifacts / name;
  std::filesystem::remove(path);
  RunChromium(url, dir, "--screenshot='" + path.string() + "'");
  return path;
}

}  // namespace

TEST_CASE("the landing page in Chromium: sorted, escaped table of services",
          "[landing_page][chromium]") {
  FakeService fake;
  fake.SetHandler([](const sse::test::FakeRequest& req) {
    sse::test::FakeResponse r;
    r.body = req.target == "/hostile" ? R"({"state":"<i>failed</i>"})"
                                      : R"({"state":"running"})";
    return r;
  });
  // FreePort: a port nobody listens on (refused connections).
  const std::uint16_t dead_port = sse::test::FreePort();
  const std::string hostile = "<script>alert(1)</script>";
  ExporterRig rig(
      "global:\n  poll_interval: 200ms\n  poll_timeout: 200ms\n"
      "services:\n"
      "  - name: zeta\n    type: MCPServer\n    source: json\n    url: " +
      fake.Url("/zeta") +
      "\n"
      "  - name: alpha\n    type: Database\n    url: http://127.0.0.1:" +
      std::to_string(dead_port) +
      "/\n"
      "  - name: \"" +
      hostile +
      "\"\n    type: \"<b>x</b>\"\n"
      "    source: json\n    keep_case: true\n    url: " +
      fake.Url("/hostile") + "\n");
  REQUIRE(sse::test::WaitFor([&] { return rig.Get("/-/ready").status == 200; },
                             10s));
  REQUIRE(sse::test::WaitFor(
      [&] {
        auto doc = nlohmann::json::parse(rig.Get("/api/v1/services").body);
        for (const auto& s : doc["services"]) {
          if (s["state"] == "unknown") return false;
        }
        return true;
      },
      10s));

  // The JSON API filters the same rows.
  auto unreachable =
      nlohmann::json::parse(rig.Get("/api/v1/services?state=unreachable").body);
  REQUIRE(unreachable["services"].size() == 1);
  REQUIRE(unreachable["services"][0]["name"] == "alpha");
  REQUIRE(unreachable["services"][0]["up"] == false);
  REQUIRE(unreachable["services"][0]["last_poll"]["outcome"] ==
          "connect_error");
  auto by_name = nlohmann::json::parse(
      rig.Get("/api/v1/services?name=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
          .body);
  REQUIRE(by_name["services"].size() == 1);
  REQUIRE(by_name["services"][0]["type"] == "<b>x</b>");

  // The raw page: self-contained, no scripts, no external assets.
  auto page = rig.Get("/");
  REQUIRE(page.status == 200);
  REQUIRE(page.headers["content-type"] == "text/html; charset=utf-8");
  for (const char* banned :
       {"<script", "src=", "<link", "http://", "https://", "@import"}) {
    CAPTURE(banned);
    REQUIRE(page.body.find(banned) == std::string::npos);
  }

  sse::test::TempDir dir;
  const std::string dom =
      ChromiumDom("http://127.0.0.1:" + std::to_string(rig.port()) + "/", dir);
  CAPTURE(dom);
  // The hostile strings are text, not elements.
  REQUIRE(dom.find("<script") == std::string::npos);
  REQUIRE(dom.find("<b>x</b>") == std::string::npos);
  REQUIRE(dom.find("<i>") == std::string::npos);
  REQUIRE(dom.find("<title>service_state_exporter</title>") !=
          std::string::npos);
  REQUIRE(
      std::regex_search(dom, std::regex("Version [0-9]+\\.[0-9]+\\.[0-9]+")));
  for (const char* link : {"href=\"/metrics\"", "href=\"api/v1/services\"",
                           "href=\"api/v1/status\""}) {
    CAPTURE(link);
    REQUIRE(dom.find(link) != std::string::npos);
  }

  const auto rows = TableRows(dom);
  REQUIRE(rows.size() == 3);
  for (const auto& row : rows) REQUIRE(row.size() == 8);
  // Problems first: the two services not up, then zeta.
  const std::set<std::string> down = {rows[0][0], rows[1][0]};
  REQUIRE(down == std::set<std::string>{hostile, "alpha"});
  REQUIRE(rows[2][0] == "zeta");
  const auto& bad = rows[0][0] == hostile ? rows[0] : rows[1];
  const auto& alpha = rows[0][0] == hostile ? rows[1] : rows[0];
  // Name, Type, State, Since, Last poll, Error, Transitions, Timeline.
  REQUIRE(bad[1] == "<b>x</b>");
  REQUIRE(bad[2] == "<i>failed</i>");
  REQUIRE(bad[4] == "ok");
  REQUIRE(alpha[1] == "Database");
  REQUIRE(alpha[2] == "unreachable");
  REQUIRE(alpha[4] == "connect_error");
  REQUIRE(alpha[5].find("refused") != std::string::npos);
  REQUIRE(rows[2][1] == "MCPServer");
  REQUIRE(rows[2][2] == "running");
  REQUIRE(rows[2][4] == "ok");
  REQUIRE(rows[2][5].empty());
  REQUIRE(std::regex_match(rows[2][3], std::regex("[0-9]+[smhd] ago")));
  for (const auto& row : rows) REQUIRE(row[6] == "0");
  // Each timeline ends in the current state, "to now".
  REQUIRE(std::regex_search(rows[2][7],
                            std::regex("running from [0-9T:Z-]+ to now")));
  REQUIRE(
      std::regex_search(bad[7], std::regex("<i>failed</i> from .* to now")));
  // One SVG timeline per row, in the table.
  const std::string tbody = dom.substr(
      dom.find("<tbody>"), dom.find("</tbody>") - dom.find("<tbody>"));
  std::size_t svgs = 0;
  for (std::size_t p = tbody.find("<svg"); p != std::string::npos;
       p = tbody.find("<svg", p + 1))
    ++svgs;
  REQUIRE(svgs == 3);
  // The summary: states not up before the up one.
  const std::size_t summary = dom.find("id=\"summary\"");
  REQUIRE(summary != std::string::npos);
  REQUIRE(dom.find("data-state=\"unreachable\"", summary) <
          dom.find("data-state=\"running\"", summary));
}

TEST_CASE("the landing page in Chromium over TLS with basic auth",
          "[landing_page][chromium][tls]") {
  FakeService fake;
  fake.SetHandler([](const sse::test::FakeRequest& req) {
    sse::test::FakeResponse r;
    r.body = req.target.ends_with("7") ? R"({"state":"failed"})"
                                       : R"({"state":"running"})";
    return r;
  });
  std::string config =
      "global:\n  poll_interval: 200ms\n  poll_timeout: 200ms\nservices:\n";
  for (int i = 0; i < 120; ++i) {
    const std::string name = "svc-" + std::to_string(100 + i);
    config += "  - name: " + name + "\n    type: " + (i % 3 ? "api" : "db") +
              "\n    source: json\n    url: " + fake.Url("/" + name) + "\n";
  }
  const std::string htpasswd = sse::test::FindProgram("htpasswd");
  REQUIRE_FALSE(htpasswd.empty());
  std::string hash;
  REQUIRE(sse::test::RunCommand({htpasswd, "-nbBC", "10", "admin", "s3cret"},
                                hash) == 0);
  hash = hash.substr(std::string("admin:").size());
  while (!hash.empty() && (hash.back() == '\n' || hash.back() == '\r'))
    hash.pop_back();
  sse::test::TempDir web;
  const auto& pki = sse::test::SharedPki();
  const std::string web_config = web.Write(
      "web.yaml", "tls_server_config:\n  cert_file: " + pki.server.cert +
                      "\n  key_file: " + pki.server.key +
                      "\nbasic_auth_users:\n  admin: " + hash + "\n");
  sse::test::RigClient client;
  client.tls = sse::test::ClientTls{};
  client.tls->ca_file = pki.ca.cert;
  client.headers["Authorization"] =
      "Basic " + sse::EncodeBase64(std::string("admin:s3cret"));
  ExporterRig rig(config, client, {"--web.config.file=" + web_config});
  REQUIRE(sse::test::WaitFor([&] { return rig.Get("/-/ready").status == 200; },
                             20s));
  // Without credentials: 401.
  REQUIRE(sse::test::HttpsRequest(rig.port(), *client.tls, "GET", "/").status ==
          401);
  const std::string url =
      "https://admin:s3cret@localhost:" + std::to_string(rig.port()) + "/";

  sse::test::TempDir dir;
  const std::string dom = ChromiumDom(url, dir);
  CAPTURE(dom.substr(0, 2000));
  const auto rows = TableRows(dom);
  // A page of 100 of the 120, the 12 failed ones (…7) first.
  REQUIRE(rows.size() == 100);
  for (int i = 0; i < 12; ++i) {
    CAPTURE(i, rows[i][0]);
    REQUIRE(rows[i][0].ends_with("7"));
    REQUIRE(rows[i][2] == "failed");
  }
  for (std::size_t i = 12; i < rows.size(); ++i)
    REQUIRE(rows[i][2] == "running");
  std::size_t svgs = 0;
  const std::string tbody = dom.substr(
      dom.find("<tbody>"), dom.find("</tbody>") - dom.find("<tbody>"));
  for (std::size_t p = tbody.find("<svg"); p != std::string::npos;
       p = tbody.find("<svg", p + 1))
    ++svgs;
  REQUIRE(svgs == 100);
  REQUIRE(dom.find("Page 1 of 2") != std::string::npos);
  REQUIRE(std::regex_search(dom, std::regex(R"(failed <b>12</b>)")));
  REQUIRE(std::regex_search(dom, std::regex(R"(running <b>108</b>)")));

  const auto shot = ChromiumScreenshot(url, dir, "landing-page-tls.png");
  std::ifstream png(shot, std::ios::binary);
  std::string magic(8, '\0');
  png.read(magic.data(), 8);
  REQUIRE(magic == "\x89PNG\r\n\x1a\n");
  REQUIRE(std::filesystem::file_size(shot) > 10000);
}

TEST_CASE("/api/v1/status: version, config, reload status, uptime", "[api]") {
  FakeService fake;
  sse::test::TempDir secrets;
  secrets.Write("token", "tok-STATUS-SECRET\n");
  const std::string config =
      "global:\n  poll_interval: 100ms\n  poll_timeout: 100ms\n"
      "services:\n  - name: fake\n    url: " +
      fake.Url("/") +
      "\n    bearer_token_file: " + (secrets.path() / "token").string() + "\n";
  ExporterRig rig(config, {"--web.enable-lifecycle"});
  REQUIRE(sse::test::WaitFor([&] { return rig.Get("/-/ready").status == 200; },
                             10s));
  auto reply = rig.Get("/api/v1/status");
  REQUIRE(reply.status == 200);
  REQUIRE(reply.headers["content-type"] == "application/json");
  auto st = nlohmann::json::parse(reply.body);
  CAPTURE(st.dump());
  REQUIRE(std::regex_match(st["version"].get<std::string>(),
                           std::regex("[0-9]+\\.[0-9]+\\.[0-9]+.*")));
  REQUIRE(st["revision"].is_string());
  REQUIRE(st["start_timestamp"].get<double>() > 1.7e9);
  REQUIRE(std::regex_match(
      st["start_time"].get<std::string>(),
      std::regex("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ")));
  REQUIRE(st["uptime_seconds"].get<double>() >= 0);
  REQUIRE(st["uptime_seconds"].get<double>() < 60);
  REQUIRE(st["config"]["file"] == rig.config_path());
  REQUIRE(st["config"]["reload_successful"] == true);
  REQUIRE(st["config"]["last_reload_error"] == "");
  REQUIRE(st["config"]["last_reload_success_timestamp"].get<double>() > 1.7e9);
  REQUIRE(st["web"]["config_file"] == "");
  REQUIRE(st["web"]["tls"] == false);
  REQUIRE(st["services"]["configured"] == 1);
  REQUIRE(st["services"]["polled"] == 1);
  REQUIRE(st["ready"] == true);

  // A failed reload shows up, with its error; a good one clears it.
  rig.RewriteConfig(config + "    bogus_key: 1\n");
  REQUIRE(rig.Request("POST", "/-/reload").status == 500);
  st = nlohmann::json::parse(rig.Get("/api/v1/status").body);
  REQUIRE(st["config"]["reload_successful"] == false);
  REQUIRE(st["config"]["last_reload_error"].get<std::string>().find(
              "services[0].bogus_key: unknown key") != std::string::npos);
  rig.RewriteConfig(config);
  rig.process().Signal(SIGHUP);
  REQUIRE(sse::test::WaitFor(
      [&] {
        auto doc = nlohmann::json::parse(rig.Get("/api/v1/status").body);
        return doc["config"]["reload_successful"] == true &&
               doc["config"]["last_reload_error"] == "";
      },
      10s));

  // No endpoint serves the secret.
  for (const char* path :
       {"/api/v1/status", "/api/v1/services", "/", "/metrics"}) {
    CAPTURE(path);
    REQUIRE(rig.Get(path).body.find("tok-STATUS-SECRET") == std::string::npos);
  }
  REQUIRE(fake.last_request().headers.at("authorization") ==
          "Bearer tok-STATUS-SECRET");
}
