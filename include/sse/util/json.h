#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace sse {

/// Deepest JSON nesting accepted from a body; deeper ones are invalid.
inline constexpr int kMaxJsonDepth = 256;

/// True if the JSON text nests deeper than `max_depth` (strings are
/// skipped). Cheap pre-check that keeps hostile bodies from the parser.
bool JsonTooDeep(std::string_view text, int max_depth);

/// Parses JSON from a target: refuses nesting deeper than kMaxJsonDepth (a
/// parsed tree is destroyed recursively: 200k levels would overflow the
/// stack) and invalid JSON, setting `error`. Never throws.
std::optional<nlohmann::json> ParseUntrustedJson(std::string_view text,
                                                 std::string& error);

}  // namespace sse
