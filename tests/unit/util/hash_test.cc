#include "sse/util/hash.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace {

std::vector<std::string> Names(int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("svc-" + std::to_string(i));
  return names;
}

}  // namespace

TEST_CASE("Fnv1a64 is 64-bit FNV-1a", "[hash][shard]") {
  // The published test vectors of FNV-1a 64.
  REQUIRE(sse::Fnv1a64("") == 0xcbf29ce484222325ULL);
  REQUIRE(sse::Fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  REQUIRE(sse::Fnv1a64("foobar") == 0x85944171f73967e8ULL);
}

TEST_CASE("ShardOf gives the documented shards", "[hash][shard]") {
  // Computed with the Python reference of docs/operations.md ("Sharding"),
  // for 1, 2, 3, 4, 5, 10 and 100 shards.
  struct Case {
    const char* name;
    std::vector<int> shards;
  };
  auto c = GENERATE(Case{"service_state_exporter", {0, 0, 2, 2, 2, 2, 97}},
                    Case{"payments-api", {0, 0, 0, 3, 4, 4, 45}},
                    Case{"svc-1999", {0, 1, 2, 2, 4, 6, 31}},
                    Case{"m\xc3\xbcster", {0, 1, 1, 1, 1, 8, 61}},  // müster
                    Case{"a", {0, 1, 2, 2, 2, 2, 31}});
  CAPTURE(c.name);
  const int counts[] = {1, 2, 3, 4, 5, 10, 100};
  for (std::size_t i = 0; i < c.shards.size(); ++i) {
    CAPTURE(counts[i]);
    REQUIRE(sse::ShardOf(c.name, counts[i]) == c.shards[i]);
  }
  REQUIRE(sse::ShardOf(c.name, 0) == 0);
}

TEST_CASE("ShardOf spreads names evenly", "[hash][shard]") {
  const auto names = Names(10000);
  std::vector<int> per(4);
  for (const auto& n : names) ++per[sse::ShardOf(n, 4)];
  for (int count : per) {
    CAPTURE(per);
    REQUIRE(count > 2200);
    REQUIRE(count < 2800);
  }
}

TEST_CASE("one more shard moves about 1/(N+1) of the names, into it",
          "[hash][shard]") {
  const auto names = Names(10000);
  auto n = GENERATE(1, 2, 3, 4, 7, 15);
  CAPTURE(n);
  int moved = 0;
  for (const auto& name : names) {
    const int before = sse::ShardOf(name, n);
    const int after = sse::ShardOf(name, n + 1);
    if (before == after) continue;
    ++moved;
    CAPTURE(name, before, after);
    REQUIRE(after == n);  // only into the new shard
  }
  // 1/(N+1) expected; 4 -> 5 moves 2,000 of 10,000 (20%), at most 25%.
  const double fraction = moved / 10000.0;
  REQUIRE(fraction > 0.8 / (n + 1));
  REQUIRE(fraction < 1.2 / (n + 1));
  if (n == 4) REQUIRE(fraction <= 0.25);
}

TEST_CASE("the poll-spread hash is not the shard hash", "[hash][shard]") {
  // Shards must not correlate with first-poll delays: with FNV-1a mod N for
  // both, a shard of 4 would only use every 4th millisecond of a 1 s
  // interval.
  std::vector<bool> used(1000);
  for (const auto& n : Names(8000)) {
    if (sse::ShardOf(n, 4) == 2) used[sse::StableHash(n) % 1000] = true;
  }
  int slots = 0;
  for (bool u : used) slots += u ? 1 : 0;
  REQUIRE(slots > 800);  // ~2,000 names over 1,000 slots fill ~86%
}
