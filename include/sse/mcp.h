#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "sse/source.h"

namespace sse {

class HttpClient;

/// MCP protocol version this client asks for in `initialize`.
inline constexpr const char* kMcpProtocolVersion = "2025-03-26";

/// Finds the JSON-RPC response with `id` in an MCP HTTP response body,
/// which is either application/json (one message or a batch) or
/// text/event-stream (SSE `data:` lines). Returns nullopt and sets `error`
/// if there is none. Never throws.
std::optional<nlohmann::json> FindJsonRpcResponse(const HttpResult& http,
                                                  int id, std::string& error);

/// The list document in a tools/call result: `structuredContent`, or else
/// the first text content parsed as JSON. Returns nullopt and sets `error`
/// on a tool error (`isError`) or when neither is usable. Never throws.
std::optional<nlohmann::json> ToolResultDocument(const nlohmann::json& result,
                                                 std::string& error);

/// Speaks just enough MCP (JSON-RPC 2.0 over streamable HTTP) to call one
/// tool per poll: `initialize` (keeping the Mcp-Session-Id it returns),
/// `notifications/initialized`, then `tools/call` on every poll. A session
/// the server rejects (404, or 400 with a session) is initialised again
/// once. Not thread-safe: one session per poller.
class McpSession {
 public:
  explicit McpSession(std::string tool) : tool_(std::move(tool)) {}

  /// One poll. On success the result has outcome kOk, status 200 and the
  /// list document as JSON text in `body`; protocol failures come back as
  /// kHttpError or kInvalidBody with `error` set; transport failures as the
  /// client reports them. Never throws.
  boost::asio::awaitable<HttpResult> Poll(HttpClient& client);

  const std::string& session_id() const { return session_id_; }
  int initializations() const { return initializations_; }

 private:
  boost::asio::awaitable<HttpResult> Initialize(HttpClient& client);
  boost::asio::awaitable<HttpResult> Call(HttpClient& client, bool& rejected);

  std::string tool_;
  std::string session_id_;
  std::string protocol_version_ = kMcpProtocolVersion;
  bool initialized_ = false;
  int next_id_ = 1;
  int initializations_ = 0;
};

}  // namespace sse
