#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "sse/http/result.h"
#include "sse/probe/source.h"

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

/// A list document read from a tools/call result.
struct ToolDocument {
  std::optional<nlohmann::json> doc;  ///< the document, when usable
  /// The tool itself reported a failure (`isError`); `error` carries its
  /// text. Otherwise a missing `doc` means an unusable answer.
  bool tool_error = false;
  std::string error;  ///< why there is no document; names the layer
};

/// The list document in the result of a direct tools/call (older muster,
/// other aggregators): `structuredContent`, or else the first text content
/// parsed as JSON. Never throws.
ToolDocument ToolResultDocument(const nlohmann::json& result);

/// The list document in the result of muster's `call_tool` meta-tool. Its
/// first text content is an envelope, the inner tool's own result as JSON:
/// `{"content":[{"text":..,"type":"text"}],"isError":bool,
/// "structuredContent":..}`. The envelope's `isError` decides (the outer
/// flag mirrors it only in some versions); the document is the envelope's
/// `structuredContent`, else its first text content parsed as JSON. A plain
/// error text instead of an envelope (bad call_tool arguments) is a tool
/// error. Never throws.
ToolDocument MetaToolResultDocument(const nlohmann::json& result);

/// How a server offers the tool: directly (muster before v0.0.212 and other
/// aggregators), or only through the `call_tool` meta-tool (muster since
/// v0.0.212, which lists only meta-tools).
enum class McpMode { kUnknown, kDirect, kMeta };

/// "direct", "meta", or "" while unknown.
const char* McpModeName(McpMode mode);

/// Speaks just enough MCP (JSON-RPC 2.0 over streamable HTTP) to call one
/// tool per poll: `initialize` (keeping the Mcp-Session-Id it returns),
/// `notifications/initialized`, `tools/list` to learn whether the tool is
/// offered directly or through `call_tool`, then `tools/call` on every poll.
/// The mode is kept for the session and learnt again after a new
/// `initialize`; a direct call answered "tool not found" (-32602) switches
/// to the meta-tool at once. A session the server rejects (404, or 400 with
/// a session) is initialised again once. Not thread-safe: one session per
/// poller.
class McpSession {
 public:
  /// `arguments` is the tool's arguments as a JSON object text.
  explicit McpSession(std::string tool, std::string arguments = "{}");

  /// One poll. On success the result has outcome kOk, status 200 and the
  /// list document as JSON text in `body`. A JSON-RPC error or a tool that
  /// reports `isError` is kHttpError; an answer that cannot be read
  /// (including a broken envelope) is kInvalidBody; transport failures come
  /// back as the client reports them. `error` says which layer failed.
  /// Never throws.
  boost::asio::awaitable<HttpResult> Poll(HttpClient& client);

  /// Ends the session on the server: HTTP DELETE with its Mcp-Session-Id,
  /// bounded by the client's timeout; the answer is not checked. Does
  /// nothing without a session. Never throws.
  boost::asio::awaitable<void> Close(HttpClient& client);

  const std::string& session_id() const { return session_id_; }
  int initializations() const { return initializations_; }
  McpMode mode() const { return mode_; }

 private:
  struct Reply;
  boost::asio::awaitable<Reply> Rpc(HttpClient& client, const char* method,
                                    nlohmann::json params);
  boost::asio::awaitable<HttpResult> Initialize(HttpClient& client);
  boost::asio::awaitable<Reply> Detect(HttpClient& client);
  boost::asio::awaitable<Reply> Call(HttpClient& client);

  std::string tool_;
  nlohmann::json arguments_;
  std::string session_id_;
  std::string protocol_version_ = kMcpProtocolVersion;
  bool initialized_ = false;
  McpMode mode_ = McpMode::kUnknown;
  int next_id_ = 1;
  int initializations_ = 0;
};

}  // namespace sse
