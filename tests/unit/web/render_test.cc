#include "sse/web/render.h"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "sse/core/metrics.h"
#include "sse/core/tracker.h"
#include "sse/util/text.h"
#include "sse/version.h"
#include "support/test_util.h"

using nlohmann::json;

namespace {

// Inflates a gzip stream (gzip framing only, not zlib or raw deflate) with
// zlib itself; throws if `data` is not one whole, valid gzip stream.
std::string Gunzip(const std::string& data) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw std::runtime_error("init");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16 * 1024];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated
  }
  const bool whole = rc == Z_STREAM_END && zs.avail_in == 0;
  inflateEnd(&zs);
  if (!whole) throw std::runtime_error("not one whole gzip stream");
  return out;
}

bool IsGzipHeader(const std::string& data) {
  // RFC 1952: ID1 ID2 CM(8 = deflate).
  return data.size() >= 18 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b && data[2] == 8;
}

bool IsRfc3339(const std::string& text) {
  static const std::regex re(
      R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  return std::regex_match(text, re);
}

// A name as hostile as a target can make one: quotes, backslash, control
// characters (NUL included) and bytes that are not UTF-8.
const std::string kHostile = std::string("a\"b\\c\x01\n\t") + '\0' +
                             "\x7f<script>\xff\xc3\x28" + "\xe2\x82" + "z";

// The keys of an object (JSON objects have no order).
std::set<std::string> Keys(const json& object) {
  std::set<std::string> keys;
  for (const auto& item : object.items()) keys.insert(item.key());
  return keys;
}

sse::WebRequest Request(std::string accept, std::string accept_encoding) {
  sse::WebRequest req;
  req.method = "GET";
  req.target = req.path = "/metrics";
  if (!accept.empty()) req.headers.emplace_back("accept", std::move(accept));
  if (!accept_encoding.empty())
    req.headers.emplace_back("accept-encoding", std::move(accept_encoding));
  return req;
}

// The response as the server sends it: render step, then finish step.
sse::WebResponse Serve(sse::WebResponse res) {
  REQUIRE(res.body.empty());  // nothing is rendered before the server asks
  REQUIRE(res.render);
  res.render(res);
  if (res.finish) res.finish(res);
  return res;
}

std::string HeaderOf(const sse::WebResponse& res, const std::string& name) {
  std::string value;
  int found = 0;
  for (const auto& [n, v] : res.headers) {
    if (n == name) {
      value = v;
      ++found;
    }
  }
  REQUIRE(found <= 1);
  return value;
}

}  // namespace

// ---- QueryParam ------------------------------------------------------------

TEST_CASE("QueryParam percent-decodes the value of the named parameter",
          "[render][query]") {
  using sse::QueryParam;
  REQUIRE(QueryParam("name=orders", "name") == "orders");
  REQUIRE(QueryParam("state=failed&name=my-api", "name") == "my-api");
  REQUIRE(QueryParam("state=failed&name=my-api", "state") == "failed");
  REQUIRE(QueryParam("name=a%20b%2Fc%3D%26%25", "name") == "a b/c=&%");
  REQUIRE(QueryParam("name=caf%C3%A9", "name") == "caf\xc3\xa9");
  REQUIRE(QueryParam("name=%e2%82%ac", "name") == "\xe2\x82\xac");  // lower hex
  // The key is decoded too.
  REQUIRE(QueryParam("n%61me=x", "name") == "x");
  // Only percent-decoding (the header's contract): '+' is a literal plus,
  // a space is %20 (what curl --data-urlencode sends) and '+' is %2B.
  REQUIRE(QueryParam("name=a+b", "name") == "a+b");
  REQUIRE(QueryParam("name=a%2Bb", "name") == "a+b");
  // '=' inside a value belongs to the value.
  REQUIRE(QueryParam("name=a=b", "name") == "a=b");
}

