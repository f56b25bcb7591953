#include "sse/metrics.h"

#include "sse/process_metrics.h"
#include "sse/version.h"

namespace sse {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

std::string CompilerName() {
#if defined(__clang__)
  return "clang-" __clang_version__;
#elif defined(__GNUC__)
  return "gcc-" __VERSION__;
#else
  return "unknown";
#endif
}

prometheus::Histogram& MakePollDuration(prometheus::Registry& registry) {
  return BuildHistogram()
      .Name("service_state_exporter_poll_duration_seconds")
      .Help("Duration of polls of all services, including failed ones.")
      .Register(registry)
      .Add({}, prometheus::Histogram::BucketBoundaries{
                   0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                   2.5, 5, 10});
}

prometheus::Gauge& MakeBuildInfo(prometheus::Registry& registry) {
  return BuildGauge()
      .Name("service_state_exporter_build_info")
      .Help("A metric with a constant '1' value labeled by version, revision "
            "and compiler from which service_state_exporter was built.")
      .Register(registry)
      .Add({{"version", kVersion},
            {"revision", kRevision},
            {"compiler", CompilerName()}});
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kConnectError:
      return "connect_error";
    case Outcome::kTlsError:
      return "tls_error";
    case Outcome::kHttpError:
      return "http_error";
    case Outcome::kInvalidBody:
      return "invalid_body";
    case Outcome::kTooLarge:
      return "too_large";
  }
  return "unknown";
}

Metrics::Metrics(const std::string& ns)
    : namespace_(ns),
      registry_(std::make_shared<prometheus::Registry>()),
      transitions(BuildCounter()
                      .Name(ns + "_service_state_transitions_total")
                      .Help("Committed state transitions of a service, by "
                            "from_state and to_state.")
                      .Register(*registry_)),
      up(BuildGauge()
             .Name(ns + "_service_up")
             .Help("1 while the service's committed state is one of the up "
                   "states, else 0.")
             .Register(*registry_)),
      state(BuildGauge()
                .Name(ns + "_service_state")
                .Help("1 for the service's current state, 0 for other states "
                      "it has been in.")
                .Register(*registry_)),
      entered(BuildGauge()
                  .Name(ns + "_service_state_entered_timestamp_seconds")
                  .Help("Unix time the service's current state was committed.")
                  .Register(*registry_)),
      changes(BuildCounter()
                  .Name(ns + "_service_state_changes_total")
                  .Help("All committed state transitions of a service.")
                  .Register(*registry_)),
      polls(BuildCounter()
                .Name("service_state_exporter_polls_total")
                .Help("Polls by service (or list) and outcome.")
                .Register(*registry_)),
      poll_duration(MakePollDuration(*registry_)),
      last_poll(BuildGauge()
                    .Name("service_state_exporter_last_poll_timestamp_seconds")
                    .Help("Unix time of the service's last completed poll.")
                    .Register(*registry_)),
      reload_successful(
          BuildGauge()
              .Name("service_state_exporter_config_last_reload_successful")
              .Help("Whether the last configuration reload attempt was "
                    "successful.")
              .Register(*registry_)
              .Add({})),
      reload_success_timestamp(
          BuildGauge()
              .Name("service_state_exporter_config_last_reload_success_"
                    "timestamp_seconds")
              .Help("Timestamp of the last successful configuration reload.")
              .Register(*registry_)
              .Add({})) {
  MakeBuildInfo(*registry_).Set(1);
}

std::vector<prometheus::MetricFamily> Metrics::Collect() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  AppendProcessMetrics(families);
  return families;
}

}  // namespace sse
