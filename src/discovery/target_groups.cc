#include "sse/discovery/target_groups.h"

#include <glob.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>

#include "sse/core/states.h"
#include "sse/util/json.h"

namespace sse {

namespace {

// The target-group schema, once for both formats. `F` reads one format's
// nodes: IsList, IsMap, IsString, Items (list elements or map entries),
// Text, Where (a node's position for messages), and the format's words for
// a list and a mapping.
template <typename F, typename Node>
std::vector<TargetGroup> ReadGroups(const Node& root) {
  std::vector<TargetGroup> groups;
  if (!F::IsList(root))
    throw std::invalid_argument(std::string("must be ") + F::kList +
                                " of target groups");
  std::size_t i = 0;
  for (const Node& g : F::Elements(root)) {
    const std::string where = "group " + std::to_string(i++) + F::Where(g);
    if (!F::IsMap(g))
      throw std::invalid_argument(where + ": must be " + F::kMap);
    TargetGroup group;
    for (const auto& [key_node, value] : F::Entries(g)) {
      if (!F::IsString(key_node))
        throw std::invalid_argument(where + ": keys must be strings");
      const std::string key = F::Text(key_node);
      if (key == "targets") {
        if (!F::IsList(value))
          throw std::invalid_argument(where + ": targets must be " + F::kList);
        for (const Node& t : F::Elements(value)) {
          if (!F::IsString(t))
            throw std::invalid_argument(where + ": targets must be strings");
          group.targets.push_back(F::Text(t));
        }
      } else if (key == "labels") {
        if (!F::IsMap(value))
          throw std::invalid_argument(where + ": labels must be " + F::kMap);
        for (const auto& [name, label] : F::Entries(value)) {
          if (!F::IsString(name) || !F::IsString(label)) {
            throw std::invalid_argument(where +
                                        ": labels must map strings to strings");
          }
          group.labels[F::Text(name)] = F::Text(label);
        }
      } else {
        throw std::invalid_argument(where + ": unknown key \"" + key + "\"");
      }
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

struct YamlFormat {
  static constexpr const char* kList = "a list";
  static constexpr const char* kMap = "a mapping";
  static bool IsList(const YAML::Node& n) { return n.IsSequence(); }
  static bool IsMap(const YAML::Node& n) { return n.IsMap(); }
  static bool IsString(const YAML::Node& n) { return n.IsScalar(); }
  static std::string Text(const YAML::Node& n) { return n.Scalar(); }
  static std::string Where(const YAML::Node& n) {
    return " (line " + std::to_string(n.Mark().line + 1) + ")";
  }
  static std::vector<YAML::Node> Elements(const YAML::Node& n) {
    return {n.begin(), n.end()};
  }
  static std::vector<std::pair<YAML::Node, YAML::Node>> Entries(
      const YAML::Node& n) {
    std::vector<std::pair<YAML::Node, YAML::Node>> out;
    for (auto it = n.begin(); it != n.end(); ++it)
      out.emplace_back(it->first, it->second);
    return out;
  }
};

struct JsonFormat {
  static constexpr const char* kList = "an array";
  static constexpr const char* kMap = "an object";
  static bool IsList(const nlohmann::json& n) { return n.is_array(); }
  static bool IsMap(const nlohmann::json& n) { return n.is_object(); }
  static bool IsString(const nlohmann::json& n) { return n.is_string(); }
  static std::string Text(const nlohmann::json& n) {
    return n.get<std::string>();
  }
  static std::string Where(const nlohmann::json&) { return ""; }
  static const nlohmann::json& Elements(const nlohmann::json& n) { return n; }
  static std::vector<std::pair<nlohmann::json, const nlohmann::json&>> Entries(
      const nlohmann::json& n) {
    std::vector<std::pair<nlohmann::json, const nlohmann::json&>> out;
    for (const auto& [key, value] : n.items()) out.emplace_back(key, value);
    return out;
  }
};

}  // namespace

std::vector<TargetGroup> ParseTargetGroups(std::string_view text, bool yaml) {
  if (yaml) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      throw std::invalid_argument("line " + std::to_string(e.mark.line + 1) +
                                  ": invalid YAML: " + e.msg);
    }
    if (root.IsNull()) return {};
    return ReadGroups<YamlFormat>(root);
  }
  std::string error;
  std::optional<nlohmann::json> parsed = ParseUntrustedJson(text, error);
  if (!parsed) throw std::invalid_argument(error);
  return ReadGroups<JsonFormat>(*parsed);
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
