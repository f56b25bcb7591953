#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sse/core/tracker.h"
#include "sse/web/render.h"

namespace sse {

/// What the landing page shows (its query string, docs/api.md "Landing
/// page"): filters, page and timeline span.
struct PageQuery {
  std::string state;     ///< exact state, or any
  std::string type;      ///< exact service type, or any
  std::string name;      ///< part of the name (ASCII case-insensitive), or any
  std::size_t page = 1;  ///< 1-based
  double range = 3600;   ///< timeline span in seconds: 3600 or 86400
  static constexpr std::size_t kPageSize = 100;
};

/// Reads a page query (state, type, name, page, range=1h|1d). nullopt if it
/// is malformed, not UTF-8, or a value is out of range.
std::optional<PageQuery> ParsePageQuery(std::string_view query);

/// Everything the landing page is drawn from.
struct LandingPage {
  /// Every service, in any order (counted, filtered and sorted; only the
  /// shown page is looked at in detail).
  std::vector<ServiceBrief> services;
  std::vector<ListStatus> lists;
  /// One service with its history, up states and poll status, for each
  /// service shown.
  std::function<std::optional<ServiceRow>(const std::string& name)> detail;
  std::string telemetry_path = "/metrics";
  double now = 0;
};

/// The landing page's order, problems first: true if `a` comes before `b`.
/// Services not up come first (most recent change first), then up ones
/// that changed within the last hour (most recent first), then the rest by
/// name. Ties by name.
bool ProblemsFirst(const ServiceBrief& a, const ServiceBrief& b, double now);

/// The HTML landing page: version and links, a summary of states (down
/// first, each a filter link), the filter form, the service lists, one page
/// of services problems first, each with an inline SVG timeline of the
/// query's range, and links between pages. No scripts, no external assets,
/// one constant <style> element (kPageStyleHash); all text escaped.
/// Thread-safe.
std::string RenderLandingPage(const LandingPage& page, const PageQuery& query);

/// The HTML page of one service (`row.view` with history): its state, last
/// poll with error, timelines of the last hour and day, and its history
/// newest first. Thread-safe.
std::string RenderServicePage(const ServiceRow& row,
                              std::string_view telemetry_path, double now,
                              std::size_t history_size);

/// An inline SVG (no xmlns: for HTML) drawing the states of `view` (with
/// history and up states) over [now - range, now]: one <rect> per state
/// segment, coloured by StateColor, with a <title> giving the state and
/// its exact start and end; no rect where nothing is known (before a
/// service's first observation). Thread-safe.
std::string RenderTimelineSvg(const ServiceView& view, double now, double range,
                              int width);

/// A status badge (standalone SVG): the service's name on grey, its state
/// on the state's colour. Thread-safe.
std::string RenderBadgeSvg(std::string_view name, std::string_view state,
                           bool up);

/// The colour of a state (docs/api.md): up → green, `unknown` → grey,
/// transitional states (starting, stopping, restarting, pending,
/// initializing, waiting) → amber, anything else → red.
const char* StateColor(std::string_view state, bool up);

/// Headers of an HTML page: a Content-Security-Policy that allows no
/// script, nothing from elsewhere and only the pages' own <style> element
/// (by its hash), and no framing.
std::vector<std::pair<std::string, std::string>> PageHeaders();

}  // namespace sse
