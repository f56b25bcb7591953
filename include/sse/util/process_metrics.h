#pragma once

#include <prometheus/metric_family.h>

#include <vector>

namespace sse {

/// Appends the standard process_* families (cpu_seconds_total,
/// resident_memory_bytes, virtual_memory_bytes, open_fds, max_fds,
/// start_time_seconds) read from /proc/self. Families whose source cannot
/// be read are left out. Thread-safe.
void AppendProcessMetrics(std::vector<prometheus::MetricFamily>& out);

/// Gives the heap's free pages back to the system (glibc keeps them after
/// a burst: a large parse, a flood of connections). Takes milliseconds on a
/// large heap: call it off the I/O thread. Thread-safe.
void ReleaseFreeMemory();

}  // namespace sse
