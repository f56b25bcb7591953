// McpSession driven through a real HttpClient against a scripted MCP server
// (FakeService on 127.0.0.1:0). The server answers as muster does
// (tests/mcp/fake_muster.mjs, tests/integration/muster_test.cc): sessions
// "mcp-session-<n>" from initialize, 202 to notifications, 404 for an
// unknown session, -32602 for a tool it does not list, call_tool's envelope
// as Go marshals it.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sse/http/client.h"
#include "sse/probe/mcp.h"
#include "support/fake_service.h"

using nlohmann::json;
using sse::test::FakeRequest;
using sse::test::FakeResponse;
using sse::test::FakeService;

namespace {

const char* const kTool = "core_service_list";
const char* const kServerVersion = "2025-06-18";  // not the one we ask for

// What core_service_list answers, as a Go map (keys sorted).
const std::string kList =
    R"({"services":[{"health":"healthy","name":"kubernetes",)"
    R"("service_type":"MCPServer","state":"running"},)"
    R"({"health":"unhealthy","name":"a<b>&c","service_type":"MCPServer",)"
    R"("state":"failed"}],"total":2})";

// A string as Go's encoding/json writes it: <, > and & escaped.
std::string GoJsonString(const std::string& text) {
  std::string out;
  for (char c : json(text).dump()) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

FakeResponse Plain(unsigned status, std::string content_type,
                   std::string body) {
  FakeResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

// A scripted MCP server. Every request is logged; the script can be changed
// between polls. Thread-safe (the handler runs on the FakeService thread).
class McpServer {
 public:
  McpServer() {
    fake_.SetHandler([this](const FakeRequest& req) { return Handle(req); });
  }

  std::string Url() const { return fake_.Url("/mcp"); }

  void SetMeta(bool meta) {
    std::lock_guard lock(mu_);
    meta_ = meta;
  }
  void SetSse(bool sse) {
    std::lock_guard lock(mu_);
    sse_ = sse;
  }
  void SetInitializeStatus(unsigned status) {
    std::lock_guard lock(mu_);
    init_status_ = status;
  }
  void SetEnvelope(std::string envelope) {
    std::lock_guard lock(mu_);
    envelope_ = std::move(envelope);
  }
  // A server restart: every session is gone.
  void ForgetSessions() {
    std::lock_guard lock(mu_);
    sessions_.clear();
  }
  std::vector<FakeRequest> TakeLog() {
    std::lock_guard lock(mu_);
    return std::exchange(log_, {});
  }
  std::set<std::string> sessions() const {
    std::lock_guard lock(mu_);
    return sessions_;
  }

 private:
  FakeResponse Answer(unsigned status, const json& message,
                      const std::string& session = "") const {
    FakeResponse r;
    r.status = status;
    if (sse_) {
      // A progress notification first, then the response over two data
      // lines, as a streaming server may send it.
      r.content_type = "text/event-stream";
      std::string text = message.dump();
      // Split between two members ({"id":N, comes first): data lines are
      // joined with a newline, which JSON allows between tokens only.
      const std::size_t half = text.find(',') + 1;
      r.body =
          "event: message\r\ndata: "
          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
          "\"params\":{\"progress\":1}}\r\n\r\n"
          "event: message\r\nid: 1\r\ndata: " +
          text.substr(0, half) + "\r\ndata: " + text.substr(half) + "\r\n\r\n";
    } else {
      r.content_type = "application/json";
      r.body = message.dump();
    }
    if (!session.empty()) r.headers["Mcp-Session-Id"] = session;
    return r;
  }

  static json Result(const json& id, json result) {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
  }
  static json Error(const json& id, int code, const std::string& message) {
    return {{"jsonrpc", "2.0"},
            {"id", id},
            {"error", {{"code", code}, {"message", message}}}};
  }
  static json Tools(const std::vector<std::string>& names) {
    json tools = json::array();
    for (const auto& n : names) {
      tools.push_back({{"name", n},
                       {"description", n},
                       {"inputSchema", {{"type", "object"}}}});
    }
    return tools;
  }

  FakeResponse Handle(const FakeRequest& req) {
    std::lock_guard lock(mu_);
    log_.push_back(req);
    auto sid = req.headers.find("mcp-session-id");
    const bool has_sid = sid != req.headers.end();
    if (req.target != "/mcp") return Plain(404, "text/plain", "no such path");
    if (req.method == "DELETE") {
      if (!has_sid || sessions_.erase(sid->second) == 0)
        return Plain(404, "text/plain", "Session not found");
      return Plain(200, "text/plain", "");
    }
    if (req.method != "POST") return Plain(405, "text/plain", "POST");
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || body["jsonrpc"] != "2.0" ||
        !body["method"].is_string()) {
      return Plain(400, "application/json", R"({"error":"not JSON-RPC"})");
    }
    const std::string method = body["method"];
    const json id = body.value("id", json());
    if (method == "initialize") {
      if (init_status_ != 200)
        return Plain(init_status_, "text/plain", "upstream not ready");
      std::string session = "mcp-session-" + std::to_string(++created_);
      sessions_.insert(session);
      return Answer(
          200,
          Result(id, {{"protocolVersion", kServerVersion},
                      {"capabilities", {{"tools", json::object()}}},
                      {"serverInfo", {{"name", "muster"}, {"version", "x"}}}}),
          session);
    }
    if (!has_sid)
      return Plain(400, "application/json",
                   R"({"error":"Mcp-Session-Id header is required"})");
    if (!sessions_.contains(sid->second))
      return Plain(404, "application/json",
                   R"({"jsonrpc":"2.0","error":{"code":-32001,)"
                   R"("message":"Session not found"},"id":null})");
    if (method == "notifications/initialized") {
      return Plain(202, "text/plain", "");
    }
    if (method == "tools/list") {
      return Answer(
          200,
          Result(id, {{"tools", meta_ ? Tools({"list_tools", "call_tool",
                                               "describe_tool"})
                                      : Tools({kTool, "core_config_get"})}}));
    }
    if (method == "tools/call") {
      const json& params = body["params"];
      if (!params.is_object())
        return Answer(200, Error(id, -32602, "params must be an object"));
      const std::string name = params.value("name", "");
      if (!meta_ && name == kTool) {
        return Answer(
            200,
            Result(id, {{"content", {{{"type", "text"}, {"text", kList}}}}}));
      }
      if (meta_ && name == "call_tool") {
        const json& args = params["arguments"];
        if (!args.is_object() || args.value("name", "") != kTool) {
          return Answer(200, Result(id, {{"content",
                                          {{{"type", "text"},
                                            {"text",
                                             "name argument is "
                                             "required"}}}},
                                         {"isError", true}}));
        }
        std::string envelope =
            envelope_.empty() ? R"({"isError":false,"content":[{"text":)" +
                                    GoJsonString(kList) + R"(,"type":"text"}]})"
                              : envelope_;
        return Answer(200,
                      Result(id, {{"content",
                                   {{{"type", "text"}, {"text", envelope}}}}}));
      }
      return Answer(
          200,
          Error(id, -32602, "tool '" + name + "' not found: tool not found"));
    }
    return Answer(200, Error(id, -32601, "Method not found"));
  }

  mutable std::mutex mu_;
  bool meta_ = false;
  bool sse_ = false;
  unsigned init_status_ = 200;
  std::string envelope_;
  int created_ = 0;
  std::set<std::string> sessions_;
  std::vector<FakeRequest> log_;
  FakeService fake_;  // last: stops (and joins) before the state goes
};

// A session and its client on a private io_context.
struct Rig {
  McpServer server;
  boost::asio::io_context io;
  sse::HttpClient client;
  sse::McpSession session;

  explicit Rig(std::string arguments = R"({"filter":"x"})")
      : client(io.get_executor(), sse::ParseUrl(server.Url()), Options()),
        session(kTool, std::move(arguments)) {}

  static sse::HttpClientOptions Options() {
    sse::HttpClientOptions o;
    o.timeout = std::chrono::seconds(5);
    return o;
  }

  sse::HttpResult Poll() {
    std::optional<sse::HttpResult> out;
    boost::asio::co_spawn(io, session.Poll(client),
                          [&](std::exception_ptr e, sse::HttpResult r) {
                            REQUIRE_FALSE(e);
                            out = std::move(r);
                          });
    io.restart();
    io.run_for(std::chrono::seconds(30));
    REQUIRE(out.has_value());
    return std::move(*out);
  }

  void Close() {
    bool done = false;
    boost::asio::co_spawn(io, session.Close(client), [&](std::exception_ptr e) {
      REQUIRE_FALSE(e);
      done = true;
    });
    io.restart();
    io.run_for(std::chrono::seconds(30));
    REQUIRE(done);
  }
};

std::string Header(const FakeRequest& req, const std::string& name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string("<absent>") : it->second;
}

json Body(const FakeRequest& req) { return json::parse(req.body); }

std::vector<std::string> Methods(const std::vector<FakeRequest>& log) {
  std::vector<std::string> out;
  for (const auto& r : log) {
    if (r.method != "POST") {
      out.push_back(r.method);
      continue;
    }
    json b = json::parse(r.body, nullptr, false);
    out.push_back(b.is_object() && b.contains("method")
                      ? b["method"].get<std::string>()
                      : "?");
  }
  return out;
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("McpSession: direct mode over a real session", "[mcp_session]") {
  Rig rig;
  sse::HttpResult r = rig.Poll();
  CAPTURE(r.error);
  REQUIRE(r.outcome == sse::Outcome::kOk);
  REQUIRE(r.status == 200);
  REQUIRE(json::parse(r.body) == json::parse(kList));
  REQUIRE(rig.session.mode() == sse::McpMode::kDirect);
  REQUIRE(rig.session.initializations() == 1);
  REQUIRE(rig.session.session_id() == "mcp-session-1");

  auto log = rig.server.TakeLog();
  REQUIRE(Methods(log) == Strings{"initialize", "notifications/initialized",
                                  "tools/list", "tools/call"});
  // Every request: POST, JSON, accepts both answer forms.
  for (const auto& req : log) {
    REQUIRE(Header(req, "content-type") == "application/json");
    REQUIRE(Header(req, "accept") == "application/json, text/event-stream");
    REQUIRE(Body(req)["jsonrpc"] == "2.0");
  }
  // initialize: no session yet; our protocol version and who we are.
  const json init = Body(log[0]);
  REQUIRE(Header(log[0], "mcp-session-id") == "<absent>");
  REQUIRE(init["params"]["protocolVersion"] == sse::kMcpProtocolVersion);
  REQUIRE(init["params"]["capabilities"] == json::object());
  REQUIRE(init["params"]["clientInfo"]["name"] == "service_state_exporter");
  // The notification has no id; requests have distinct ids.
  REQUIRE_FALSE(Body(log[1]).contains("id"));
  REQUIRE(Body(log[2])["id"] != init["id"]);
  REQUIRE(Body(log[3])["id"] != Body(log[2])["id"]);
  // Every later request carries the session and the negotiated version.
  for (std::size_t i = 1; i < log.size(); ++i) {
    CAPTURE(i);
    REQUIRE(Header(log[i], "mcp-session-id") == "mcp-session-1");
    REQUIRE(Header(log[i], "mcp-protocol-version") == kServerVersion);
  }
  // The tool is called by its own name with the configured arguments.
  REQUIRE(Body(log[3])["params"] ==
          json{{"name", kTool}, {"arguments", {{"filter", "x"}}}});

  // Later polls only call the tool, in the same session.
  for (int i = 0; i < 3; ++i) {
    sse::HttpResult again = rig.Poll();
    REQUIRE(again.outcome == sse::Outcome::kOk);
    REQUIRE(json::parse(again.body) == json::parse(kList));
  }
  log = rig.server.TakeLog();
  REQUIRE(Methods(log) == Strings{"tools/call", "tools/call", "tools/call"});
  for (const auto& req : log)
    REQUIRE(Header(req, "mcp-session-id") == "mcp-session-1");
  REQUIRE(rig.session.initializations() == 1);
}

TEST_CASE("McpSession: meta mode calls the tool through call_tool",
          "[mcp_session]") {
  Rig rig;
  rig.server.SetMeta(true);
  sse::HttpResult r = rig.Poll();
  CAPTURE(r.error);
  REQUIRE(r.outcome == sse::Outcome::kOk);
  REQUIRE(r.status == 200);
  // The list out of the envelope, its escaped <>& read back.
  REQUIRE(json::parse(r.body) == json::parse(kList));
  REQUIRE(json::parse(r.body)["services"][1]["name"] == "a<b>&c");
  REQUIRE(rig.session.mode() == sse::McpMode::kMeta);

  auto log = rig.server.TakeLog();
  REQUIRE(Methods(log) == Strings{"initialize", "notifications/initialized",
                                  "tools/list", "tools/call"});
  REQUIRE(
      Body(log[3])["params"] ==
      json{{"name", "call_tool"},
           {"arguments", {{"name", kTool}, {"arguments", {{"filter", "x"}}}}}});
  for (std::size_t i = 1; i < log.size(); ++i)
    REQUIRE(Header(log[i], "mcp-session-id") == "mcp-session-1");

  // The inner tool fails: the envelope says so; an http_error poll with its
  // text, in the same session.
  rig.server.SetEnvelope(
      R"({"isError":true,"content":[{"text":"Tool execution failed: )"
      R"(service manager handler not available","type":"text"}]})");
  sse::HttpResult failed = rig.Poll();
  REQUIRE(failed.outcome == sse::Outcome::kHttpError);
  REQUIRE(failed.error.find("service manager handler not available") !=
          std::string::npos);
  // A broken envelope is an answer that cannot be read.
  rig.server.SetEnvelope("not an envelope {");
  REQUIRE(rig.Poll().outcome == sse::Outcome::kInvalidBody);
  REQUIRE(Methods(rig.server.TakeLog()) == Strings{"tools/call", "tools/call"});
  REQUIRE(rig.session.initializations() == 1);
}

