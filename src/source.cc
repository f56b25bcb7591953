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

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    unsigned char low = 0x80;  // allowed range of the second byte
    unsigned char high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      if (c == 0xe0) low = 0xa0;   // overlong
      if (c == 0xed) high = 0x9f;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      if (c == 0xf0) low = 0x90;   // overlong
      if (c == 0xf4) high = 0x8f;  // past U+10FFFF
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const unsigned char b = static_cast<unsigned char>(text[i + k]);
      const bool in_range = k == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xbf);
      if (!in_range) return false;
    }
    i += 1 + extra;
  }
  return true;
}

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::string CheckStateString(std::string_view state, std::size_t max_length) {
  if (state.empty()) return "state is an empty string";
  if (state.size() > max_length) {
    return "state is longer than " + std::to_string(max_length) + " bytes";
  }
  if (HasControlCharacter(state)) return "state contains a control character";
  // Prometheus refuses a whole scrape with invalid UTF-8 in a label value.
  if (!IsValidUtf8(state)) return "state is not valid UTF-8";
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

std::optional<nlohmann::json> ParseUntrustedJson(std::string_view text, std::string& error) {
  if (JsonTooDeep(text, kMaxJsonDepth)) {
    error = "JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return std::nullopt;
  }
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    error = "body is not valid JSON";
    return std::nullopt;
  }
  return doc;
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
