#include "sse/list_source.h"

#include <catch2/catch.hpp>

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