TEST_CASE("McpSession: a server upgraded to meta-tools under a kept session",
          "[mcp_session]") {
  Rig rig;
  REQUIRE(rig.Poll().outcome == sse::Outcome::kOk);
  REQUIRE(rig.session.mode() == sse::McpMode::kDirect);
  rig.server.TakeLog();
  rig.server.SetMeta(true);  // the direct call now gets -32602
  sse::HttpResult r = rig.Poll();
  CAPTURE(r.error);
  REQUIRE(r.outcome == sse::Outcome::kOk);
  REQUIRE(json::parse(r.body) == json::parse(kList));
  REQUIRE(rig.session.mode() == sse::McpMode::kMeta);
  auto log = rig.server.TakeLog();
  REQUIRE(Methods(log) == Strings{"tools/call", "tools/call"});
  REQUIRE(Body(log[0])["params"]["name"] == kTool);
  REQUIRE(Body(log[1])["params"]["name"] == "call_tool");
  REQUIRE(rig.session.initializations() == 1);
}

TEST_CASE("McpSession: a 404 for a known session makes it initialise again",
          "[mcp_session]") {
  for (bool meta : {false, true}) {
    CAPTURE(meta);
    Rig rig;
    rig.server.SetMeta(meta);
    REQUIRE(rig.Poll().outcome == sse::Outcome::kOk);
    REQUIRE(rig.session.initializations() == 1);
    REQUIRE(rig.session.session_id() == "mcp-session-1");
    rig.server.TakeLog();

    rig.server.ForgetSessions();  // the server restarted
    sse::HttpResult r = rig.Poll();
    CAPTURE(r.error);
    REQUIRE(r.outcome == sse::Outcome::kOk);
    REQUIRE(json::parse(r.body) == json::parse(kList));
    REQUIRE(rig.session.initializations() == 2);
    REQUIRE(rig.session.session_id() == "mcp-session-2");
    auto log = rig.server.TakeLog();
    REQUIRE(Methods(log) == Strings{"tools/call", "initialize",
                                    "notifications/initialized", "tools/list",
                                    "tools/call"});
    REQUIRE(Header(log[0], "mcp-session-id") == "mcp-session-1");
    REQUIRE(Header(log[1], "mcp-session-id") == "<absent>");
    for (std::size_t i = 2; i < log.size(); ++i)
      REQUIRE(Header(log[i], "mcp-session-id") == "mcp-session-2");
    REQUIRE(rig.server.sessions() == std::set<std::string>{"mcp-session-2"});
  }
}

