#include "sse/app/state_file.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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
  auto parsed = sse::ParseState(sse::SerializeState(state, 1), 1700000001);
  REQUIRE(parsed.size() == 1);
  const auto& p = parsed.at("a\"b");
  REQUIRE(p.type == "MCPServer");
  REQUIRE(p.state == "running");
  REQUIRE(p.since == 1700000000.25);
  REQUIRE(p.transitions == s.transitions);
}

TEST_CASE("state v2 keeps histories; v1 files still load", "[state_store]") {
  sse::PersistedState state;
  sse::PersistedService s;
  s.type = "t";
  s.state = "running";
  s.since = 1700000002;
  sse::HistoryEvent first{1700000001,      "unknown",
                          "failed",        sse::Outcome::kConnectError,
                          "refused \"x\"", false};
  sse::HistoryEvent second{1700000002,        "failed", "running",
                           sse::Outcome::kOk, "",       true};
  s.history = sse::PackedHistory::Pack({first, second});
  state["svc"] = s;
  state["quiet"] = sse::PersistedService{"t", "running", 5, {}, {}};
  const std::string text = sse::SerializeState(state, 1);
  REQUIRE(text.find("\"format\": \"service_state_exporter/state/v2\"") !=
          std::string::npos);
  auto parsed = sse::ParseState(text, 1700000003);
  REQUIRE(parsed.at("svc").history.Unpack() ==
          std::vector<sse::HistoryEvent>{first, second});
  REQUIRE(parsed.at("quiet").history.empty());

  // A v1 file (written before histories) loads, without history.
  const std::string v1 =
      R"({"format":"service_state_exporter/state/v1","saved_at":1,"services":{"a":{"type":"t","state":"running","since":1,"transitions":[{"from":"running","to":"failed","count":2}]}}})";
  auto old = sse::ParseState(v1, 1700000000);
  REQUIRE(old.at("a").state == "running");
  REQUIRE(old.at("a").transitions.at({"running", "failed"}) == 2);
  REQUIRE(old.at("a").history.empty());
}

TEST_CASE("bad saved histories are refused", "[state_store]") {
  const std::string head =
      R"({"format":"service_state_exporter/state/v2","services":{"a":{"type":"t","state":"s","since":1,"transitions":[],"history":)";
  auto entry = [](const std::string& fields) { return "[{" + fields + "}]"; };
  const std::string ok =
      R"("time":5,"from":"a","to":"b","outcome":"ok","error":"","counted":true)";
  REQUIRE(sse::ParseState(head + entry(ok) + "}}}", 1700000000)
              .at("a")
              .history.Unpack()
              .size() == 1);
  auto bad = GENERATE(
      std::string("7"), std::string("[7]"),
      std::string(
          R"([{"time":5,"from":"a","to":"b","outcome":"ok","error":"","counted":true},{"time":4,"from":"b","to":"a","outcome":"ok","error":"","counted":true}])"),
      std::string(
          R"([{"time":5,"from":"a","to":"b","outcome":"nope","error":"","counted":true}])"),
      std::string(
          R"([{"time":5,"from":"a","to":"","outcome":"ok","error":"","counted":true}])"),
      std::string(
          R"([{"time":-1,"from":"a","to":"b","outcome":"ok","error":"","counted":true}])"),
      std::string(
          R"([{"time":5,"from":"a","to":"b","outcome":"ok","error":7,"counted":true}])"),
      std::string(
          R"([{"time":5,"from":"a","to":"b","outcome":"ok","error":"","counted":"yes"}])"),
      std::string(
          R"([{"time":5,"from":"a","to":"b","outcome":"ok","error":""}])"));
  CAPTURE(bad);
  REQUIRE_THROWS_AS(sse::ParseState(head + bad + "}}}", 1700000000),
                    std::invalid_argument);
}

