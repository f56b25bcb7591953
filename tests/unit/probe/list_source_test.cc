#include "sse/probe/list_source.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <optional>

namespace {
sse::ListConfig AggregatorList() {
  sse::ListConfig l;
  l.name = "muster";
  l.default_type = "MCPServer";
  return l;
}
}  // namespace

TEST_CASE("the aggregator's list document parses with the defaults", "[list]") {
  std::string error;
  auto list = sse::ParseServiceList(
      R"({"services":[{"name":"k8s","service_type":"MCPServer","state":"Running","health":"healthy"},
                      {"name":"gh","service_type":"Aggregator","state":"failed"},
                      {"name":"notype","state":"starting"}],"total":3})",
      AggregatorList(), error);
  REQUIRE(list.has_value());
  REQUIRE(list->items.size() == 3);
  REQUIRE(list->items[0].name == "k8s");
  REQUIRE(list->items[0].type == "MCPServer");
  REQUIRE(list->items[0].state == "running");  // lower-cased
  REQUIRE(list->items[1].type == "Aggregator");
  REQUIRE(list->items[2].type == "MCPServer");  // default_type
  REQUIRE(list->problems.empty());
}

TEST_CASE("custom pointer, fields and state map", "[list]") {
  sse::ListConfig l;
  l.items_pointer = "/data/items";
  l.name_field = "id";
  l.type_field = "kind";
  l.state_field = "status";
  l.poll.state_map = {{"UP", "running"}};
  std::string error;
  auto list = sse::ParseServiceList(
      R"({"data":{"items":[{"id":"a","kind":"db","status":"UP"}]}})", l, error);
  REQUIRE(list.has_value());
  REQUIRE(list->items.at(0).name == "a");
  REQUIRE(list->items.at(0).type == "db");
  REQUIRE(list->items.at(0).state == "running");
}

TEST_CASE("bad items are skipped or degraded, duplicates keep the first",
          "[list]") {
  std::string error;
  auto list = sse::ParseServiceList(
      R"({"services":[1, {"state":"x"}, {"name":""}, {"name":"a","state":"running"},
                      {"name":"a","state":"failed"}, {"name":"b","state":42},
                      {"name":"c"}, {"name":"bad\u0001name","state":"running"}]})",
      AggregatorList(), error);
  REQUIRE(list.has_value());
  REQUIRE(list->items.size() == 3);
  REQUIRE(list->items[0].name == "a");
  REQUIRE(list->items[0].state == "running");
  REQUIRE(list->items[1].name == "b");
  REQUIRE(list->items[1].state == "unknown");
  REQUIRE(list->items[2].name == "c");
  REQUIRE(list->items[2].state == "unknown");
  REQUIRE(list->problems.size() == 7);
}

TEST_CASE("documents without an item array are rejected", "[list]") {
  auto body = GENERATE(std::string("not json"), std::string(R"({"items":[]})"),
                       std::string(R"({"services":{}})"), std::string("[]"),
                       std::string(100000, '[') + std::string(100000, ']'));
  std::string error;
  REQUIRE_FALSE(
      sse::ParseServiceList(body, AggregatorList(), error).has_value());
  REQUIRE_FALSE(error.empty());
}

TEST_CASE("an empty list is a valid list", "[list]") {
  std::string error;
  auto list =
      sse::ParseServiceList(R"({"services":[]})", AggregatorList(), error);
  REQUIRE(list.has_value());
  REQUIRE(list->items.empty());
}

TEST_CASE("reading the text and reading a parsed document agree", "[list]") {
  // ParseServiceList reads items straight from the text (no document);
  // ServiceListFromJson reads a parsed one (the MCP source). Same answers.
  struct Case {
    std::string pointer;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"/services",
       R"({"services":[{"name":"a","service_type":"T","state":"Up","metadata":{"name":"x","state":[1,{"state":"no"}]}},
                       {"name":"b","state":"x","state":"down"},{"name":"a","state":"dup"},
                       7,[{"name":"n"}],{"name":5,"state":"s"},{"name":"c","service_type":9,"state":null},
                       {"name":"d\u0001","state":"s"},{"name":"e","state":"ok\u0007"}],"total":9})"},
      {"",
       R"([{"Name":"m1","Status":"connected"},{"Name":"m2","Status":"failed"}])"},
      {"/data/0/items",
       R"({"data":[{"items":[{"name":"z","state":"s"}]},{"items":[]}]})"},
      {"/a~1b/c~0d", R"({"a/b":{"c~d":[{"name":"q","state":"s"}]}})"},
      {"/services", R"({"services":{"name":"x"}})"},
      {"/services", R"({"other":[]})"},
      {"/services", R"({"services":[]} trailing)"},
      {"/services", R"("just a string")"},
      {"", R"({"not":"an array"})"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.pointer, c.body);
    sse::ListConfig l = AggregatorList();
    l.items_pointer = c.pointer;
    if (c.pointer.empty()) {
      l.name_field = "Name";
      l.state_field = "Status";
    }
    std::string text_error, doc_error;
    auto from_text = sse::ParseServiceList(c.body, l, text_error);
    auto doc = nlohmann::json::parse(c.body, nullptr, false);
    std::optional<sse::ServiceList> from_doc;
    if (!doc.is_discarded())
      from_doc = sse::ServiceListFromJson(doc, l, doc_error);
    REQUIRE(from_text.has_value() == from_doc.has_value());
    if (!from_text) {
      REQUIRE_FALSE(text_error.empty());
      if (!doc.is_discarded()) REQUIRE(text_error == doc_error);
      continue;
    }
    REQUIRE(from_text->items.size() == from_doc->items.size());
    for (std::size_t i = 0; i < from_text->items.size(); ++i) {
      REQUIRE(from_text->items[i].name == from_doc->items[i].name);
      REQUIRE(from_text->items[i].type == from_doc->items[i].type);
      REQUIRE(from_text->items[i].state == from_doc->items[i].state);
    }
    REQUIRE(from_text->problems == from_doc->problems);
  }
}

TEST_CASE("a list over max_services is refused without reading it all",
          "[list]") {
  sse::ListConfig l = AggregatorList();
  l.max_services = 3;
  std::string body = R"({"services":[)";
  for (int i = 0; i < 100000; ++i) {
    if (i) body += ',';
    body += R"({"name":"s)" + std::to_string(i) + R"(","state":"running"})";
  }
  body += "]}";
  std::string error;
  bool too_many = false;
  REQUIRE_FALSE(sse::ParseServiceList(body, l, error, &too_many));
  REQUIRE(too_many);
  REQUIRE(error.find("more than max_services (3)") != std::string::npos);
  l.max_services = 100000;
  too_many = false;
  auto all = sse::ParseServiceList(body, l, error, &too_many);
  REQUIRE(all);
  REQUIRE_FALSE(too_many);
  REQUIRE(all->items.size() == 100000);
  // The same limit on a parsed document.
  l.max_services = 3;
  REQUIRE_FALSE(sse::ServiceListFromJson(nlohmann::json::parse(body), l, error,
                                         &too_many));
  REQUIRE(too_many);
}
