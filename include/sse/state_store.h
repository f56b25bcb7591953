#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sse/tracker.h"

namespace sse {

/// Persisted services by name.
using PersistedState = std::map<std::string, PersistedService>;

/// Identifies our state files; a file without it is foreign.
inline constexpr const char* kStateFormat = "service_state_exporter/state/v1";

/// Serialises states as JSON. Thread-safe.
std::string SerializeState(const PersistedState& state, double saved_at);

/// Parses a state file. Throws std::invalid_argument for a corrupt or
/// foreign file (the message says which). Thread-safe.
PersistedState ParseState(std::string_view text);

/// Writes `content` to `path` atomically: a temp file in the same directory,
/// fsync, rename, fsync of the directory. Throws std::runtime_error.
void WriteFileAtomic(const std::string& path, std::string_view content);

/// Loads a state file. A missing file gives an empty state and no error; a
/// corrupt or foreign one gives an empty state and sets `error`. Never
/// throws.
PersistedState LoadStateFile(const std::string& path, std::string& error);

}  // namespace sse