TEST_CASE("corrupt and foreign state files are refused", "[state_store]") {
  auto text = GENERATE(
      std::string(""), std::string("{"), std::string("[]"),
      std::string(R"({"services":{}})"),
      std::string(R"({"format":"other/v1","services":{}})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t"}}})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t","state":"s","since":1,"transitions":[{"from":"a","to":"b","count":-1}]}}})"),
      // Not objects where objects belong (these once escaped as
      // nlohmann type errors and stopped the exporter).
      std::string(R"({"format":1})"), std::string("null"),
      std::string(R"([{"format":"service_state_exporter/state/v1"}])"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":[]})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":7}})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t","state":"s","since":1,"transitions":[7]}}})"),
      // Values the tracker would never take from a target.
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t","state":"s","since":1e308,"transitions":[]}}})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t","state":"s","since":-5,"transitions":[]}}})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t","state":"bad\u0001","since":1,"transitions":[]}}})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t","state":")") +
          std::string(1000, 's') + R"(","since":1,"transitions":[]}}})",
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"":{"type":"t","state":"s","since":1,"transitions":[]}}})"),
      std::string(
          R"({"format":"service_state_exporter/state/v1","services":{"a":{"type":"t","state":"s","since":1,"transitions":[{"from":"a","to":"","count":1}]}}})"));
  REQUIRE_THROWS_AS(sse::ParseState(text, 1700000000), std::invalid_argument);
}

TEST_CASE("LoadStateFile: missing is empty and silent, corrupt is reported",
          "[state_store]") {
  sse::test::TempDir dir;
  std::string error;
  REQUIRE(sse::LoadStateFile((dir.path() / "none.json").string(), 1, error)
              .empty());
  REQUIRE(error.empty());
  auto bad = dir.Write("bad.json", "garbage");
  REQUIRE(sse::LoadStateFile(bad, 1, error).empty());
  REQUIRE(error.find("bad.json") != std::string::npos);
}

TEST_CASE("LoadStateFile: a directory or FIFO is reported, never waited on",
          "[state_store]") {
  sse::test::TempDir dir;
  std::filesystem::create_directory(dir.path() / "state.json");
  std::string error;
  REQUIRE(sse::LoadStateFile((dir.path() / "state.json").string(), 1, error)
              .empty());
  REQUIRE(error.find("state.json") != std::string::npos);
  REQUIRE(error.find("not a regular file") != std::string::npos);

  // A FIFO without a writer: open() would block forever without O_NONBLOCK.
  const std::string fifo = (dir.path() / "fifo.json").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  error.clear();
  REQUIRE(sse::LoadStateFile(fifo, 1, error).empty());
  REQUIRE(error.find("not a regular file") != std::string::npos);
}

TEST_CASE("a saved state file reads back whole, however many services",
          "[state_store]") {
  sse::PersistedState state;
  for (int i = 0; i < 20000; ++i) {
    sse::PersistedService s;
    s.type = "t" + std::to_string(i % 7);
    s.state = i % 2 ? "running" : "failed";
    s.since = 1700000000 + i;
    if (i % 3 == 0) s.transitions[{"failed", "running"}] = i;
    state["svc-\"" + std::to_string(i) + "\u00e9"] = s;
  }
  const std::string text = sse::SerializeState(state, 1700000000.5);
  // The same document nlohmann would write.
  REQUIRE(nlohmann::json::parse(text)["services"].size() == state.size());
  auto parsed = sse::ParseState(text, 1700100000);
  REQUIRE(parsed.size() == state.size());
  for (const auto& [name, s] : state) {
    const auto& p = parsed.at(name);
    REQUIRE(p.type == s.type);
    REQUIRE(p.state == s.state);
    REQUIRE(p.since == s.since);
    REQUIRE(p.transitions == s.transitions);
  }
  REQUIRE(sse::ParseState(sse::SerializeState({}, 1), 1).empty());
}

TEST_CASE("WriteFileAtomic does not follow a symlink planted at its temp file",
          "[state_store]") {
  sse::test::TempDir dir;
  const std::string victim = dir.Write("victim", "precious");
  const std::string path = (dir.path() / "state.json").string();
  std::filesystem::create_symlink(victim, dir.path() / ".state.json.tmp");
  sse::WriteFileAtomic(path, "new state");
  std::ifstream in(victim);
  std::string content((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  REQUIRE(content == "precious");
  std::ifstream state_in(path);
  std::string state((std::istreambuf_iterator<char>(state_in)),
                    std::istreambuf_iterator<char>());
  REQUIRE(state == "new state");
  REQUIRE_FALSE(std::filesystem::is_symlink(path));
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
