#include "sse/mcp.h"

#include <sstream>

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

// Checks one parsed message for the response with `id`.
bool MatchId(const nlohmann::json& message, int id) {
  return message.is_object() && message.contains("id") &&
         message["id"].is_number_integer() && message["id"].get<int>() == id &&
         (message.contains("result") || message.contains("error"));
}

std::optional<nlohmann::json> FindInMessage(const nlohmann::json& doc, int id) {
  if (MatchId(doc, id)) return doc;
  if (doc.is_array()) {
    for (const auto& m : doc) {
      if (MatchId(m, id)) return m;
    }
  }
  return std::nullopt;
}

HttpRequestSpec RpcRequest(const nlohmann::json& message, const std::string& session,
                           const std::string& version) {
  HttpRequestSpec spec;
  spec.method = "POST";
  spec.content_type = "application/json";
  spec.body = message.dump();
  spec.headers.emplace_back("Accept", "application/json, text/event-stream");
  if (!session.empty()) spec.headers.emplace_back("Mcp-Session-Id", session);
  if (!version.empty()) spec.headers.emplace_back("MCP-Protocol-Version", version);
  return spec;
}

}  // namespace

std::optional<nlohmann::json> FindJsonRpcResponse(const HttpResult& http, int id,
                                                  std::string& error) {
  const std::string type = http.Header("content-type");
  if (type.find("text/event-stream") != std::string::npos) {
    std::istringstream in(http.body);
    std::string line, data;
    auto flush = [&]() -> std::optional<nlohmann::json> {
      if (data.empty()) return std::nullopt;
      auto doc = nlohmann::json::parse(data, nullptr, false);
      data.clear();
      if (doc.is_discarded()) return std::nullopt;
      return FindInMessage(doc, id);
    };
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        if (auto found = flush()) return found;
      } else if (line.rfind("data:", 0) == 0) {
        std::string part = line.substr(5);
        if (!part.empty() && part[0] == ' ') part.erase(0, 1);
        if (!data.empty()) data += '\n';
        data += part;
      }
    }
    if (auto found = flush()) return found;
    error = "no JSON-RPC response with id " + std::to_string(id) + " in the event stream";
    return std::nullopt;
  }
  auto doc = nlohmann::json::parse(http.body, nullptr, false);
  if (doc.is_discarded()) {
    error = "response is not JSON";
    return std::nullopt;
  }
  if (auto found = FindInMessage(doc, id)) return found;
  error = "no JSON-RPC response with id " + std::to_string(id);
  return std::nullopt;
}

std::optional<nlohmann::json> ToolResultDocument(const nlohmann::json& result,
                                                 std::string& error) {
  if (!result.is_object()) {
    error = "tools/call result is not an object";
    return std::nullopt;
  }
  const nlohmann::json* content = result.contains("content") && result["content"].is_array()
                                      ? &result["content"]
                                      : nullptr;
  auto first_text = [&]() -> std::string {
    if (content == nullptr) return "";
    for (const auto& c : *content) {
      if (c.is_object() && c.value("type", "") == "text" && c.contains("text") &&
          c["text"].is_string()) {
        return c["text"].get<std::string>();
      }
    }
    return "";
  };
  if (result.value("isError", false)) {
    std::string text = first_text();
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    error = "tool reported an error: " + text;
    return std::nullopt;
  }
  if (result.contains("structuredContent") && result["structuredContent"].is_object()) {
    return result["structuredContent"];
  }
  std::string text = first_text();
  if (text.empty()) {
    error = "tool result has neither structuredContent nor text content";
    return std::nullopt;
  }
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    error = "tool text content is not JSON";
    return std::nullopt;
  }
  return doc;
}

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
        {"clientInfo", {{"name", "service_state_exporter"}, {"version", kVersion}}}}}};
  HttpResult http = co_await client.Request(RpcRequest(init, "", ""));
  if (http.outcome != Outcome::kOk) co_return http;
  if (http.status < 200 || http.status >= 300) {
    co_return Failure(Outcome::kHttpError,
                      "initialize: HTTP status " + std::to_string(http.status), http.status);
  }
  std::string error;
  auto response = FindJsonRpcResponse(http, id, error);
  if (!response) co_return Failure(Outcome::kInvalidBody, "initialize: " + error, http.status);
  if (response->contains("error")) {
    co_return Failure(Outcome::kHttpError,
                      "initialize: JSON-RPC error " + (*response)["error"].dump(), http.status);
  }
  const auto& result = (*response)["result"];
  if (result.is_object() && result.contains("protocolVersion") &&
      result["protocolVersion"].is_string()) {
    protocol_version_ = result["protocolVersion"].get<std::string>();
  }
  session_id_ = http.Header("mcp-session-id");
  nlohmann::json notify = {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}};
  HttpResult ack = co_await client.Request(RpcRequest(notify, session_id_, protocol_version_));
  if (ack.outcome != Outcome::kOk) co_return ack;
  if (ack.status < 200 || ack.status >= 300) {
    co_return Failure(Outcome::kHttpError,
                      "notifications/initialized: HTTP status " + std::to_string(ack.status),
                      ack.status);
  }
  initialized_ = true;
  co_return HttpResult{};
}

net::awaitable<HttpResult> McpSession::Call(HttpClient& client, bool& rejected) {
  rejected = false;
  const int id = next_id_++;
  nlohmann::json call = {{"jsonrpc", "2.0"},
                         {"id", id},
                         {"method", "tools/call"},
                         {"params", {{"name", tool_}, {"arguments", nlohmann::json::object()}}}};
  HttpResult http = co_await client.Request(RpcRequest(call, session_id_, protocol_version_));
  if (http.outcome != Outcome::kOk) co_return http;
  if (http.status == 404 || (http.status == 400 && !session_id_.empty())) {
    rejected = true;
    co_return Failure(Outcome::kHttpError,
                      "tools/call: session rejected (HTTP " + std::to_string(http.status) + ")",
                      http.status);
  }
  if (http.status < 200 || http.status >= 300) {
    co_return Failure(Outcome::kHttpError,
                      "tools/call: HTTP status " + std::to_string(http.status), http.status);
  }
  std::string error;
  auto response = FindJsonRpcResponse(http, id, error);
  if (!response) co_return Failure(Outcome::kInvalidBody, "tools/call: " + error, http.status);
  if (response->contains("error")) {
    co_return Failure(Outcome::kHttpError,
                      "tools/call: JSON-RPC error " + (*response)["error"].dump(), http.status);
  }
  auto doc = ToolResultDocument((*response)["result"], error);
  if (!doc) co_return Failure(Outcome::kInvalidBody, "tools/call: " + error, http.status);
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
    co_return Failure(Outcome::kHttpError, "tools/call: session rejected twice");
  } catch (const std::exception& e) {
    initialized_ = false;
    co_return Failure(Outcome::kHttpError, std::string("MCP: ") + e.what());
  }
}

}  // namespace sse
