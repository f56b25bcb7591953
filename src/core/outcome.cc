#include "sse/core/outcome.h"

namespace sse {

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kConnectError:
      return "connect_error";
    case Outcome::kTlsError:
      return "tls_error";
    case Outcome::kHttpError:
      return "http_error";
    case Outcome::kInvalidBody:
      return "invalid_body";
    case Outcome::kTooLarge:
      return "too_large";
  }
  return "unknown";
}

}  // namespace sse
