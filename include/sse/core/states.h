#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sse {

/// Placeholder state of a service that has not been observed yet, and the
/// state observed when a body is unusable.
inline constexpr const char* kStateUnknown = "unknown";
/// State a raw value is reported as once a service has hit its state cap.
inline constexpr const char* kStateOther = "other";
/// State observed on a transport failure.
inline constexpr const char* kStateUnreachable = "unreachable";

/// Longest state string accepted from a body; longer ones are invalid.
inline constexpr std::size_t kMaxStateLength = 128;
/// Longest service name or type accepted from a target (a label value).
inline constexpr std::size_t kMaxNameLength = 256;

/// Checks that a string from a target is usable as a label value: non-empty,
/// at most `max_length` bytes, valid UTF-8 (IsValidUtf8) without control
/// characters. Returns an error text ("state is ..."), or empty when valid.
std::string CheckStateString(std::string_view state,
                             std::size_t max_length = kMaxStateLength);

}  // namespace sse
