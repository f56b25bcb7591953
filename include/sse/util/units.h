#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sse {

using Duration = std::chrono::milliseconds;

/// Parses a Prometheus duration ("500ms", "15s", "1m", "1h30m", "2d", "1w",
/// "1y"). Units must be in decreasing order and appear at most once.
/// Returns nullopt on a malformed string or on overflow. Thread-safe.
std::optional<Duration> ParseDuration(std::string_view text);

/// Formats a duration the way Prometheus prints it ("1h30m", "500ms", "0s").
std::string FormatDuration(Duration d);

/// Parses a byte size: plain bytes ("1048576") or a number with a unit:
/// B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
/// Returns nullopt on a malformed string or on overflow. Thread-safe.
std::optional<std::uint64_t> ParseBytes(std::string_view text);

}  // namespace sse
