#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sse/core/outcome.h"

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

/// The one rule for an answer that must be a success (a list, an MCP
/// reply, discovered targets): for a complete answer whose status is not
/// 2xx (not 200 with `only_200`), the error of the failed poll it is
/// (outcome http_error): "HTTP status N", after "<what>: " when `what` is
/// given. Empty for a success or an exchange that failed already.
/// Thread-safe.
std::string StatusError(const HttpResult& http, std::string_view what = {},
                        bool only_200 = false);

}  // namespace sse
