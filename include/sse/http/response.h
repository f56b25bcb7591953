#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sse/config/config.h"
#include "sse/http/result.h"

namespace sse {

/// Limits a response must stay within while it is read.
struct ResponseLimits {
  std::uint64_t max_body_bytes = 1024 * 1024;  ///< body_limit -> too_large
  std::uint32_t max_header_bytes = 64 * 1024;  ///< status line + headers
};

/// The parser the HTTP client reads every response with.
using ResponseParser =
    boost::beast::http::response_parser<boost::beast::http::string_body>;

/// Interim (1xx) responses a client skips before the final one, at most;
/// one more is http_error with the message kTooManyInterim.
inline constexpr int kMaxInterimResponses = 5;
inline constexpr const char* kTooManyInterim =
    "read: more than 5 interim (1xx) responses";

/// True for an interim response (1xx other than 101), which a client must
/// skip to read the final response that follows (RFC 9110 §15.2).
inline bool IsInterimStatus(unsigned status) {
  return status >= 100 && status < 200 && status != 101;
}

/// Applies `limits` to a fresh parser.
void ApplyLimits(ResponseParser& parser, const ResponseLimits& limits);

/// The poll outcome for an error that ended reading a response: timeout,
/// too_large (body limit), tls_error, connect_error (transport errors and a
/// connection closed before the response was complete), else http_error
/// (malformed HTTP, header limit). Thread-safe.
Outcome ClassifyReadError(const boost::system::error_code& ec);

/// Turns the end of reading a response into a result: on `ec`, the outcome
/// of ClassifyReadError and a message; a status outside 100..599 (RFC 9110
/// §15) is http_error; otherwise status and body, and the Location header
/// in `location` (empty if none). Never throws.
HttpResult FinishResponse(ResponseParser& parser,
                          const boost::system::error_code& ec,
                          const ResponseLimits& limits, std::string& location);

/// Reads one response from `bytes` as the client reads it from a connection
/// that delivers exactly these bytes and then closes: the same parser,
/// limits, interim responses skipped, and FinishResponse. For tests and
/// fuzzing; pure, never throws.
HttpResult ParseResponse(std::string_view bytes, const ResponseLimits& limits,
                         std::string& location);

/// Resolves a redirect's Location (absolute or relative) against the URL
/// it came from. Returns nullopt and sets `error` if it is not a usable
/// http(s) URL. Never throws; thread-safe.
std::optional<Url> ResolveRedirect(const Url& from, std::string_view location,
                                   std::string& error);

/// True if both URLs have the same scheme, host and port. Credentials are
/// only ever sent to the configured URL's origin.
bool SameOrigin(const Url& a, const Url& b);

}  // namespace sse
