// The state file's save and load cost against its size: SerializeState and
// ParseState for 10k .. 1M services, and for comparison the way the file was
// written before (an nlohmann::ordered_json object, whose inserts search
// linearly: quadratic), measured in the same run. Usage:
//   sse_state_bench [--max=1000000]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "sse/app/state_file.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

sse::PersistedState Fleet(int n) {
  sse::PersistedState state;
  for (int i = 0; i < n; ++i) {
    sse::PersistedService s;
    s.type = "MCPServer";
    s.state = i % 3 ? "running" : "failed";
    s.since = 1.7e9 + i;
    s.transitions[{"running", "failed"}] = i % 7;
    s.transitions[{"failed", "running"}] = i % 5;
    state.emplace("service-" + std::to_string(i), std::move(s));
  }
  return state;
}

// How SerializeState worked until 2026-12-01.
std::string OrderedJsonWay(const sse::PersistedState& state) {
  nlohmann::ordered_json services = nlohmann::ordered_json::object();
  for (const auto& [name, s] : state) {
    nlohmann::ordered_json transitions = nlohmann::ordered_json::array();
    for (const auto& [pair, count] : s.transitions)
      transitions.push_back(
          {{"from", pair.first}, {"to", pair.second}, {"count", count}});
    services[name] = {{"type", s.type},
                      {"state", s.state},
                      {"since", s.since},
                      {"transitions", std::move(transitions)}};
  }
  nlohmann::ordered_json doc;
  doc["format"] = sse::kStateFormat;
  doc["services"] = std::move(services);
  return doc.dump(1);
}

}  // namespace

int main(int argc, char** argv) {
  int max = 1000000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--max=", 6) == 0) max = std::atoi(argv[i] + 6);
  }
  std::printf("%10s %12s %12s %12s %14s\n", "services", "save (s)", "load (s)",
              "file (MiB)", "old save (s)");
  for (int n : {10000, 40000, 200000, 1000000}) {
    if (n > max) break;
    const sse::PersistedState state = Fleet(n);
    auto start = Clock::now();
    const std::string text = sse::SerializeState(state, 1.7e9);
    const double save = Seconds(start);
    start = Clock::now();
    const auto loaded = sse::ParseState(text, 1.8e9);
    const double load = Seconds(start);
    if (loaded.size() != state.size()) return 1;
    std::string old = "-";
    if (n <= 40000) {  // the old way takes minutes beyond
      start = Clock::now();
      OrderedJsonWay(state);
      old = std::to_string(Seconds(start));
    }
    std::printf("%10d %12.3f %12.3f %12.1f %14s\n", n, save, load,
                static_cast<double>(text.size()) / (1 << 20), old.c_str());
  }
  return 0;
}
