// Fuzzes HTTP response handling as the client does it (src/http/response.cc):
// the Beast parser with our limits, error classification, and redirect
// resolution of whatever Location a response carries.
//
// Input: one byte choosing the limits, then the bytes a server sends before
// it closes the connection.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "sse/http/response.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return -1;
  sse::ResponseLimits limits;
  limits.max_body_bytes = 1 + (data[0] & 0x0f) * 257;
  limits.max_header_bytes = 64 + (data[0] >> 4) * 129;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1),
                               size - 1);

  std::string location;
  const sse::HttpResult r = sse::ParseResponse(bytes, limits, location);
  if (r.outcome == sse::Outcome::kOk) {
    if (r.status < 100 || r.status > 599)
      sse::fuzz::Fail("status out of range");
    if (sse::IsInterimStatus(r.status))
      sse::fuzz::Fail("interim response as the result");
    if (r.body.size() > limits.max_body_bytes)
      sse::fuzz::Fail("body over the limit");
    if (!r.error.empty()) sse::fuzz::Fail("ok with an error");
  } else {
    if (r.error.empty()) sse::fuzz::Fail("failure without a reason");
    if (!r.body.empty() || r.status != 0)
      sse::fuzz::Fail("failure with a response");
    if (r.outcome == sse::Outcome::kInvalidBody ||
        r.outcome == sse::Outcome::kTimeout ||
        r.outcome == sse::Outcome::kTlsError) {
      sse::fuzz::Fail("impossible outcome for bytes in memory");
    }
  }

  static const sse::Url from =
      sse::ParseUrl("http://svc.example:8080/a/status?x=1");
  const std::string_view loc =
      location.empty() ? bytes : std::string_view(location);
  std::string error;
  if (auto next = sse::ResolveRedirect(from, loc, error)) {
    if (!error.empty()) sse::fuzz::Fail("redirect with an error");
    if (next->scheme != "http" && next->scheme != "https")
      sse::fuzz::Fail("bad scheme");
    if (next->host.empty() || next->target.empty() || next->target[0] != '/') {
      sse::fuzz::Fail("bad redirect URL parts");
    }
    const std::size_t authority_end =
        next->text.find_first_of("/?#", next->scheme.size() + 3);
    if (next->text.substr(0, authority_end).find('@') != std::string::npos) {
      sse::fuzz::Fail("credentials in a redirect URL");
    }
    if (!(sse::ParseUrl(next->text) == *next))
      sse::fuzz::Fail("redirect does not round-trip");
  } else if (error.empty()) {
    sse::fuzz::Fail("refused redirect without a reason");
  }
  return 0;
}
