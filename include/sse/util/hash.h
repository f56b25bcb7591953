#pragma once

#include <cstdint>
#include <string_view>

namespace sse {

/// The hash that spreads first polls over the interval: FNV-1a over the
/// string's bytes, but from the offset basis 1469598103934665603 (a digit
/// short of FNV's), kept so that first-poll delays stay where they were.
/// Not the shard hash (ShardOf). Thread-safe.
std::uint64_t StableHash(std::string_view text);

/// 64-bit FNV-1a of the string's bytes: offset basis 14695981039346656037,
/// prime 1099511628211; per byte, xor then multiply (mod 2^64).
std::uint64_t Fnv1a64(std::string_view text);

/// Jump consistent hash (Lamping and Veach, 2014, arXiv:1406.2294): the
/// bucket in [0, buckets) of `key`. Growing `buckets` from N to N+1 moves
/// about 1/(N+1) of the keys, all of them into the new bucket N. `buckets`
/// below 1 is taken as 1.
int JumpConsistentHash(std::uint64_t key, int buckets);

/// The shard of a service name among `count` shards, 0..count-1:
/// JumpConsistentHash(Fnv1a64(name), count), over the name's bytes as
/// given (UTF-8). docs/operations.md ("Sharding") documents it byte for
/// byte.
int ShardOf(std::string_view name, int count);

}  // namespace sse
