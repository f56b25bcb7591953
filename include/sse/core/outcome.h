#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace sse {

/// Closed set of poll outcomes (docs/metrics.md "How a poll becomes a state");
/// values of the `outcome` label of service_state_exporter_polls_total.
enum class Outcome {
  kOk,
  kTimeout,
  kConnectError,
  kTlsError,
  kHttpError,
  kInvalidBody,
  kTooLarge,
};
/// How many outcomes there are (they number from 0).
inline constexpr std::size_t kOutcomeCount =
    static_cast<std::size_t>(Outcome::kTooLarge) + 1;

/// Label value of an outcome ("ok", "timeout", ...).
const char* OutcomeName(Outcome outcome);
/// The outcome of a label value, or nullopt.
std::optional<Outcome> OutcomeFromName(std::string_view name);

}  // namespace sse
