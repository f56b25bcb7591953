#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

namespace sse {

/// Closed set of poll outcomes (PRODUCT.md §2); values of the `outcome`
/// label of service_state_exporter_polls_total.
enum class Outcome {
  kOk,
  kTimeout,
  kConnectError,
  kTlsError,
  kHttpError,
  kInvalidBody,
  kTooLarge,
};

/// Label value of an outcome ("ok", "timeout", ...).
const char* OutcomeName(Outcome outcome);

/// The exporter's instruments, created once in one registry. The state
/// families are named `<ns>_service_*`; the exporter's own series use the
/// fixed prefix `service_state_exporter_`. Thread-safe (prometheus-cpp
/// families are).
class Metrics {
 public:
  /// Creates every family. `ns` must be a valid metric name prefix.
  explicit Metrics(const std::string& ns);

  /// All families of the registry plus process_* series, for exposition.
  std::vector<prometheus::MetricFamily> Collect() const;

  const std::string& metric_namespace() const { return namespace_; }

 private:
  std::string namespace_;
  std::shared_ptr<prometheus::Registry> registry_;

 public:
  prometheus::Family<prometheus::Counter>& transitions;
  prometheus::Family<prometheus::Gauge>& up;
  prometheus::Family<prometheus::Gauge>& state;
  prometheus::Family<prometheus::Gauge>& entered;
  prometheus::Family<prometheus::Counter>& changes;

  prometheus::Family<prometheus::Counter>& polls;
  prometheus::Histogram& poll_duration;
  prometheus::Family<prometheus::Gauge>& last_poll;
  prometheus::Gauge& reload_successful;
  prometheus::Gauge& reload_success_timestamp;
};

}  // namespace sse
