#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sse/core/exposition.h"
#include "sse/core/outcome.h"
#include "sse/core/series.h"

namespace sse {

/// The exporter's instruments. The state families are named
/// `<ns>_service_*`; the exporter's own series use the fixed prefix
/// `service_state_exporter_`. The per-service families (every one that grows
/// with the fleet) are SeriesFamily, written straight into the exposition;
/// the few fixed series live in a prometheus-cpp registry. Not thread-safe:
/// updated and rendered on the exporter's one I/O thread.
class Metrics {
 public:
  /// Creates every family. `ns` must be a valid metric name prefix.
  explicit Metrics(const std::string& ns);

  /// Appends the whole exposition: per-service families, then the registry's
  /// families and the process_* series (and `# EOF` in OpenMetrics).
  void Render(ExpositionFormat format, std::string& out) const;

  /// The registry's families plus process_* series (not the per-service
  /// families: see Render).
  std::vector<prometheus::MetricFamily> Collect() const;

  /// The per-service family named `name`, or nullptr.
  const SeriesFamily* Family(std::string_view name) const;

  /// Every per-service family, in the order Render writes them.
  SeriesFamilyList& families() { return families_; }

  const std::string& metric_namespace() const { return namespace_; }

 private:
  std::string namespace_;
  std::shared_ptr<prometheus::Registry> registry_;
  // Declared before the families: each SeriesFamily member adds itself here
  // as it is constructed (its constructor needs the list), so Render and
  // Family cannot miss one.
  SeriesFamilyList families_;

 public:
  SeriesFamily transitions;
  SeriesFamily up;
  SeriesFamily state;
  SeriesFamily entered;
  SeriesFamily changes;

  SeriesFamily polls;
  SeriesFamily last_poll;
  prometheus::Histogram& poll_duration;
  prometheus::Gauge& reload_successful;
  prometheus::Gauge& reload_success_timestamp;
  /// Clients of /api/v1/events?watch=true connected now, and those dropped
  /// for not reading.
  prometheus::Gauge& event_watchers;
  prometheus::Counter& event_watchers_dropped;
  /// `service_state_exporter_shard_info{shard_index, shard_count}` 1: one
  /// series, 0 of 1 until SetShard.
  prometheus::Family<prometheus::Gauge>& shard_info;
  /// The services this replica polls (after the shard filter), and the
  /// services it knows of (config, discovery, lists; before it).
  prometheus::Gauge& shard_services_owned;
  prometheus::Gauge& shard_services_seen;

  /// Sets shard_info to this replica's assignment (index 0 of 1 when not
  /// sharded).
  void SetShard(int index, int count);

 private:
  prometheus::Gauge* shard_info_series_ = nullptr;
};

}  // namespace sse
