#include "sse/probe/schedule.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>

#include "sse/util/hash.h"

using namespace std::chrono_literals;
using sse::schedule::Clock;

namespace {

Clock::time_point At(std::chrono::microseconds since) {
  return Clock::time_point(since);
}

}  // namespace

TEST_CASE("poll times fall on whole ticks, never earlier", "[schedule]") {
  CHECK(sse::schedule::OnTick(At(5000us)) == At(5000us));
  CHECK(sse::schedule::OnTick(At(5001us)) == At(6000us));
  CHECK(sse::schedule::OnTick(At(5999us)) == At(6000us));
  CHECK(sse::schedule::OnTick(At(0us)) == At(0us));
}

TEST_CASE("the first poll is spread over the interval by the name",
          "[schedule]") {
  const auto interval = 1000ms;
  std::set<long> delays;
  for (int i = 0; i < 1000; ++i) {
    const std::string name = "svc-" + std::to_string(i);
    const auto delay = sse::schedule::FirstDelay(name, interval);
    REQUIRE(delay >= 0ms);
    REQUIRE(delay < interval);
    // The same name keeps its phase (a restart polls at the same offsets).
    REQUIRE(delay == sse::schedule::FirstDelay(name, interval));
    REQUIRE(delay.count() == static_cast<long>(sse::StableHash(name) % 1000));
    delays.insert(delay.count() / 100);
  }
  // 1,000 names land in every tenth of the interval.
  CHECK(delays.size() == 10);
  CHECK(sse::schedule::FirstDelay("svc", 0ms) == 0ms);
}

TEST_CASE("a poll that ends in time is followed one interval later",
          "[schedule]") {
  const auto due = At(10s);
  CHECK(sse::schedule::Next(due, due + 30ms, 1000ms) == due + 1000ms);
  // Ending exactly before the next slot still keeps it.
  CHECK(sse::schedule::Next(due, due + 999ms, 1000ms) == due + 1000ms);
}

TEST_CASE("a poll that overruns skips the missed slots and keeps its phase",
          "[schedule]") {
  const auto due = At(10s);
  // Ends on the next slot: that slot is missed.
  CHECK(sse::schedule::Next(due, due + 1000ms, 1000ms) == due + 2000ms);
  // Ends 3.5 intervals later: the next is at +4, in phase.
  CHECK(sse::schedule::Next(due, due + 3500ms, 1000ms) == due + 4000ms);
  // Never a burst to catch up: whatever the overrun, one poll comes next.
  for (int ms : {1001, 2999, 10000, 123456}) {
    const auto next =
        sse::schedule::Next(due, due + std::chrono::milliseconds(ms), 1000ms);
    CAPTURE(ms);
    REQUIRE(next > due + std::chrono::milliseconds(ms));
    REQUIRE(next <= due + std::chrono::milliseconds(ms) + 1000ms);
    REQUIRE((next - due) % 1000ms == 0ms);
  }
}
