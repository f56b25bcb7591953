#include <sstream>

#include "sse/mcp.h"
#include "sse/source.h"

// The pure part of the MCP source: finding the JSON-RPC response in an HTTP
// answer and the list document in a tools/call result. Kept apart from the
// session (mcp.cc) so that the fuzz targets can link it without Asio.

namespace sse {
namespace {

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

}  // namespace

std::optional<nlohmann::json> FindJsonRpcResponse(const HttpResult& http,
                                                  int id, std::string& error) {
  const std::string type = http.Header("content-type");
  if (type.find("text/event-stream") != std::string::npos) {
    std::istringstream in(http.body);
    std::string line, data;
    auto flush = [&]() -> std::optional<nlohmann::json> {
      if (data.empty()) return std::nullopt;
      std::string ignored;
      auto doc = ParseUntrustedJson(data, ignored);
      data.clear();
      if (!doc) return std::nullopt;
      return FindInMessage(*doc, id);
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
    error = "no JSON-RPC response with id " + std::to_string(id) +
            " in the event stream";
    return std::nullopt;
  }
  auto doc = ParseUntrustedJson(http.body, error);
  if (!doc) {
    error = "response: " + error;
    return std::nullopt;
  }
  if (auto found = FindInMessage(*doc, id)) return found;
  error = "no JSON-RPC response with id " + std::to_string(id);
  return std::nullopt;
}

std::optional<nlohmann::json> ToolResultDocument(const nlohmann::json& result,
                                                 std::string& error) {
  if (!result.is_object()) {
    error = "tools/call result is not an object";
    return std::nullopt;
  }
  const nlohmann::json* content =
      result.contains("content") && result["content"].is_array()
          ? &result["content"]
          : nullptr;
  auto first_text = [&]() -> std::string {
    if (content == nullptr) return "";
    for (const auto& c : *content) {
      if (!c.is_object()) continue;
      auto type = c.find("type");
      auto text = c.find("text");
      if (type != c.end() && type->is_string() && *type == "text" &&
          text != c.end() && text->is_string()) {
        return text->get<std::string>();
      }
    }
    return "";
  };
  if (auto is_error = result.find("isError"); is_error != result.end() &&
                                              is_error->is_boolean() &&
                                              is_error->get<bool>()) {
    std::string text = first_text();
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    error = "tool reported an error: " + text;
    return std::nullopt;
  }
  if (result.contains("structuredContent") &&
      result["structuredContent"].is_object()) {
    return result["structuredContent"];
  }
  std::string text = first_text();
  if (text.empty()) {
    error = "tool result has neither structuredContent nor text content";
    return std::nullopt;
  }
  auto doc = ParseUntrustedJson(text, error);
  if (!doc) error = "tool text content: " + error;
  return doc;
}

}  // namespace sse
