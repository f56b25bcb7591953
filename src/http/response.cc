#include "sse/http/response.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

namespace sse {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

HttpResult Failure(Outcome outcome, std::string error) {
  HttpResult r;
  r.outcome = outcome;
  r.error = std::move(error);
  return r;
}

// Feeds `bytes` to `parser` until it has a whole message, consuming what
// it used; at the end of `bytes` the peer has closed the connection.
void ReadOne(ResponseParser& parser, std::string_view& bytes,
             boost::system::error_code& ec) {
  while (!parser.is_done()) {
    std::size_t used = 0;
    if (!bytes.empty()) {
      used = parser.put(net::buffer(bytes.data(), bytes.size()), ec);
      bytes.remove_prefix(used);
      if (ec == http::error::need_more) {
        ec = {};
      } else if (ec) {
        return;
      }
    }
    if (used == 0) {
      // No progress with what is there: more bytes would be read, but the
      // peer has closed the connection.
      if (parser.got_some()) {
        parser.put_eof(ec);
      } else {
        ec = http::error::end_of_stream;
      }
      return;
    }
  }
}

}  // namespace

void ApplyLimits(ResponseParser& parser, const ResponseLimits& limits) {
  parser.header_limit(limits.max_header_bytes);
  parser.body_limit(limits.max_body_bytes);
}

Outcome ClassifyReadError(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return Outcome::kTimeout;
  if (ec == http::error::body_limit) return Outcome::kTooLarge;
  if (ec.category() == net::error::get_ssl_category() ||
      ec == net::ssl::error::stream_truncated) {
    return Outcome::kTlsError;
  }
  // The server closed the connection before the response was complete:
  // a transport failure like a reset, not a malformed response.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
    return Outcome::kConnectError;
  }
  if (ec.category() ==
      http::make_error_code(http::error::end_of_stream).category()) {
    return Outcome::kHttpError;
  }
  return Outcome::kConnectError;
}

HttpResult FinishResponse(ResponseParser& parser,
                          const boost::system::error_code& ec,
                          const ResponseLimits& limits, std::string& location) {
  location.clear();
  if (ec) {
    std::string what =
        ec == http::error::body_limit
            ? "body larger than " + std::to_string(limits.max_body_bytes) +
                  " bytes"
        : ec == http::error::header_limit
            ? "header larger than " + std::to_string(limits.max_header_bytes) +
                  " bytes"
            : ec.message();
    return Failure(ClassifyReadError(ec), "read: " + what);
  }
  auto& res = parser.get();
  if (res.result_int() < 100 || res.result_int() > 599) {
    return Failure(Outcome::kHttpError, "read: invalid status code " +
                                            std::to_string(res.result_int()));
  }
  HttpResult result;
  result.status = res.result_int();
  if (auto it = res.find(http::field::location); it != res.end()) {
    location = std::string(it->value());
  }
  // Only the headers a source reads (HttpResult::headers): copying every
  // header was a few allocations per poll for nothing.
  for (const auto& field : res) {
    for (std::string_view kept : kKeptResponseHeaders) {
      if (beast::iequals(field.name_string(), kept)) {
        result.headers.emplace_back(kept, std::string(field.value()));
      }
    }
  }
  result.body = std::move(res.body());
  return result;
}

HttpResult ParseResponse(std::string_view bytes, const ResponseLimits& limits,
                         std::string& location) {
  // What http::read does on a stream that yields `bytes` and then EOF,
  // once per response until a final one.
  for (int interim = 0;; ++interim) {
    ResponseParser parser;
    ApplyLimits(parser, limits);
    parser.eager(true);
    boost::system::error_code ec;
    ReadOne(parser, bytes, ec);
    if (!ec && IsInterimStatus(parser.get().result_int())) {
      if (interim < kMaxInterimResponses) continue;
      return Failure(Outcome::kHttpError, kTooManyInterim);
    }
    return FinishResponse(parser, ec, limits, location);
  }
}

std::optional<Url> ResolveRedirect(const Url& from, std::string_view location,
                                   std::string& error) {
  auto ref = boost::urls::parse_uri_reference(location);
  if (!ref) {
    error = "invalid redirect location";
    return std::nullopt;
  }
  try {
    boost::urls::url base(from.text);
    boost::urls::url next;
    auto resolved = boost::urls::resolve(base, *ref, next);
    if (!resolved) throw std::invalid_argument(resolved.error().message());
    // A fragment is legal in a Location but never sent.
    next.remove_fragment();
    return ParseUrl(std::string(next.buffer()));
  } catch (const std::exception& e) {
    error = std::string("invalid redirect location: ") + e.what();
    return std::nullopt;
  }
}

bool SameOrigin(const Url& a, const Url& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

}  // namespace sse
