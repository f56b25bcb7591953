#pragma once

#include <cstdint>
#include <string_view>

namespace sse {

/// Stable 64-bit FNV-1a hash of a string: spreads first polls over the
/// interval and assigns shards. Thread-safe.
std::uint64_t StableHash(std::string_view text);

}  // namespace sse
