#include "sse/mcp.h"

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
  std::string error;
  auto structured = sse::ToolResultDocument(
      {{"structuredContent", {{"services", nlohmann::json::array()}}},
       {"content", {{{"type", "text"}, {"text", "ignored"}}}}},
      error);
  REQUIRE(structured->contains("services"));
  auto text = sse::ToolResultDocument(
      {{"content",
        {{{"type", "image"}},
         {{"type", "text"}, {"text", R"({"services":[],"total":0})"}}}}},
      error);
  REQUIRE((*text)["total"] == 0);
  REQUIRE_FALSE(sse::ToolResultDocument(
      {{"isError", true}, {"content", {{{"type", "text"}, {"text", "boom"}}}}},
      error));
  REQUIRE(error.find("boom") != std::string::npos);
  REQUIRE_FALSE(sse::ToolResultDocument(
      {{"content", {{{"type", "text"}, {"text", "not json"}}}}}, error));
  REQUIRE_FALSE(sse::ToolResultDocument(nlohmann::json::object(), error));
}
