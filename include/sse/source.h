#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sse/config.h"
#include "sse/metrics.h"
#include "sse/states.h"

namespace sse {

/// What the HTTP client brings back from one poll. `outcome` is kOk when a
/// complete response was read; otherwise it says how the exchange failed
/// (kTimeout, kConnectError, kTlsError, kHttpError for a malformed response,
/// kTooLarge when the body passed the limit) and `error` says why.
/// The response headers that sources read (HttpResult::headers keeps only
/// these): the body's type and MCP's session id.
inline constexpr std::string_view kKeptResponseHeaders[] = {"content-type",
                                                            "mcp-session-id"};

struct HttpResult {
  Outcome outcome = Outcome::kOk;
  unsigned status = 0;
  std::string body;
  std::string error;
  /// The response headers named in kKeptResponseHeaders, names
  /// lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  /// First value of a response header (`name` lower-case), or empty.
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

/// One observation of a service: the poll outcome and the observed state.
struct Observation {
  Outcome outcome = Outcome::kOk;
  std::string state;
  std::string error;  ///< why the poll was not ok; empty when ok
};

/// Longest state string accepted from a body; longer ones are invalid.
inline constexpr std::size_t kMaxStateLength = 128;
/// Deepest JSON nesting accepted from a body; deeper ones are invalid.
inline constexpr int kMaxJsonDepth = 256;

/// State for an HTTP status: `status_map` exact code, then class ("5xx"),
/// then the defaults (2xx running; 401, 403 auth_required; else error).
std::string StateFromStatus(
    unsigned status, const std::map<std::string, std::string>& status_map);

/// Normalises a raw state: `state_map` first, then lower-cased unless
/// `keep_case`.
std::string NormalizeState(const std::string& raw,
                           const std::map<std::string, std::string>& state_map,
                           bool keep_case);

/// True if `text` is valid UTF-8 by RFC 3629 (no overlong forms, no
/// surrogates, nothing past U+10FFFF). Thread-safe.
bool IsValidUtf8(std::string_view text);

/// True if `text` has a C0 control character or DEL.
bool HasControlCharacter(std::string_view text);

/// Checks that a string from a target is usable as a label value: non-empty,
/// at most `max_length` bytes, valid UTF-8 (IsValidUtf8) without control
/// characters. Returns an error text ("state is ..."), or empty when valid.
std::string CheckStateString(std::string_view state,
                             std::size_t max_length = kMaxStateLength);

/// True if the JSON text nests deeper than `max_depth` (strings are
/// skipped). Cheap pre-check that keeps hostile bodies from the parser.
bool JsonTooDeep(std::string_view text, int max_depth);

/// Parses JSON from a target: refuses nesting deeper than kMaxJsonDepth (a
/// parsed tree is destroyed recursively: 200k levels would overflow the
/// stack) and invalid JSON, setting `error`. Never throws.
std::optional<nlohmann::json> ParseUntrustedJson(std::string_view text,
                                                 std::string& error);

/// Extracts the string at `pointer` from a JSON body. Returns nullopt and
/// sets `error` when the body is not JSON, too deep, lacks the pointer, or
/// the value is not a usable string. Never throws.
std::optional<std::string> ExtractJsonState(std::string_view body,
                                            const std::string& pointer,
                                            std::string& error);

/// Turns one HTTP result into an observation for `service` according to its
/// source (docs/metrics.md "How a poll becomes a state"): transport failures
/// are `unreachable`, unusable bodies `unknown`. Never throws.
Observation ObserveService(const ServiceConfig& service,
                           const HttpResult& http);

}  // namespace sse
