#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

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

/// RFC 3339 UTC time of Unix seconds, whole seconds
/// ("2026-12-01T11:04:37Z"); empty for times <= 0. Thread-safe.
std::string FormatRfc3339(double unix_seconds);

/// RFC 3339 UTC time of Unix seconds, with milliseconds
/// ("2026-12-01T11:04:37.250Z"); empty for times <= 0. Thread-safe.
std::string FormatRfc3339Millis(double unix_seconds);

/// A time given by a user: RFC 3339 ("2026-12-01T11:04:37Z", fractions and
/// offsets such as "+01:00" allowed) or Unix seconds ("1764587077.25").
/// nullopt for anything else. Thread-safe.
std::optional<double> ParseTimestamp(std::string_view text);

}  // namespace sse
