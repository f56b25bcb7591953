#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sse/config/config.h"

namespace sse {

/// A Prometheus target group (file_sd / http_sd format).
struct TargetGroup {
  std::vector<std::string> targets;  ///< "host:port"
  std::map<std::string, std::string> labels;
};

/// Parses target groups from JSON (a JSON array) or, if `yaml` is true, a
/// YAML list, as Prometheus' file_sd and http_sd read them. Throws
/// std::invalid_argument naming what is wrong.
std::vector<TargetGroup> ParseTargetGroups(std::string_view text, bool yaml);

/// Turns target groups into services from a block's template (README.md
/// "Fleets"): service_name label or else the target; service_type label or else
/// the template's type; URL from __scheme__ (or `scheme`) + target +
/// __path__ / __metrics_path__ (or `path`). Targets whose URL does not
/// parse are skipped and reported in `problems`. Duplicates keep the first.
std::vector<ServiceConfig> ServicesFromTargets(
    const std::vector<TargetGroup>& groups, const ServiceConfig& tmpl,
    const std::string& scheme, const std::string& path,
    std::vector<std::string>& problems);

/// Expands one glob pattern to the existing files, sorted.
std::vector<std::string> ExpandGlob(const std::string& pattern);

}  // namespace sse
