#include "sse/core/outcome.h"

#include <string_view>

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

std::optional<Outcome> OutcomeFromName(std::string_view name) {
  for (std::size_t i = 0; i < kOutcomeCount; ++i) {
    const auto outcome = static_cast<Outcome>(i);
    if (name == OutcomeName(outcome)) return outcome;
  }
  return std::nullopt;
}

}  // namespace sse