TEST_CASE("QueryParam: an absent or empty parameter is empty",
          "[render][query]") {
  using sse::QueryParam;
  REQUIRE(QueryParam("", "name") == "");
  REQUIRE(QueryParam("state=failed", "name") == "");
  REQUIRE(QueryParam("name=", "name") == "");
  REQUIRE(QueryParam("name", "name") == "");
  REQUIRE(QueryParam("names=x&xname=y&Name=z", "name") == "");  // exact key
}

TEST_CASE("QueryParam: the first of repeated parameters counts",
          "[render][query]") {
  using sse::QueryParam;
  REQUIRE(QueryParam("name=a&name=b", "name") == "a");
  REQUIRE(QueryParam("state=x&name=b&name=a", "name") == "b");
  REQUIRE(QueryParam("name=&name=b", "name") == "");
}

TEST_CASE("QueryParam: a malformed query or invalid UTF-8 is nullopt",
          "[render][query]") {
  using sse::QueryParam;
  // Malformed escapes, in the value, in the key, or in another parameter
  // (the query as a whole cannot be read).
  for (const char* query :
       {"name=%", "name=%4", "name=%zz", "name=a%g1", "%zz=1&name=a",
        "state=%&name=a", "name=a&state=%X"}) {
    CAPTURE(query);
    REQUIRE_FALSE(QueryParam(query, "name").has_value());
  }
  // Raw bytes a query may not hold.
  REQUIRE_FALSE(QueryParam("name=\xff", "name").has_value());
  // Decodes to bytes that are not UTF-8: a lone continuation byte, an
  // overlong '/', a truncated sequence, a surrogate, beyond U+10FFFF.
  for (const char* query :
       {"name=%FF", "name=%80", "name=%C0%AF", "name=%C3%28", "name=%E2%82",
        "name=%ED%A0%80", "name=%F4%90%80%80", "name=ok%C3"}) {
    CAPTURE(query);
    REQUIRE_FALSE(QueryParam(query, "name").has_value());
  }
  // A parameter that is not asked for may hold any (well-formed) bytes.
  REQUIRE(QueryParam("other=%FF&name=a", "name") == "a");
}

// ---- AcceptsGzip -----------------------------------------------------------

TEST_CASE("AcceptsGzip reads q-values, * and identity", "[render][gzip]") {
  using sse::AcceptsGzip;
  for (const char* yes :
       {"gzip", "gzip, deflate, br", "deflate, gzip", "br;q=1.0, gzip;q=0.8",
        "gzip;q=1", "gzip;q=0.5", "gzip;q=0.001", "gzip; q=0.5", "*", "*;q=0.1",
        "identity, *", "deflate,gzip", "  gzip  "}) {
    CAPTURE(yes);
    REQUIRE(AcceptsGzip(yes));
  }
  for (const char* no :
       {"", "identity", "deflate, br", "gzip;q=0", "gzip;q=0.0", "gzip;q=0.000",
        "gzip; q=0", "*;q=0", "identity, *;q=0", "deflate, gzip;q=0",
        "br;q=0.9, gzip;q=0.0"}) {
    CAPTURE(no);
    REQUIRE_FALSE(AcceptsGzip(no));
  }
}

// RFC 9110 8.4.1: "All content codings are case-insensitive"; 12.4.2:
// "*" matches any coding not explicitly listed, so gzip;q=0 beside * still
// refuses gzip; 12.5.3 gives an example of "gzip;q=1.0, identity; q=0.5,
// *;q=0" and parameter names (q) are case-insensitive too (5.6.6).
TEST_CASE("AcceptsGzip: case and * beside an explicit refusal",
          "[render][gzip]") {
  using sse::AcceptsGzip;
  for (const char* yes : {"GZIP", "Gzip", "deflate, GZip;q=0.5"}) {
    CAPTURE(yes);
    CHECK(AcceptsGzip(yes));
  }
  for (const char* no :
       {"gzip;Q=0", "GZIP;q=0", "gzip;q=0, *", "*;q=1, gzip;q=0"}) {
    CAPTURE(no);
    CHECK_FALSE(AcceptsGzip(no));
  }
}

