#include "sse/source.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace sse {

std::string StateFromStatus(unsigned status,
                            const std::map<std::string, std::string>& status_map) {
  const std::string code = std::to_string(status);
  if (auto it = status_map.find(code); it != status_map.end()) return it->second;
  if (code.size() == 3) {
    std::string klass = code.substr(0, 1) + "xx";
    if (auto it = status_map.find(klass); it != status_map.end()) return it->second;
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

std::string CheckStateString(std::string_view state, std::size_t max_length) {
  if (state.empty()) return "state is an empty string";
  if (state.size() > max_length) {
    return "state is longer than " + std::to_string(max_length) + " bytes";
  }
  // UTF-8 validity (no overlong forms checked) and no control characters.
  std::size_t i = 0;
  while (i < state.size()) {
    unsigned char c = static_cast<unsigned char>(state[i]);
    if (c < 0x20 || c == 0x7f) return "state contains a control character";
    std::size_t extra = c < 0x80           ? 0
                        : (c & 0xe0) == 0xc0 ? 1
                        : (c & 0xf0) == 0xe0 ? 2
                        : (c & 0xf8) == 0xf0 ? 3
                                             : 4;
    if (extra == 4 || i + extra >= state.size() + (extra == 0)) {
      return "state is not valid UTF-8";
    }
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(state[i + k]) & 0xc0) != 0x80) {
        return "state is not valid UTF-8";
      }
    }
    i += 1 + extra;
  }
  return "";
}

bool JsonTooDeep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

std::optional<std::string> ExtractJsonState(std::string_view body,
                                            const std::string& pointer,
                                            std::string& error) {
  if (JsonTooDeep(body, kMaxJsonDepth)) {
    error = "JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return std::nullopt;
  }
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    error = "body is not valid JSON";
    return std::nullopt;
  }
  try {
    nlohmann::json::json_pointer ptr(pointer);
    if (!doc.contains(ptr)) {
      error = "JSON has no value at " + pointer;
      return std::nullopt;
    }
    const nlohmann::json& value = doc.at(ptr);
    if (!value.is_string()) {
      error = std::string("value at ") + pointer + " is a " + value.type_name() +
              ", not a string";
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

Observation ObserveService(const ServiceConfig& service, const HttpResult& http) {
  Observation obs;
  switch (http.outcome) {
    case Outcome::kOk:
      break;
    case Outcome::kTimeout:
    case Outcome::kConnectError:
    case Outcome::kTlsError:
      return {http.outcome, kStateUnreachable, http.error};
    default:
      return {http.outcome, kStateUnknown, http.error};
  }
  const bool success = http.status >= 200 && http.status < 300;
  if (service.source == SourceKind::kHttpStatus) {
    obs.state = StateFromStatus(http.status, service.status_map);
    return obs;
  }
  std::string error;
  if (auto raw = ExtractJsonState(http.body, service.state_pointer, error)) {
    obs.state = NormalizeState(*raw, service.state_map, service.keep_case);
    if (std::string problem = CheckStateString(obs.state); !problem.empty()) {
      return {Outcome::kInvalidBody, kStateUnknown, "mapped " + problem};
    }
    return obs;
  }
  if (!success) {
    // No state in the body: the status is what the service said.
    return {Outcome::kHttpError, StateFromStatus(http.status, service.status_map),
            "HTTP status " + std::to_string(http.status) + " and " + error};
  }
  return {Outcome::kInvalidBody, kStateUnknown, error};
}

}  // namespace sse