TEST_CASE("McpSession: a failed initialize is an http_error poll",
          "[mcp_session]") {
  Rig rig;
  rig.server.SetInitializeStatus(503);
  sse::HttpResult r = rig.Poll();
  CAPTURE(r.error);
  REQUIRE(r.outcome == sse::Outcome::kHttpError);
  REQUIRE(r.status == 503);
  REQUIRE(r.error.find("initialize") != std::string::npos);
  REQUIRE(r.error.find("503") != std::string::npos);
  REQUIRE(Methods(rig.server.TakeLog()) == Strings{"initialize"});
  REQUIRE(rig.session.session_id().empty());
  REQUIRE(rig.session.initializations() == 1);

  // The next poll tries again and, with the server back, gets the list.
  rig.server.SetInitializeStatus(200);
  sse::HttpResult ok = rig.Poll();
  CAPTURE(ok.error);
  REQUIRE(ok.outcome == sse::Outcome::kOk);
  REQUIRE(rig.session.initializations() == 2);
  REQUIRE(rig.session.session_id() == "mcp-session-1");
}

TEST_CASE("McpSession: answers as an event stream (SSE)", "[mcp_session]") {
  for (bool meta : {false, true}) {
    CAPTURE(meta);
    Rig rig;
    rig.server.SetSse(true);
    rig.server.SetMeta(meta);
    for (int i = 0; i < 2; ++i) {
      sse::HttpResult r = rig.Poll();
      CAPTURE(r.error);
      REQUIRE(r.outcome == sse::Outcome::kOk);
      REQUIRE(json::parse(r.body) == json::parse(kList));
    }
    REQUIRE(rig.session.mode() ==
            (meta ? sse::McpMode::kMeta : sse::McpMode::kDirect));
    REQUIRE(rig.session.session_id() == "mcp-session-1");
    REQUIRE(Methods(rig.server.TakeLog()) ==
            Strings{"initialize", "notifications/initialized", "tools/list",
                    "tools/call", "tools/call"});
  }
}

