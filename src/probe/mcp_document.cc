#include <sstream>

#include "sse/probe/mcp.h"
#include "sse/probe/source.h"

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

namespace {

// The first text content of a tool result (or envelope), if any.
const std::string* FirstText(const nlohmann::json& result) {
  auto content = result.find("content");
  if (content == result.end() || !content->is_array()) return nullptr;
  for (const auto& c : *content) {
    if (!c.is_object()) continue;
    auto type = c.find("type");
    auto text = c.find("text");
    if (type != c.end() && type->is_string() && *type == "text" &&
        text != c.end() && text->is_string()) {
      return &text->get_ref<const std::string&>();
    }
  }
  return nullptr;
}

bool IsErrorFlagged(const nlohmann::json& result) {
  auto flag = result.find("isError");
  return flag != result.end() && flag->is_boolean() && flag->get<bool>();
}

// A tool's own text, for an error message: short, and never a flood.
std::string Excerpt(const std::string* text) {
  if (text == nullptr || text->empty()) return "(no text)";
  std::string out = text->substr(0, 200);
  if (text->size() > 200) out += "...";
  return out;
}

// Looks like a tools/call result (or muster's envelope of one).
bool LooksLikeToolResult(const nlohmann::json& doc) {
  return doc.is_object() && doc.contains("content") &&
         doc["content"].is_array() &&
         (doc.contains("isError") || doc.contains("structuredContent") ||
          doc.size() == 1);
}

ToolDocument Unusable(std::string error) {
  ToolDocument out;
  out.error = std::move(error);
  return out;
}

}  // namespace

ToolDocument ToolResultDocument(const nlohmann::json& result) {
  if (!result.is_object()) return Unusable("result is not an object");
  const std::string* text = FirstText(result);
  if (IsErrorFlagged(result)) {
    ToolDocument out;
    out.tool_error = true;
    out.error = "tool reported an error: " + Excerpt(text);
    return out;
  }
  if (auto sc = result.find("structuredContent");
      sc != result.end() && sc->is_object()) {
    ToolDocument out;
    out.doc = *sc;
    return out;
  }
  if (text == nullptr || text->empty())
    return Unusable("result has neither structuredContent nor text content");
  ToolDocument out;
  std::string error;
  out.doc = ParseUntrustedJson(*text, error);
  if (!out.doc) out.error = "text content: " + error;
  return out;
}

ToolDocument MetaToolResultDocument(const nlohmann::json& result) {
  if (!result.is_object()) return Unusable("call_tool result is not an object");
  const std::string* text = FirstText(result);
  if (text == nullptr || text->empty()) {
    if (IsErrorFlagged(result)) {
      ToolDocument out;
      out.tool_error = true;
      out.error = "call_tool reported an error: (no text)";
      return out;
    }
    return Unusable("call_tool result has no text content (the envelope)");
  }
  std::string error;
  std::optional<nlohmann::json> envelope = ParseUntrustedJson(*text, error);
  if (!envelope || !LooksLikeToolResult(*envelope)) {
    // call_tool refuses bad arguments with a plain text, no envelope.
    if (IsErrorFlagged(result)) {
      ToolDocument out;
      out.tool_error = true;
      out.error = "call_tool reported an error: " + Excerpt(text);
      return out;
    }
    return Unusable(envelope ? "call_tool envelope: not a tool result (no "
                               "content array)"
                             : "call_tool envelope: " + error);
  }
  const std::string* inner = FirstText(*envelope);
  if (IsErrorFlagged(*envelope)) {
    ToolDocument out;
    out.tool_error = true;
    out.error = "tool reported an error: " + Excerpt(inner);
    return out;
  }
  ToolDocument out;
  if (auto sc = envelope->find("structuredContent");
      sc != envelope->end() && sc->is_object()) {
    out.doc = std::move(*sc);
  } else if (inner == nullptr || inner->empty()) {
    return Unusable(
        "call_tool envelope: neither structuredContent nor text content");
  } else {
    out.doc = ParseUntrustedJson(*inner, error);
    if (!out.doc) return Unusable("call_tool envelope: inner text: " + error);
  }
  if (LooksLikeToolResult(*out.doc)) {
    return Unusable(
        "call_tool envelope: the inner result is itself an envelope (nested)");
  }
  return out;
}

}  // namespace sse
