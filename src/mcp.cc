#include "sse/mcp.h"

#include "sse/http_client.h"
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

}  // namespace

net::awaitable<HttpResult> McpSession::Initialize(HttpClient& client) {
  session_id_.clear();
  initialized_ = false;
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
  if (http.status < 200 || http.status >= 300) {
    co_return Failure(Outcome::kHttpError,
                      "initialize: HTTP status " + std::to_string(http.status),
                      http.status);
  }
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
  if (ack.status < 200 || ack.status >= 300) {
    co_return Failure(
        Outcome::kHttpError,
        "notifications/initialized: HTTP status " + std::to_string(ack.status),
        ack.status);
  }
  initialized_ = true;
  co_return HttpResult{};
}

net::awaitable<HttpResult> McpSession::Call(HttpClient& client,
                                            bool& rejected) {
  rejected = false;
  const int id = next_id_++;
  nlohmann::json call = {
      {"jsonrpc", "2.0"},
      {"id", id},
      {"method", "tools/call"},
      {"params", {{"name", tool_}, {"arguments", nlohmann::json::object()}}}};
  HttpResult http =
      co_await client.Request(RpcRequest(call, session_id_, protocol_version_));
  if (http.outcome != Outcome::kOk) co_return http;
  if (http.status == 404 || (http.status == 400 && !session_id_.empty())) {
    rejected = true;
    co_return Failure(Outcome::kHttpError,
                      "tools/call: session rejected (HTTP " +
                          std::to_string(http.status) + ")",
                      http.status);
  }
  if (http.status < 200 || http.status >= 300) {
    co_return Failure(Outcome::kHttpError,
                      "tools/call: HTTP status " + std::to_string(http.status),
                      http.status);
  }
  std::string error;
  auto response = FindJsonRpcResponse(http, id, error);
  if (!response)
    co_return Failure(Outcome::kInvalidBody, "tools/call: " + error,
                      http.status);
  if (response->contains("error")) {
    co_return Failure(
        Outcome::kHttpError,
        "tools/call: JSON-RPC error " + Brief((*response)["error"]),
        http.status);
  }
  auto doc = ToolResultDocument((*response)["result"], error);
  if (!doc)
    co_return Failure(Outcome::kInvalidBody, "tools/call: " + error,
                      http.status);
  HttpResult out;
  out.status = 200;
  out.body = doc->dump();
  co_return out;
}

net::awaitable<HttpResult> McpSession::Poll(HttpClient& client) {
  try {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!initialized_) {
        HttpResult init = co_await Initialize(client);
        if (init.outcome != Outcome::kOk) co_return init;
      }
      bool rejected = false;
      HttpResult result = co_await Call(client, rejected);
      if (!rejected) co_return result;
      initialized_ = false;  // the server forgot us: start a new session
    }
    co_return Failure(Outcome::kHttpError,
                      "tools/call: session rejected twice");
  } catch (const std::exception& e) {
    initialized_ = false;
    co_return Failure(Outcome::kHttpError, std::string("MCP: ") + e.what());
  }
}

}  // namespace sse
