#pragma once

#include <map>
#include <string>
#include <utility>

namespace sse {

/// Counters and states of one service that survive restarts (docs/operations.md
/// "State file").
struct PersistedService {
  std::string type;
  std::string state;
  double since = 0;
  std::map<std::pair<std::string, std::string>, double> transitions;
};

/// Persisted services by name.
using PersistedState = std::map<std::string, PersistedService>;

}  // namespace sse
