#include "sse/probe/mcp.h"

#include <catch2/catch.hpp>

namespace {
sse::HttpResult Reply(std::string content_type, std::string body) {
  sse::HttpResult r;
  r.status = 200;
  r.headers.emplace_back("content-type", std::move(content_type));
  r.body = std::move(body);
  return r;
}
}  // namespace

TEST_CASE("JSON-RPC responses are found in JSON and in SSE bodies", "[mcp]") {
  std::string error;
  auto json = sse::FindJsonRpcResponse(
      Reply("application/json",
            R"({"jsonrpc":"2.0","id":3,"result":{"ok":true}})"),
      3, error);
  REQUIRE(json.has_value());
  REQUIRE((*json)["result"]["ok"] == true);
  auto batch = sse::FindJsonRpcResponse(
      Reply(
          "application/json",
          R"([{"jsonrpc":"2.0","id":1,"result":1},{"jsonrpc":"2.0","id":2,"result":2}])"),
      2, error);
  REQUIRE((*batch)["result"] == 2);
  auto sse_body = sse::FindJsonRpcResponse(
      Reply(
          "text/event-stream",
          "event: message\r\ndata: "
          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\r\n\r\n"
          "event: message\ndata: {\"jsonrpc\":\"2.0\",\n"
          "data: \"id\":7,\"result\":{\"x\":1}}\n\n"),
      7, error);
  REQUIRE(sse_body.has_value());
  REQUIRE((*sse_body)["result"]["x"] == 1);
  REQUIRE_FALSE(sse::FindJsonRpcResponse(
      Reply("application/json", R"({"id":9,"result":1})"), 8, error));
  REQUIRE_FALSE(sse::FindJsonRpcResponse(
      Reply("text/event-stream", "data: nope\n\n"), 1, error));
  REQUIRE_FALSE(
      sse::FindJsonRpcResponse(Reply("application/json", "<html>"), 1, error));
}

TEST_CASE("the list document comes from structuredContent or text", "[mcp]") {
  auto structured = sse::ToolResultDocument(
      {{"structuredContent", {{"services", nlohmann::json::array()}}},
       {"content", {{{"type", "text"}, {"text", "ignored"}}}}});
  REQUIRE(structured.doc->contains("services"));
  auto text = sse::ToolResultDocument(
      {{"content",
        {{{"type", "image"}},
         {{"type", "text"}, {"text", R"({"services":[],"total":0})"}}}}});
  REQUIRE((*text.doc)["total"] == 0);
  auto failed = sse::ToolResultDocument(
      {{"isError", true}, {"content", {{{"type", "text"}, {"text", "boom"}}}}});
  REQUIRE_FALSE(failed.doc);
  REQUIRE(failed.tool_error);
  REQUIRE(failed.error.find("boom") != std::string::npos);
  auto not_json = sse::ToolResultDocument(
      {{"content", {{{"type", "text"}, {"text", "not json"}}}}});
  REQUIRE_FALSE(not_json.doc);
  REQUIRE_FALSE(not_json.tool_error);
  REQUIRE_FALSE(sse::ToolResultDocument(nlohmann::json::object()).doc);
}

namespace {

// A call_tool result as muster's handleCallTool makes it
// (internal/metatools/handlers.go): the inner result marshalled by Go's
// encoding/json (keys sorted, <>& escaped) as the only text content; the
// outer isError mirrors the inner one (muster >= v0.1.114).
nlohmann::json MetaResult(const std::string& envelope, bool outer_error) {
  nlohmann::json r = {{"content", {{{"type", "text"}, {"text", envelope}}}}};
  if (outer_error) r["isError"] = true;
  return r;
}

}  // namespace

TEST_CASE("call_tool: the list comes out of muster's envelope", "[mcp]") {
  const std::string list = R"({"services":[{"health":"healthy","name":"k8s",)"
                           R"("service_type":"MCPServer","state":"running"}],)"
                           R"("total":1})";
  const std::string envelope = nlohmann::json{
      {"content", {{{"text", list}, {"type", "text"}}}},
      {"isError", false}}.dump();
  auto read = sse::MetaToolResultDocument(MetaResult(envelope, false));
  REQUIRE(read.doc);
  REQUIRE((*read.doc)["services"][0]["name"] == "k8s");

  // structuredContent in the envelope wins over its text.
  auto structured = sse::MetaToolResultDocument(
      MetaResult(R"({"content":[{"text":"x","type":"text"}],"isError":false,)"
                 R"("structuredContent":{"services":[],"total":0}})",
                 false));
  REQUIRE((*structured.doc)["total"] == 0);

  // The direct reader would take the envelope itself for the list.
  REQUIRE(sse::ToolResultDocument(MetaResult(envelope, false))
              .doc->contains("content"));
}

TEST_CASE("call_tool: failures say which layer was wrong", "[mcp]") {
  // The inner tool failed: the envelope says so, whatever the outer flag
  // (muster before v0.1.114 never set it).
  for (bool outer : {false, true}) {
    auto failed = sse::MetaToolResultDocument(MetaResult(
        R"({"content":[{"text":"Tool execution failed: service manager )"
        R"(handler not available","type":"text"}],"isError":true})",
        outer));
    REQUIRE_FALSE(failed.doc);
    REQUIRE(failed.tool_error);
    REQUIRE(failed.error.find("service manager handler not available") !=
            std::string::npos);
  }
  // Bad call_tool arguments: a plain text, no envelope.
  auto plain = sse::MetaToolResultDocument(
      MetaResult("name argument is required", true));
  REQUIRE(plain.tool_error);
  REQUIRE(plain.error.find("name argument is required") != std::string::npos);

  struct Case {
    nlohmann::json result;
    std::string says;
  };
  const std::string nested_inner =
      R"({"content":[{"text":"{}","type":"text"}],"isError":false})";
  const std::string nested = nlohmann::json{
      {"content", {{{"text", nested_inner}, {"type", "text"}}}},
      {"isError", false}}.dump();
  std::string huge(4 * 1024 * 1024, 'x');
  const std::vector<Case> cases = {
      {MetaResult("not json at all", false), "call_tool envelope: "},
      {MetaResult(huge, false), "call_tool envelope: "},
      {MetaResult(R"({"services":[]})", false), "not a tool result"},
      {MetaResult(nested, false), "nested"},
      {MetaResult(R"({"content":[],"isError":false})", false),
       "neither structuredContent nor text"},
      {MetaResult(R"({"content":[{"text":"<html>","type":"text"}]})", false),
       "inner text"},
      {nlohmann::json{{"content", nlohmann::json::array()}}, "no text content"},
      {nlohmann::json::array(), "not an object"},
  };
  for (const auto& c : cases) {
    auto read = sse::MetaToolResultDocument(c.result);
    CAPTURE(c.says, read.error);
    REQUIRE_FALSE(read.doc);
    REQUIRE_FALSE(read.tool_error);
    REQUIRE(read.error.find(c.says) != std::string::npos);
  }
}
