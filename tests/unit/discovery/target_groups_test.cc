#include "sse/discovery/target_groups.h"

#include <catch2/catch.hpp>

TEST_CASE("file_sd JSON and YAML target groups parse alike", "[discovery]") {
  auto json = sse::ParseTargetGroups(
      R"([{"targets":["a:1","b:2"],"labels":{"service_type":"db","__path__":"/status"}},{"targets":["c:3"]}])",
      false);
  auto yaml = sse::ParseTargetGroups(
      "- targets: ['a:1', 'b:2']\n  labels: {service_type: db, __path__: "
      "/status}\n- targets: ['c:3']\n",
      true);
  REQUIRE(json.size() == 2);
  REQUIRE(yaml.size() == 2);
  REQUIRE(json[0].targets == yaml[0].targets);
  REQUIRE(json[0].labels == yaml[0].labels);
}

TEST_CASE("malformed target groups are rejected with a reason", "[discovery]") {
  auto text =
      GENERATE(std::string("{}"), std::string("[1]"),
               std::string(R"([{"targets":"a"}])"),
               std::string(R"([{"targets":["a"],"labels":{"x":1}}])"),
               std::string(R"([{"target":["a"]}])"), std::string("not json"));
  REQUIRE_THROWS_AS(sse::ParseTargetGroups(text, false), std::invalid_argument);
}

TEST_CASE("targets become services from the template", "[discovery]") {
  sse::ServiceConfig tmpl;
  tmpl.type = "web";
  tmpl.source = sse::SourceKind::kJson;
  auto groups = sse::ParseTargetGroups(
      R"([{"targets":["127.0.0.1:8080"],"labels":{"service_name":"api","service_type":"API"}},
          {"targets":["127.0.0.1:9000","127.0.0.1:9001"],"labels":{"__scheme__":"https","__path__":"/h"}},
          {"targets":["127.0.0.1:9000"]},
          {"targets":["bad host:1"]}])",
      false);
  std::vector<std::string> problems;
  auto services =
      sse::ServicesFromTargets(groups, tmpl, "http", "/healthz", problems);
  REQUIRE(services.size() == 3);
  REQUIRE(services[0].name == "api");
  REQUIRE(services[0].type == "API");
  REQUIRE(services[0].url.text == "http://127.0.0.1:8080/healthz");
  REQUIRE(services[0].source == sse::SourceKind::kJson);
  REQUIRE(services[1].name == "127.0.0.1:9000");
  REQUIRE(services[1].type == "web");
  REQUIRE(services[1].url.text == "https://127.0.0.1:9000/h");
  REQUIRE(services[2].url.text == "https://127.0.0.1:9001/h");
  REQUIRE(problems.size() == 2);  // duplicate 127.0.0.1:9000, bad host
}

// Regression (fuzz_service_list): the YAML reader iterated over a node held
// by a temporary of yaml-cpp's iterator; under ASan every YAML file with
// labels failed.
TEST_CASE("YAML target groups with labels and non-string keys", "[discovery]") {
  auto groups = sse::ParseTargetGroups(
      "- targets: [\"a:1\", \"b:2\"]\n  labels:\n    __scheme__: https\n    "
      "service_type: T\n",
      true);
  REQUIRE(groups.size() == 1);
  REQUIRE(groups[0].targets == std::vector<std::string>{"a:1", "b:2"});
  REQUIRE(groups[0].labels.at("__scheme__") == "https");
  REQUIRE(groups[0].labels.at("service_type") == "T");
  REQUIRE_THROWS_AS(sse::ParseTargetGroups("- {[1]: x}\n", true),
                    std::invalid_argument);
  REQUIRE_THROWS_AS(sse::ParseTargetGroups("- labels: {[1]: x}\n", true),
                    std::invalid_argument);
}