// ---- HtmlEscape ------------------------------------------------------------

TEST_CASE("HtmlEscape escapes the five special characters", "[render][html]") {
  REQUIRE(sse::HtmlEscape("&") == "&amp;");
  REQUIRE(sse::HtmlEscape("<") == "&lt;");
  REQUIRE(sse::HtmlEscape(">") == "&gt;");
  REQUIRE(sse::HtmlEscape("\"") == "&quot;");
  REQUIRE(sse::HtmlEscape("'") == "&#39;");
  REQUIRE(sse::HtmlEscape(R"(<a href="x" title='y'>&amp;</a>)") ==
          "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
  // Everything else passes unchanged, bytes included.
  const std::string plain = std::string("plain text/=;#%\xc3\xa9\xff") + '\0';
  REQUIRE(sse::HtmlEscape(plain) == plain);
  REQUIRE(sse::HtmlEscape("") == "");
}

// ---- Gzip ------------------------------------------------------------------

TEST_CASE("Gzip makes a gzip stream that zlib inflates back",
          "[render][gzip]") {
  // Empty, small, compressible and incompressible (larger than the first
  // output buffer, so the buffer has to grow), and a megabyte of text.
  std::string noise;
  std::uint32_t x = 12345;
  for (int i = 0; i < 300 * 1024; ++i) {
    x = x * 1664525u + 1013904223u;
    noise += static_cast<char>(x >> 24);
  }
  std::string text;
  while (text.size() < 1024 * 1024) {
    text += "muster_service_up{service_name=\"svc" +
            std::to_string(text.size() % 977) +
            "\",service_type=\"MCPServer\"} 1\n";
  }
  for (const std::string& data : {std::string(), std::string("hello"),
                                  std::string(1, '\0'), noise, text}) {
    CAPTURE(data.size());
    const std::string gz = sse::Gzip(data);
    REQUIRE(IsGzipHeader(gz));
    REQUIRE(Gunzip(gz) == data);
  }
  REQUIRE(sse::Gzip(text).size() < text.size() / 10);
}

// ---- RenderServicesJson ----------------------------------------------------

namespace {

sse::ServiceRow Row(std::string name) {
  sse::ServiceRow row;
  row.view.name = std::move(name);
  row.view.type = "MCPServer";
  row.view.state = "running";
  row.view.up = true;
  row.view.observed = true;
  row.view.since = 1700000000.5;  // 2023-11-14T22:13:20.5Z
  row.view.changes = 3;
  row.view.transitions[{"unknown", "starting"}] = 1;
  row.view.transitions[{"starting", "running"}] = 2;
  row.poll.polled = true;
  row.poll.outcome = "ok";
  row.poll.last_state = "running";
  row.poll.last_poll = 1700000060.25;  // 2023-11-14T22:14:20Z
  row.poll.duration_seconds = 0.125;
  row.poll.url = "http://127.0.0.1:8080/health";
  return row;
}

}  // namespace

TEST_CASE("RenderServicesJson has every documented field", "[render][json]") {
  sse::ServiceRow waiting = Row("orders");
  waiting.view.state = "failed";
  waiting.view.up = false;
  waiting.view.candidate = "running";
  waiting.view.streak = 2;
  waiting.poll.error = "HTTP status 503";
  waiting.poll.outcome = "http_error";
  const std::string out = sse::RenderServicesJson({Row("billing"), waiting});
  const json doc = json::parse(out);
  REQUIRE(Keys(doc) == std::set<std::string>{"services"});
  REQUIRE(doc["services"].size() == 2);

  const json& s = doc["services"][0];
  // docs/operations.md, "Endpoints": these fields, no others.
  REQUIRE(Keys(s) == std::set<std::string>{"name", "type", "state", "up",
                                           "since", "since_timestamp", "url",
                                           "last_poll", "pending",
                                           "transitions_total", "transitions"});
  REQUIRE(s["name"] == "billing");
  REQUIRE(s["type"] == "MCPServer");
  REQUIRE(s["state"] == "running");
  REQUIRE(s["up"] == true);
  REQUIRE(IsRfc3339(s["since"].get<std::string>()));
  REQUIRE(s["since"] == "2023-11-14T22:13:20Z");
  REQUIRE(s["since_timestamp"] == 1700000000.5);
  REQUIRE(s["url"] == "http://127.0.0.1:8080/health");
  const json& poll = s["last_poll"];
  REQUIRE(Keys(poll) == std::set<std::string>{"timestamp", "time", "outcome",
                                              "observed_state",
                                              "duration_seconds", "error"});
  REQUIRE(poll["timestamp"] == 1700000060.25);
  REQUIRE(IsRfc3339(poll["time"].get<std::string>()));
  REQUIRE(poll["time"] == "2023-11-14T22:14:20Z");
  REQUIRE(poll["outcome"] == "ok");
  REQUIRE(poll["observed_state"] == "running");
  REQUIRE(poll["duration_seconds"] == 0.125);
  REQUIRE(poll["error"] == "");
  REQUIRE(s["pending"].is_null());
  REQUIRE(s["transitions_total"] == 3);
  REQUIRE(s["transitions"] ==
          json::parse(R"([{"from":"starting","to":"running","count":2},
                          {"from":"unknown","to":"starting","count":1}])"));

  const json& w = doc["services"][1];
  REQUIRE(w["name"] == "orders");
  REQUIRE(w["up"] == false);
  REQUIRE(w["pending"] == json::parse(R"({"state":"running","streak":2})"));
  REQUIRE(w["last_poll"]["outcome"] == "http_error");
  REQUIRE(w["last_poll"]["error"] == "HTTP status 503");

  REQUIRE(json::parse(sse::RenderServicesJson({})) ==
          json::parse(R"({"services":[]})"));
}

TEST_CASE("RenderServicesJson: hostile text comes out as valid JSON",
          "[render][json]") {
  sse::ServiceRow row = Row(kHostile);
  row.view.type = kHostile;
  row.view.state = kHostile;
  row.view.candidate = kHostile;
  row.view.transitions[{kHostile, kHostile}] = 7;
  row.poll.error = kHostile;
  row.poll.last_state = kHostile;
  row.poll.url = kHostile;
  const std::string out = sse::RenderServicesJson({row});
  REQUIRE(sse::IsValidUtf8(out));
  for (char c : out) {
    CAPTURE(static_cast<int>(static_cast<unsigned char>(c)));
    REQUIRE((static_cast<unsigned char>(c) >= 0x20 || c == '\n'));
  }
  const json doc = json::parse(out);  // throws if it is not JSON
  const json& s = doc["services"][0];
  const std::string name = s["name"];
  // Quotes, backslash and control characters survive; bytes that are not
  // UTF-8 become U+FFFD.
  REQUIRE(name.rfind(std::string("a\"b\\c\x01\n\t") + '\0' + "\x7f<script>",
                     0) == 0);
  REQUIRE(name.find("\xef\xbf\xbd") != std::string::npos);
  REQUIRE(name.back() == 'z');
  REQUIRE(sse::IsValidUtf8(name));
  REQUIRE(s["type"] == name);
  REQUIRE(s["state"] == name);
  REQUIRE(s["url"] == name);
  REQUIRE(s["last_poll"]["error"] == name);
  REQUIRE(s["last_poll"]["observed_state"] == name);
  REQUIRE(s["pending"]["state"] == name);
}

TEST_CASE("RenderServicesJson: a service never polled has empty times",
          "[render][json]") {
  sse::ServiceRow row = Row("new");
  row.poll = {};
  row.view.candidate.clear();
  const json s = json::parse(sse::RenderServicesJson({row}))["services"][0];
  REQUIRE(s["last_poll"]["timestamp"] == 0);
  REQUIRE(s["last_poll"]["time"] == "");
  REQUIRE(s["last_poll"]["outcome"] == "");
  REQUIRE(IsRfc3339(s["since"].get<std::string>()));
}

// ---- RenderStatusJson ------------------------------------------------------

TEST_CASE("RenderStatusJson has every documented field", "[render][json]") {
  sse::ExporterStatus st;
  st.config_file = "/etc/sse/config.yaml";
  st.web_config_file = "/etc/sse/web.yaml";
  st.tls = true;
  st.basic_auth = true;
  st.start_time = 1700000000;
  st.now = 1700000090.5;
  st.reload_successful = false;
  st.last_reload_success = 1700000010;
  st.last_reload_attempt = 1700000080;
  st.last_reload_error = "config.yaml:3: services[0].url: bad";
  st.services = 5;
  st.services_polled = 4;
  st.ready = false;
  sse::ListStatus list;
  list.name = "muster";
  list.source = "mcp";
  list.poll.polled = true;
  list.poll.outcome = "ok";
  list.poll.last_poll = 1700000085;
  list.poll.duration_seconds = 0.25;
  list.poll.url = "http://muster:8090/mcp";
  list.items = 3;
  list.members = 2;
  list.mcp_mode = "meta";
  sse::ListStatus never;
  never.name = kHostile;
  never.source = "json_list";
  never.poll.error = kHostile;
  st.lists = {list, never};

  const std::string out = sse::RenderStatusJson(st);
  REQUIRE(sse::IsValidUtf8(out));
  const json doc = json::parse(out);
  REQUIRE(Keys(doc) == std::set<std::string>{"version", "revision",
                                             "start_time", "start_timestamp",
                                             "uptime_seconds", "config", "web",
                                             "services", "ready", "lists"});
  REQUIRE(doc["version"] == sse::kVersion);
  REQUIRE(doc["revision"] == sse::kRevision);
  REQUIRE(doc["start_time"] == "2023-11-14T22:13:20Z");
  REQUIRE(IsRfc3339(doc["start_time"].get<std::string>()));
  REQUIRE(doc["start_timestamp"] == 1700000000.0);
  REQUIRE(doc["uptime_seconds"] == 90.5);
  REQUIRE(doc["config"] ==
          json{{"file", "/etc/sse/config.yaml"},
               {"reload_successful", false},
               {"last_reload_success_time", "2023-11-14T22:13:30Z"},
               {"last_reload_success_timestamp", 1700000010.0},
               {"last_reload_attempt_timestamp", 1700000080.0},
               {"last_reload_error", "config.yaml:3: services[0].url: bad"}});
  REQUIRE(
      IsRfc3339(doc["config"]["last_reload_success_time"].get<std::string>()));
  REQUIRE(doc["web"] == json{{"config_file", "/etc/sse/web.yaml"},
                             {"tls", true},
                             {"basic_auth", true}});
  REQUIRE(doc["services"] == json{{"configured", 5}, {"polled", 4}});
  REQUIRE(doc["ready"] == false);
  REQUIRE(doc["lists"].size() == 2);
  const json& l = doc["lists"][0];
  REQUIRE(Keys(l) == std::set<std::string>{"name", "source", "url", "polled",
                                           "outcome", "error", "last_poll",
                                           "last_poll_time", "duration_seconds",
                                           "items", "members", "mcp_mode"});
  REQUIRE(l["name"] == "muster");
  REQUIRE(l["source"] == "mcp");
  REQUIRE(l["url"] == "http://muster:8090/mcp");
  REQUIRE(l["polled"] == true);
  REQUIRE(l["outcome"] == "ok");
  REQUIRE(l["error"] == "");
  REQUIRE(l["last_poll"] == 1700000085.0);
  REQUIRE(l["last_poll_time"] == "2023-11-14T22:14:45Z");
  REQUIRE(IsRfc3339(l["last_poll_time"].get<std::string>()));
  REQUIRE(l["duration_seconds"] == 0.25);
  REQUIRE(l["items"] == 3);
  REQUIRE(l["members"] == 2);
  REQUIRE(l["mcp_mode"] == "meta");
  const json& n = doc["lists"][1];
  REQUIRE(n["polled"] == false);
  REQUIRE(n["last_poll_time"] == "");
  REQUIRE(n["mcp_mode"] == "");
  REQUIRE(sse::IsValidUtf8(n["name"].get<std::string>()));
  REQUIRE(n["name"].get<std::string>().find("a\"b\\c") == 0);
  REQUIRE(n["error"] == n["name"]);

  // A clock that went backwards shows no negative uptime.
  st.now = st.start_time - 5;
  REQUIRE(json::parse(sse::RenderStatusJson(st))["uptime_seconds"] == 0.0);
}

// ---- RenderMetrics ---------------------------------------------------------

namespace {

struct MetricsRig {
  sse::Metrics metrics{"muster"};
  sse::Tracker tracker{metrics};
  MetricsRig() {
    tracker.Add("svc", "MCPServer", {}, 1000);
    tracker.Observe("svc", "running", 1001);  // first: no transition
    tracker.Observe("svc", "failed", 1002);
    tracker.Observe("svc", "running", 1003);
  }
};

const std::map<std::string, std::string> kSvc = {{"service_name", "svc"},
                                                 {"service_type", "MCPServer"}};

}  // namespace

TEST_CASE("RenderMetrics: text 0.0.4 by default", "[render][metrics]") {
  MetricsRig rig;
  for (const char* accept :
       {"", "text/plain", "*/*", "text/plain;version=0.0.4",
        "application/openmetrics-text;version=1.0.0;q=0",
        "application/openmetrics-text;version=0.0.1"}) {
    CAPTURE(accept);
    sse::WebResponse res =
        Serve(sse::RenderMetrics(rig.metrics, Request(accept, "")));
    REQUIRE(res.status == 200);
    REQUIRE(res.content_type == "text/plain; version=0.0.4; charset=utf-8");
    REQUIRE_FALSE(res.finish);
    REQUIRE(HeaderOf(res, "Content-Encoding").empty());
    REQUIRE(HeaderOf(res, "Vary") == "Accept, Accept-Encoding");
    REQUIRE(res.body.find("# EOF") == std::string::npos);
    auto samples = sse::test::ParseExposition(res.body);
    REQUIRE(sse::test::FindSample(samples, "muster_service_up", kSvc) == 1.0);
    REQUIRE(sse::test::FindSample(samples,
                                  "muster_service_state_transitions_total",
                                  {{"service_name", "svc"},
                                   {"service_type", "MCPServer"},
                                   {"from_state", "running"},
                                   {"to_state", "failed"}}) == 1.0);
    REQUIRE(res.body.find(
                "# TYPE muster_service_state_transitions_total counter\n") !=
            std::string::npos);
  }
}

TEST_CASE("RenderMetrics: OpenMetrics when Accept asks for it",
          "[render][metrics]") {
  MetricsRig rig;
  // What Prometheus sends by default, and shorter forms.
  for (const char* accept :
       {"application/openmetrics-text;version=1.0.0,application/"
        "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,"
        "*/*;q=0.1",
        "application/openmetrics-text",
        "text/plain;q=0.5, application/openmetrics-text; version=1.0.0"}) {
    CAPTURE(accept);
    sse::WebResponse res =
        Serve(sse::RenderMetrics(rig.metrics, Request(accept, "")));
    REQUIRE(res.content_type ==
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
    REQUIRE(res.body.size() > 6);
    REQUIRE(res.body.substr(res.body.size() - 6) == "# EOF\n");
    auto samples = sse::test::ParseExposition(res.body);
    REQUIRE(sse::test::FindSample(samples, "muster_service_up", kSvc) == 1.0);
    // Counter families drop _total from their name in the metadata.
    REQUIRE(
        res.body.find("# TYPE muster_service_state_transitions counter\n") !=
        std::string::npos);
    REQUIRE(sse::test::FindSample(samples,
                                  "muster_service_state_transitions_total",
                                  {{"service_name", "svc"},
                                   {"service_type", "MCPServer"},
                                   {"from_state", "running"},
                                   {"to_state", "failed"}}) == 1.0);
  }
}

TEST_CASE("RenderMetrics: gzip when Accept-Encoding allows it",
          "[render][metrics][gzip]") {
  MetricsRig rig;
  const std::string plain =
      Serve(sse::RenderMetrics(rig.metrics, Request("", ""))).body;
  for (const char* accept : {"", "application/openmetrics-text"}) {
    sse::WebResponse made =
        sse::RenderMetrics(rig.metrics, Request(accept, "deflate, gzip;q=0.9"));
    REQUIRE(made.finish);  // compression is the server's last step
    REQUIRE(HeaderOf(made, "Content-Encoding") == "gzip");
    REQUIRE(HeaderOf(made, "Vary") == "Accept, Accept-Encoding");
    sse::WebResponse res = Serve(std::move(made));
    REQUIRE(IsGzipHeader(res.body));
    const std::string body = Gunzip(res.body);
    auto samples = sse::test::ParseExposition(body);
    REQUIRE(sse::test::FindSample(samples, "muster_service_up", kSvc) == 1.0);
    if (*accept == '\0') {
      REQUIRE(res.content_type == "text/plain; version=0.0.4; charset=utf-8");
      REQUIRE(body.substr(0, 200) == plain.substr(0, 200));
    } else {
      REQUIRE(body.substr(body.size() - 6) == "# EOF\n");
    }
  }
  // Refused gzip: no finish step, no Content-Encoding, a plain body.
  for (const char* refused : {"gzip;q=0", "identity", "br"}) {
    CAPTURE(refused);
    sse::WebResponse res =
        Serve(sse::RenderMetrics(rig.metrics, Request("", refused)));
    REQUIRE_FALSE(res.finish);
    REQUIRE(HeaderOf(res, "Content-Encoding").empty());
    REQUIRE_FALSE(IsGzipHeader(res.body));
    REQUIRE(!sse::test::ParseExposition(res.body).empty());
  }
}

TEST_CASE("RenderMetrics: responses share a body only when they are alike",
          "[render][metrics]") {
  MetricsRig rig;
  auto key = [&](const char* accept, const char* encoding) {
    return sse::RenderMetrics(rig.metrics, Request(accept, encoding)).share_key;
  };
  const std::string om = "application/openmetrics-text";
  std::vector<std::string> keys = {key("", ""), key("", "gzip"),
                                   key(om.c_str(), ""),
                                   key(om.c_str(), "gzip")};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    REQUIRE_FALSE(keys[i].empty());
    for (std::size_t j = 0; j < i; ++j) REQUIRE(keys[i] != keys[j]);
  }
  REQUIRE(key("text/plain", "deflate") == keys[0]);
  REQUIRE(key("*/*", "gzip, br") == keys[1]);

  // The body is rendered when the server runs the step, not before: a
  // change in between shows.
  sse::WebResponse res = sse::RenderMetrics(rig.metrics, Request("", ""));
  rig.tracker.Observe("svc", "failed", 1004);
  res = Serve(std::move(res));
  REQUIRE(sse::test::FindSample(sse::test::ParseExposition(res.body),
                                "muster_service_up", kSvc) == 0.0);
}
