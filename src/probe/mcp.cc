#include "sse/probe/mcp.h"

#include "sse/http/client.h"
#include "sse/version.h"

namespace sse {
namespace {

namespace net = boost::asio;

HttpResult Failure(Outcome outcome, std::string error, unsigned status = 0) {
  HttpResult r;
  r.outcome = outcome;
  r.status = status;
  r.error = std::move(error);
  return r;
}

// A server's error object for a message: never throws on invalid UTF-8,
// and a hostile server cannot fill logs or the landing page with it.
std::string Brief(const nlohmann::json& value) {
  std::string text =
      value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  return text;
}

HttpRequestSpec RpcRequest(const nlohmann::json& message,
                           const std::string& session,
                           const std::string& version) {
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.content_type = "application/json";
  spec.body = message.dump();
  spec.headers.emplace_back("Accept", "application/json, text/event-stream");
  if (!session.empty()) spec.headers.emplace_back("Mcp-Session-Id", session);
  if (!version.empty())
    spec.headers.emplace_back("MCP-Protocol-Version", version);
  return spec;
}

constexpr int kInvalidParams = -32602;  // mcp-go: "tool ... not found"
constexpr int kMaxToolPages = 16;       // tools/list pages read at most

}  // namespace

const char* McpModeName(McpMode mode) {
  switch (mode) {
    case McpMode::kDirect:
      return "direct";
    case McpMode::kMeta:
      return "meta";
    case McpMode::kUnknown:
      break;
  }
  return "";
}

// What one JSON-RPC request brought back.
struct McpSession::Reply {
  bool ok = false;
  HttpResult failure;     // when not ok
  bool rejected = false;  // the server does not know our session
  int rpc_error = 0;      // the JSON-RPC error code, if it answered one
  nlohmann::json result;  // when ok
};

McpSession::McpSession(std::string tool, std::string arguments)
    : tool_(std::move(tool)),
      arguments_(nlohmann::json::parse(arguments, nullptr, false)) {
  if (!arguments_.is_object()) arguments_ = nlohmann::json::object();
}

net::awaitable<McpSession::Reply> McpSession::Rpc(HttpClient& client,
                                                  const char* method,
                                                  nlohmann::json params) {
  Reply reply;
  const int id = next_id_++;
  nlohmann::json call = {{"jsonrpc", "2.0"},
                         {"id", id},
                         {"method", method},
                         {"params", std::move(params)}};
  HttpResult http =
      co_await client.Request(RpcRequest(call, session_id_, protocol_version_));
  const std::string what = method;
  if (http.outcome != Outcome::kOk) {
    reply.failure = std::move(http);
    co_return reply;
  }
  if (http.status == 404 || (http.status == 400 && !session_id_.empty())) {
    reply.rejected = true;
    reply.failure = Failure(
        Outcome::kHttpError,
        what + ": session rejected (HTTP " + std::to_string(http.status) + ")",
        http.status);
    co_return reply;
  }
  if (std::string e = StatusError(http, what); !e.empty()) {
    reply.failure = Failure(Outcome::kHttpError, std::move(e), http.status);
    co_return reply;
  }
  std::string error;
  auto response = FindJsonRpcResponse(http, id, error);
  if (!response) {
    reply.failure =
        Failure(Outcome::kInvalidBody, what + ": " + error, http.status);
    co_return reply;
  }
  if (auto e = response->find("error"); e != response->end()) {
    if (e->is_object() && e->contains("code") &&
        (*e)["code"].is_number_integer()) {
      reply.rpc_error = (*e)["code"].get<int>();
    }
    reply.failure =
        Failure(Outcome::kHttpError, what + ": JSON-RPC error " + Brief(*e),
                http.status);
    co_return reply;
  }
  reply.ok = true;
  reply.result = std::move((*response)["result"]);
  co_return reply;
}

net::awaitable<HttpResult> McpSession::Initialize(HttpClient& client) {
  session_id_.clear();
  initialized_ = false;
  mode_ = McpMode::kUnknown;
  ++initializations_;
  const int id = next_id_++;
  nlohmann::json init = {
      {"jsonrpc", "2.0"},
      {"id", id},
      {"method", "initialize"},
      {"params",
       {{"protocolVersion", kMcpProtocolVersion},
        {"capabilities", nlohmann::json::object()},
        {"clientInfo",
         {{"name", "service_state_exporter"}, {"version", kVersion}}}}}};
  HttpResult http = co_await client.Request(RpcRequest(init, "", ""));
  if (http.outcome != Outcome::kOk) co_return http;
  if (std::string e = StatusError(http, "initialize"); !e.empty())
    co_return Failure(Outcome::kHttpError, std::move(e), http.status);
  std::string error;
  auto response = FindJsonRpcResponse(http, id, error);
  if (!response)
    co_return Failure(Outcome::kInvalidBody, "initialize: " + error,
                      http.status);
  if (response->contains("error")) {
    co_return Failure(
        Outcome::kHttpError,
        "initialize: JSON-RPC error " + Brief((*response)["error"]),
        http.status);
  }
  const auto& result = (*response)["result"];
  if (result.is_object() && result.contains("protocolVersion") &&
      result["protocolVersion"].is_string()) {
    protocol_version_ = result["protocolVersion"].get<std::string>();
  }
  session_id_ = http.Header("mcp-session-id");
  nlohmann::json notify = {{"jsonrpc", "2.0"},
                           {"method", "notifications/initialized"}};
  HttpResult ack = co_await client.Request(
      RpcRequest(notify, session_id_, protocol_version_));
  if (ack.outcome != Outcome::kOk) co_return ack;
  if (std::string e = StatusError(ack, "notifications/initialized"); !e.empty())
    co_return Failure(Outcome::kHttpError, std::move(e), ack.status);
  initialized_ = true;
  co_return HttpResult{};
}

// tools/list, page by page, until it shows the tool (direct) or call_tool
// (meta). A server that cannot list tools is called directly.
net::awaitable<McpSession::Reply> McpSession::Detect(HttpClient& client) {
  std::string cursor;
  bool meta = false;
  std::size_t seen = 0;
  for (int page = 0; page < kMaxToolPages; ++page) {
    nlohmann::json params = nlohmann::json::object();
    if (!cursor.empty()) params["cursor"] = cursor;
    Reply reply = co_await Rpc(client, "tools/list", std::move(params));
    if (!reply.ok) {
      if (reply.rpc_error == 0) co_return reply;
      break;  // no tools/list: try the tool itself
    }
    const nlohmann::json& tools =
        reply.result.is_object() ? reply.result.value("tools", nlohmann::json())
                                 : nlohmann::json();
    if (!tools.is_array()) {
      reply.ok = false;
      reply.failure = Failure(Outcome::kInvalidBody,
                              "tools/list: result has no tools array");
      co_return reply;
    }
    for (const auto& tool : tools) {
      if (!tool.is_object() || !tool.contains("name") ||
          !tool["name"].is_string())
        continue;
      ++seen;
      const auto& name = tool["name"].get_ref<const std::string&>();
      if (name == tool_) {
        mode_ = McpMode::kDirect;
        co_return reply;
      }
      if (name == "call_tool") meta = true;
    }
    auto next = reply.result.find("nextCursor");
    if (next == reply.result.end() || !next->is_string() ||
        next->get_ref<const std::string&>().empty()) {
      if (meta) {
        mode_ = McpMode::kMeta;
        co_return reply;
      }
      reply.ok = false;
      reply.failure =
          Failure(Outcome::kHttpError,
                  "tools/list: the server offers neither \"" + tool_ +
                      "\" nor call_tool (" + std::to_string(seen) + " tools)");
      co_return reply;
    }
    cursor = next->get<std::string>();
  }
  mode_ = meta ? McpMode::kMeta : McpMode::kDirect;
  Reply assumed;
  assumed.ok = true;
  co_return assumed;
}

net::awaitable<McpSession::Reply> McpSession::Call(HttpClient& client) {
  nlohmann::json params;
  if (mode_ == McpMode::kMeta) {
    params = {{"name", "call_tool"},
              {"arguments", {{"name", tool_}, {"arguments", arguments_}}}};
  } else {
    params = {{"name", tool_}, {"arguments", arguments_}};
  }
  co_return co_await Rpc(client, "tools/call", std::move(params));
}

net::awaitable<HttpResult> McpSession::Poll(HttpClient& client) {
  try {
    bool switched = false;
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (!initialized_) {
        HttpResult init = co_await Initialize(client);
        if (init.outcome != Outcome::kOk) co_return init;
      }
      if (mode_ == McpMode::kUnknown) {
        Reply detected = co_await Detect(client);
        if (detected.rejected) {
          initialized_ = false;  // the server forgot us: start a new session
          continue;
        }
        if (!detected.ok) co_return detected.failure;
      }
      Reply reply = co_await Call(client);
      if (reply.rejected) {
        initialized_ = false;
        continue;
      }
      // Called directly, answered "not found": a muster that offers only
      // meta-tools (upgraded under a kept session). Once per poll.
      if (!reply.ok && reply.rpc_error == kInvalidParams &&
          mode_ != McpMode::kMeta && !switched) {
        switched = true;
        mode_ = McpMode::kMeta;
        continue;
      }
      if (!reply.ok) co_return reply.failure;
      ToolDocument read = mode_ == McpMode::kMeta
                              ? MetaToolResultDocument(reply.result)
                              : ToolResultDocument(reply.result);
      if (!read.doc) {
        co_return Failure(
            read.tool_error ? Outcome::kHttpError : Outcome::kInvalidBody,
            "tools/call " + tool_ + ": " + read.error, 200);
      }
      HttpResult out;
      out.status = 200;
      out.body = read.doc->dump(-1, ' ', false,
                                nlohmann::json::error_handler_t::replace);
      co_return out;
    }
    co_return Failure(Outcome::kHttpError,
                      "tools/call: session rejected again after initialize");
  } catch (const std::bad_alloc&) {
    co_return Failure(Outcome::kTooLarge,
                      "MCP: out of memory reading the answer");
  } catch (const std::exception& e) {
    initialized_ = false;
    co_return Failure(Outcome::kHttpError, std::string("MCP: ") + e.what());
  }
}

net::awaitable<void> McpSession::Close(HttpClient& client) {
  if (session_id_.empty()) co_return;
  HttpRequestSpec spec;
  spec.method = "DELETE";
  spec.headers.emplace_back("Mcp-Session-Id", session_id_);
  spec.headers.emplace_back("MCP-Protocol-Version", protocol_version_);
  session_id_.clear();
  initialized_ = false;
  mode_ = McpMode::kUnknown;
  co_await client.Request(std::move(spec));
}

}  // namespace sse
