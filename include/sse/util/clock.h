#pragma once

#include <chrono>
#include <functional>

namespace sse {

/// Wall-clock time in Unix seconds (timestamps of metrics, logs and the
/// state file). Thread-safe.
inline double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Where a component reads the wall clock: UnixNow in the exporter, a
/// hand-moved clock in tests.
using WallClock = std::function<double()>;

}  // namespace sse
