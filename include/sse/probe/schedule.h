#pragma once

#include <chrono>
#include <string_view>

namespace sse {

/// When a target is polled, as pure functions of time (the Poller asks
/// them; tests give them made-up times). Polls fall on whole ticks of the
/// steady clock, so the polls due in the same tick wake the I/O thread
/// once, together: at 10,000 polls/s about ten polls a wake-up instead of
/// one. A poll starts less than a tick late for it.
namespace schedule {

using Clock = std::chrono::steady_clock;

/// The grid that poll times fall on.
inline constexpr std::chrono::milliseconds kTick{1};

/// `t` moved up to the next tick (unchanged if on one).
Clock::time_point OnTick(Clock::time_point t);

/// Delay of a target's first poll: its name's StableHash spread over the
/// interval, so that a fleet started at once does not poll at once, and a
/// restart keeps each target's phase. Zero for a zero interval.
std::chrono::milliseconds FirstDelay(std::string_view name,
                                     std::chrono::milliseconds interval);

/// The poll after the one due at `due` that ended at `end`: one interval
/// later, or, if the poll overran that, the first slot of the same phase
/// after `end` (missed slots are skipped, never made up in a burst).
Clock::time_point Next(Clock::time_point due, Clock::time_point end,
                       std::chrono::milliseconds interval);

}  // namespace schedule
}  // namespace sse
