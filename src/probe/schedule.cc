#include "sse/probe/schedule.h"

#include <cstdint>

#include "sse/util/hash.h"

namespace sse::schedule {

Clock::time_point OnTick(Clock::time_point t) {
  const auto tick = std::chrono::duration_cast<Clock::duration>(kTick);
  const auto since = t.time_since_epoch();
  return Clock::time_point(((since + tick - Clock::duration(1)) / tick) * tick);
}

std::chrono::milliseconds FirstDelay(std::string_view name,
                                     std::chrono::milliseconds interval) {
  const auto ms = interval.count();
  if (ms <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(
      StableHash(name) % static_cast<std::uint64_t>(ms)));
}

Clock::time_point Next(Clock::time_point due, Clock::time_point end,
                       std::chrono::milliseconds interval) {
  Clock::time_point next = due + interval;
  if (next <= end && interval.count() > 0) {
    // Overran one or more slots: keep the phase, skip the missed ones.
    const auto behind = end - next;
    next += interval * (behind / interval + 1);
  }
  return next;
}

}  // namespace sse::schedule
