#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sse/core/exposition.h"
#include "sse/core/metrics.h"
#include "sse/core/poll_status.h"
#include "sse/core/tracker.h"
#include "sse/web/server.h"

namespace sse {

/// A service as shown by `/` and `/api/v1/services`.
struct ServiceRow {
  ServiceView view;
  PollStatus poll;
};

/// A service list as shown by `/api/v1/status` and `/`.
struct ListStatus {
  std::string name;
  std::string source;  ///< "json_list" or "mcp"
  PollStatus poll;     ///< its last poll (outcome, error, time); url redacted
  std::size_t items = 0;    ///< services in its last good answer
  std::size_t members = 0;  ///< services it currently reports (tracked)
  std::string mcp_mode;     ///< "direct", "meta" or "" (unknown, not MCP)
};

/// What `/api/v1/status` reports about the exporter itself.
struct ExporterStatus {
  std::string config_file;
  std::string web_config_file;  ///< empty without --web.config.file
  bool tls = false;             ///< /metrics is served over TLS
  bool basic_auth = false;      ///< basic auth is required
  double start_time = 0;        ///< Unix seconds
  double now = 0;
  bool reload_successful = true;   ///< the last (re)load worked
  double last_reload_success = 0;  ///< Unix seconds
  double last_reload_attempt = 0;  ///< Unix seconds
  std::string last_reload_error;   ///< of the last failed reload, else empty
  std::size_t services = 0;
  std::size_t services_polled = 0;  ///< polled at least once
  bool ready = false;
  std::vector<ListStatus> lists;  ///< in name order
};

/// JSON document of `/api/v1/status`. Thread-safe.
std::string RenderStatusJson(const ExporterStatus& status);

/// The `/metrics` response: negotiates the format from Accept; its render
/// step writes the exposition of `metrics` (on the thread that owns them),
/// its finish step gzips when Accept-Encoding allows it. `metrics` must
/// outlive the response.
WebResponse RenderMetrics(const Metrics& metrics, const WebRequest& request);

/// Compresses `data` as gzip (fast level). Throws std::runtime_error on a
/// zlib failure. Thread-safe.
std::string Gzip(std::string_view data);

/// True if an Accept-Encoding value allows gzip (q > 0).
bool AcceptsGzip(std::string_view accept_encoding);

/// JSON document of `/api/v1/services`: {"services":[...]}. Thread-safe.
std::string RenderServicesJson(const std::vector<ServiceRow>& rows);

/// JSON document of `/api/v1/services/{name}`: the service as in
/// /api/v1/services, with `history_size` and its `history`, newest first.
/// Thread-safe.
std::string RenderServiceJson(const ServiceRow& row, std::size_t history_size);

/// JSON document of `/api/v1/events`: {"events":[...]} in the given order.
/// Thread-safe.
std::string RenderEventsJson(const std::vector<FleetEvent>& events);

/// One event as a JSON object on one line (an event of the watch stream).
std::string RenderEventLine(const FleetEvent& event);

/// Escapes text for HTML element content and attribute values.
std::string HtmlEscape(std::string_view text);

/// Value of a query parameter (percent-decoded); empty if absent; nullopt
/// if the query is malformed or the value is not valid UTF-8 (a filter that
/// cannot be read must not be dropped silently).
std::optional<std::string> QueryParam(std::string_view query,
                                      std::string_view name);

/// Values of several query parameters, in the order of `names` (QueryParam
/// each); nullopt if the query is malformed or a value is not UTF-8.
std::optional<std::vector<std::string>> QueryParams(
    std::string_view query, std::initializer_list<std::string_view> names);

}  // namespace sse
