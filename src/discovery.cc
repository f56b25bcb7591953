#include "sse/discovery.h"

#include <glob.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>

#include "sse/list_source.h"
#include "sse/source.h"

namespace sse {

std::vector<TargetGroup> ParseTargetGroups(std::string_view text, bool yaml) {
  std::vector<TargetGroup> groups;
  if (yaml) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      throw std::invalid_argument("line " + std::to_string(e.mark.line + 1) +
                                  ": invalid YAML: " + e.msg);
    }
    if (root.IsNull()) return groups;
    if (!root.IsSequence())
      throw std::invalid_argument("must be a list of target groups");
    for (std::size_t i = 0; i < root.size(); ++i) {
      const YAML::Node g = root[i];
      const std::string where = "group " + std::to_string(i) + " (line " +
                                std::to_string(g.Mark().line + 1) + ")";
      if (!g.IsMap())
        throw std::invalid_argument(where + ": must be a mapping");
      TargetGroup group;
      for (auto it = g.begin(); it != g.end(); ++it) {
        if (!it->first.IsScalar())
          throw std::invalid_argument(where + ": keys must be strings");
        const std::string key = it->first.Scalar();
        // A copy: `it->second` lives in a temporary of the iterator's
        // operator->, gone before a range-for over it would start.
        const YAML::Node value = it->second;
        if (key == "targets") {
          if (!value.IsSequence())
            throw std::invalid_argument(where + ": targets must be a list");
          for (const auto& t : value) {
            if (!t.IsScalar())
              throw std::invalid_argument(where + ": targets must be strings");
            group.targets.push_back(t.Scalar());
          }
        } else if (key == "labels") {
          if (!value.IsMap())
            throw std::invalid_argument(where + ": labels must be a mapping");
          for (auto l = value.begin(); l != value.end(); ++l) {
            if (!l->first.IsScalar() || !l->second.IsScalar()) {
              throw std::invalid_argument(
                  where + ": labels must map strings to strings");
            }
            group.labels[l->first.Scalar()] = l->second.Scalar();
          }
        } else {
          throw std::invalid_argument(where + ": unknown key \"" + key + "\"");
        }
      }
      groups.push_back(std::move(group));
    }
    return groups;
  }
  std::string error;
  std::optional<nlohmann::json> parsed = ParseUntrustedJson(text, error);
  if (!parsed) throw std::invalid_argument(error);
  const nlohmann::json& doc = *parsed;
  if (!doc.is_array())
    throw std::invalid_argument("must be a JSON array of target groups");
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const auto& g = doc[i];
    const std::string where = "group " + std::to_string(i);
    if (!g.is_object())
      throw std::invalid_argument(where + ": must be an object");
    TargetGroup group;
    for (const auto& [key, value] : g.items()) {
      if (key == "targets") {
        if (!value.is_array())
          throw std::invalid_argument(where + ": targets must be an array");
        for (const auto& t : value) {
          if (!t.is_string())
            throw std::invalid_argument(where + ": targets must be strings");
          group.targets.push_back(t.get<std::string>());
        }
      } else if (key == "labels") {
        if (!value.is_object())
          throw std::invalid_argument(where + ": labels must be an object");
        for (const auto& [lk, lv] : value.items()) {
          if (!lv.is_string())
            throw std::invalid_argument(where +
                                        ": label values must be strings");
          group.labels[lk] = lv.get<std::string>();
        }
      } else {
        throw std::invalid_argument(where + ": unknown key \"" + key + "\"");
      }
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<ServiceConfig> ServicesFromTargets(
    const std::vector<TargetGroup>& groups, const ServiceConfig& tmpl,
    const std::string& scheme, const std::string& path,
    std::vector<std::string>& problems) {
  std::vector<ServiceConfig> out;
  std::set<std::string> names;
  for (const auto& group : groups) {
    auto label = [&](const char* key, const std::string& fallback) {
      auto it = group.labels.find(key);
      return it == group.labels.end() || it->second.empty() ? fallback
                                                            : it->second;
    };
    const std::string group_scheme = label("__scheme__", scheme);
    const std::string group_path =
        label("__path__", label("__metrics_path__", path));
    for (const auto& target : group.targets) {
      ServiceConfig s = tmpl;
      s.name = label("service_name", target);
      s.type = label("service_type", tmpl.type);
      if (group.targets.size() > 1 && group.labels.count("service_name")) {
        // One name for many targets would collide: keep the target apart.
        s.name += "/" + target;
      }
      const std::string url =
          group_scheme + "://" + target +
          (group_path.empty() || group_path[0] != '/' ? "/" : "") + group_path;
      try {
        s.url = ParseUrl(url);
      } catch (const std::invalid_argument& e) {
        problems.push_back("target \"" + target + "\": invalid URL \"" +
                           RedactUrl(url) + "\": " + e.what());
        continue;
      }
      if (std::string problem = CheckStateString(s.name, kMaxNameLength);
          !problem.empty()) {
        problems.push_back("target \"" + target + "\": name unusable (" +
                           problem.substr(6) + ")");
        continue;
      }
      if (std::string problem = CheckStateString(s.type, kMaxNameLength);
          !problem.empty()) {
        problems.push_back("target \"" + target + "\": type unusable (" +
                           problem.substr(6) + ")");
        continue;
      }
      if (s.has_tls && s.url.scheme != "https") {
        problems.push_back("target \"" + target +
                           "\": tls given but scheme is " + s.url.scheme);
        continue;
      }
      if (!names.insert(s.name).second) {
        problems.push_back("target \"" + target +
                           "\": duplicate service name \"" + s.name + "\"");
        continue;
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<std::string> ExpandGlob(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i)
      out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sse