TEST_CASE("McpSession: Close ends the session with DELETE", "[mcp_session]") {
  Rig rig;
  rig.Close();  // no session yet: nothing is sent
  REQUIRE(rig.server.TakeLog().empty());

  REQUIRE(rig.Poll().outcome == sse::Outcome::kOk);
  rig.server.TakeLog();
  REQUIRE(rig.server.sessions() == std::set<std::string>{"mcp-session-1"});
  rig.Close();
  auto log = rig.server.TakeLog();
  REQUIRE(log.size() == 1);
  REQUIRE(log[0].method == "DELETE");
  REQUIRE(log[0].target == "/mcp");
  REQUIRE(Header(log[0], "mcp-session-id") == "mcp-session-1");
  REQUIRE(Header(log[0], "mcp-protocol-version") == kServerVersion);
  REQUIRE(rig.server.sessions().empty());  // the server dropped it
  REQUIRE(rig.session.session_id().empty());

  rig.Close();  // closed already: nothing more
  REQUIRE(rig.server.TakeLog().empty());

  // A poll after Close starts a new session.
  REQUIRE(rig.Poll().outcome == sse::Outcome::kOk);
  REQUIRE(rig.session.initializations() == 2);
  REQUIRE(rig.session.session_id() == "mcp-session-2");
  REQUIRE(Methods(rig.server.TakeLog()).front() == "initialize");
}
