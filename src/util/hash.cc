#include "sse/util/hash.h"

namespace sse {
namespace {

std::uint64_t Fnv1aFrom(std::uint64_t basis, std::string_view text) {
  std::uint64_t hash = basis;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace

std::uint64_t StableHash(std::string_view text) {
  return Fnv1aFrom(1469598103934665603ULL, text);
}

std::uint64_t Fnv1a64(std::string_view text) {
  return Fnv1aFrom(14695981039346656037ULL, text);
}

// The paper's reference implementation: a linear congruential step per
// jump, the next candidate bucket from the step's top 31 bits.
int JumpConsistentHash(std::uint64_t key, int buckets) {
  std::int64_t b = -1;
  std::int64_t j = 0;
  while (j < buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<std::int64_t>(static_cast<double>(b + 1) *
                                  (static_cast<double>(1LL << 31) /
                                   static_cast<double>((key >> 33) + 1)));
  }
  return b < 0 ? 0 : static_cast<int>(b);
}

int ShardOf(std::string_view name, int count) {
  return JumpConsistentHash(Fnv1a64(name), count);
}

}  // namespace sse
