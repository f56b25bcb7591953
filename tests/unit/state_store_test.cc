#include "sse/state_store.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "support/test_util.h"

TEST_CASE("state round-trips through the file format", "[state_store]") {
  sse::PersistedState state;
  sse::PersistedService s;
  s.type = "MCPServer";
  s.state = "running";
  s.since = 1700000000.25;
  s.transitions[{"running", "failed"}] = 3;
  s.transitions[{"failed", "running"}] = 2;
  state["a\"b"] = s;
  auto parsed = sse::ParseState(sse::SerializeState(state, 1));
  REQUIRE(parsed.size() == 1);
  const auto& p = parsed.at("a\"b");
  REQUIRE(p.type == "MCPServer");
  REQUIRE(p.state == "running");
  REQUIRE(p.since == 1700000000.25);
  REQUIRE(p.transitions == s.transitions);
}

TEST_CASE("corrupt and foreign state files are refused", "[state_store]") {
  auto text = GENERATE(
      std::string(""), std::string("{"), std::string("[]"),
      std::string(R"({"services":{}})"),
      std::string(R"({"format":"other/v1","services":{}})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t"}}})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t","state":"s","since":1,"transitions":[{"from":"a","to":"b","count":-1}]}}})"));
  REQUIRE_THROWS_AS(sse::ParseState(text), std::invalid_argument);
}

TEST_CASE("LoadStateFile: missing is empty and silent, corrupt is reported",
          "[state_store]") {
  sse::test::TempDir dir;
  std::string error;
  REQUIRE(
      sse::LoadStateFile((dir.path() / "none.json").string(), error).empty());
  REQUIRE(error.empty());
  auto bad = dir.Write("bad.json", "garbage");
  REQUIRE(sse::LoadStateFile(bad, error).empty());
  REQUIRE(error.find("bad.json") != std::string::npos);
}

TEST_CASE("WriteFileAtomic replaces the file and leaves no temp file",
          "[state_store]") {
  sse::test::TempDir dir;
  std::string path = (dir.path() / "state.json").string();
  sse::WriteFileAtomic(path, "one");
  sse::WriteFileAtomic(path, "two");
  std::string error;
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  REQUIRE(content == "two");
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  REQUIRE(files == 1);
  REQUIRE_THROWS_AS(sse::WriteFileAtomic("/nonexistent-dir/x.json", "x"),
                    std::runtime_error);
}
