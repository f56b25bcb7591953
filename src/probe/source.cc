#include "sse/probe/source.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace sse {

std::string StateFromStatus(
    unsigned status, const std::map<std::string, std::string>& status_map) {
  const std::string code = std::to_string(status);
  if (auto it = status_map.find(code); it != status_map.end())
    return it->second;
  if (code.size() == 3) {
    std::string klass = code.substr(0, 1) + "xx";
    if (auto it = status_map.find(klass); it != status_map.end())
      return it->second;
  }
  if (status >= 200 && status < 300) return "running";
  if (status == 401 || status == 403) return "auth_required";
  return "error";
}

std::string NormalizeState(const std::string& raw,
                           const std::map<std::string, std::string>& state_map,
                           bool keep_case) {
  std::string state = raw;
  if (auto it = state_map.find(raw); it != state_map.end()) state = it->second;
  if (!keep_case) {
    std::transform(state.begin(), state.end(), state.begin(),
                   [](unsigned char c) { return std::tolower(c); });
  }
  return state;
}

std::optional<std::string> ExtractJsonState(std::string_view body,
                                            const std::string& pointer,
                                            std::string& error) {
  std::optional<nlohmann::json> parsed = ParseUntrustedJson(body, error);
  if (!parsed) return std::nullopt;
  const nlohmann::json& doc = *parsed;
  try {
    nlohmann::json::json_pointer ptr(pointer);
    if (!doc.contains(ptr)) {
      error = "JSON has no value at " + pointer;
      return std::nullopt;
    }
    const nlohmann::json& value = doc.at(ptr);
    if (!value.is_string()) {
      error = std::string("value at ") + pointer + " is a " +
              value.type_name() + ", not a string";
      return std::nullopt;
    }
    std::string state = value.get<std::string>();
    if (std::string problem = CheckStateString(state); !problem.empty()) {
      error = problem;
      return std::nullopt;
    }
    return state;
  } catch (const nlohmann::json::exception& e) {
    error = std::string("JSON pointer error: ") + e.what();
    return std::nullopt;
  }
}

}  // namespace sse
