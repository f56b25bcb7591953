#include "sse/core/metrics.h"

#include "sse/util/process_metrics.h"
#include "sse/version.h"

namespace sse {
namespace {

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
      .Help(
          "A metric with a constant '1' value labeled by version, revision "
          "and compiler from which service_state_exporter was built.")
      .Register(registry)
      .Add({{"version", kVersion},
            {"revision", kRevision},
            {"compiler", CompilerName()}});
}

}  // namespace

Metrics::Metrics(const std::string& ns)
    : namespace_(ns),
      registry_(std::make_shared<prometheus::Registry>()),
      transitions(families_, ns + "_service_state_transitions_total",
                  "Committed state transitions of a service, by from_state "
                  "and to_state.",
                  prometheus::MetricType::Counter),
      up(families_, ns + "_service_up",
         "1 while the service's committed state is one of the up states, "
         "else 0.",
         prometheus::MetricType::Gauge),
      state(families_, ns + "_service_state",
            "1 for the service's current state, 0 for other states it has "
            "been in.",
            prometheus::MetricType::Gauge),
      entered(families_, ns + "_service_state_entered_timestamp_seconds",
              "Unix time the service's current state was committed.",
              prometheus::MetricType::Gauge),
      changes(families_, ns + "_service_state_changes_total",
              "All committed state transitions of a service.",
              prometheus::MetricType::Counter),
      polls(families_, "service_state_exporter_polls_total",
            "Polls by service (or list) and outcome.",
            prometheus::MetricType::Counter),
      last_poll(families_, "service_state_exporter_last_poll_timestamp_seconds",
                "Unix time of the service's last completed poll.",
                prometheus::MetricType::Gauge),
      poll_duration(MakePollDuration(*registry_)),
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
              .Add({})),
      event_watchers(
          BuildGauge()
              .Name("service_state_exporter_event_watchers")
              .Help("Clients streaming /api/v1/events?watch=true now.")
              .Register(*registry_)
              .Add({})),
      event_watchers_dropped(
          prometheus::BuildCounter()
              .Name("service_state_exporter_event_watchers_dropped_total")
              .Help("Event stream clients dropped because they did not read "
                    "their events.")
              .Register(*registry_)
              .Add({})),
      shard_info(BuildGauge()
                     .Name("service_state_exporter_shard_info")
                     .Help("A metric with a constant '1' value labeled by "
                           "this replica's shard_index and the shard_count "
                           "it was started with (--shard.*).")
                     .Register(*registry_)),
      shard_services_owned(
          BuildGauge()
              .Name("service_state_exporter_shard_services_owned")
              .Help("Services this replica polls: those of its shard, from "
                    "the config, discovery and lists.")
              .Register(*registry_)
              .Add({})),
      shard_services_seen(
          BuildGauge()
              .Name("service_state_exporter_shard_services_seen")
              .Help("Services this replica knows of before the shard "
                    "filter: config entries, discovered targets and the "
                    "items of each list's last good answer.")
              .Register(*registry_)
              .Add({})) {
  MakeBuildInfo(*registry_).Set(1);
  SetShard(0, 1);
}

void Metrics::SetShard(int index, int count) {
  if (shard_info_series_ != nullptr) shard_info.Remove(shard_info_series_);
  shard_info_series_ =
      &shard_info.Add({{"shard_index", std::to_string(index)},
                       {"shard_count", std::to_string(count)}});
  shard_info_series_->Set(1);
}

void Metrics::Render(ExpositionFormat format, std::string& out) const {
  for (const SeriesFamily* family : families_) family->Write(format, out);
  WriteExposition(Collect(), format, out);
}

std::vector<prometheus::MetricFamily> Metrics::Collect() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  AppendProcessMetrics(families);
  return families;
}

const SeriesFamily* Metrics::Family(std::string_view name) const {
  for (const SeriesFamily* family : families_) {
    if (family->name() == name) return family;
  }
  return nullptr;
}

}  // namespace sse
