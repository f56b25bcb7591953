#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sse/core/history.h"

namespace sse {

/// Counters and states of one service that survive restarts (docs/operations.md
/// "State file").
struct PersistedService {
  std::string type;
  std::string state;
  double since = 0;
  std::map<std::pair<std::string, std::string>, double> transitions;
  /// The last committed changes (global.history_size), packed and shared:
  /// the state file's snapshots copy every entry once a second, and a
  /// history is replaced whole when it changes.
  PackedHistory history;
};

/// Persisted services by name.
using PersistedState = std::map<std::string, PersistedService>;

}  // namespace sse
