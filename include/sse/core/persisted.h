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
  /// The last committed changes, oldest first (global.history_size); null
  /// when there are none. Shared: the state file's snapshots copy entries
  /// once a second, and a history is replaced whole when it changes.
  std::shared_ptr<const std::vector<HistoryEvent>> history;
};

/// Persisted services by name.
using PersistedState = std::map<std::string, PersistedService>;

}  // namespace sse
