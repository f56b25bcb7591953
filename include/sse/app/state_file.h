#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sse/core/persisted.h"

namespace sse {

/// Identifies our state files; a file without it is foreign. v2 added each
/// service's history; v1 files are still read (without history).
inline constexpr const char* kStateFormat = "service_state_exporter/state/v2";
inline constexpr const char* kStateFormatV1 = "service_state_exporter/state/v1";

/// Largest state file loaded (256 MiB: about a million services).
inline constexpr std::uint64_t kMaxStateFileBytes = 256ull * 1024 * 1024;
/// How far in the future a saved `since` may lie (clock skew between the
/// writer and us); later ones make the file corrupt.
inline constexpr double kMaxStateFutureSeconds = 24 * 3600;

/// Serialises states as JSON, in time linear in the number of services and
/// transitions. Thread-safe.
std::string SerializeState(const PersistedState& state, double saved_at);

/// Parses a state file and validates every value as the tracker would
/// accept it from a target: names, types and states usable as label values
/// (valid UTF-8, no control characters, bounded length), `since` finite and
/// not later than `now` + kMaxStateFutureSeconds, counts finite and >= 0,
/// history entries with known outcomes, times in order, at most
/// kMaxHistorySize of them (the oldest are dropped beyond).
/// Throws std::invalid_argument for a corrupt or foreign file (the message
/// says which and, for a bad entry, names the service). Thread-safe.
PersistedState ParseState(std::string_view text, double now);

/// Writes `content` to `path` atomically: a temp file in the same directory
/// (an existing one is removed first, then created exclusively and without
/// following symlinks, so a planted link cannot redirect the write), fsync,
/// rename, fsync of the directory. Throws std::runtime_error.
void WriteFileAtomic(const std::string& path, std::string_view content);

/// Loads a state file. A missing file gives an empty state and no error; a
/// corrupt, foreign, unreadable or oversized one, or one that is not a
/// regular file, gives an empty state and sets `error` (with the path).
/// Never blocks on a FIFO; never throws.
PersistedState LoadStateFile(const std::string& path, double now,
                             std::string& error);

}  // namespace sse
