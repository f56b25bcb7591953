#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sse/app/event_hub.h"
#include "sse/app/recorder.h"
#include "sse/core/metrics.h"
#include "sse/web/render.h"
#include "sse/web/router.h"

namespace sse {

/// Most events one /api/v1/events answer may hold (`limit`).
inline constexpr std::size_t kMaxEventsLimit = 10000;

/// What the endpoints read from the running exporter.
struct RouteSources {
  std::string telemetry_path = "/metrics";
  bool enable_lifecycle = false;  ///< --web.enable-lifecycle
  const Metrics* metrics = nullptr;
  const PollRecorder* recorder = nullptr;
  /// Watchers of /api/v1/events?watch=true.
  EventHub* events = nullptr;
  /// /api/v1/status; also says whether the exporter is ready.
  std::function<ExporterStatus()> status;
  /// Starts a reload; its callback gets the verdict.
  std::function<void(std::function<void(bool, const std::string&)>)> reload;
  WallClock now;
};

/// The services of the tracker with their poll status, filtered by exact
/// name and state (empty: any), sorted by name.
std::vector<ServiceRow> ServiceRows(const PollRecorder& recorder,
                                    const std::string& name_filter,
                                    const std::string& state_filter);

/// The exporter's endpoints (docs/operations.md "Endpoints", docs/api.md):
/// the telemetry path, /, /services/{name}, /badge/{name}.svg,
/// /api/v1/services, /api/v1/services/{name}, /api/v1/events,
/// /api/v1/status, /-/healthy, /-/ready and /-/reload.
Router MakeRoutes(RouteSources sources);

}  // namespace sse
