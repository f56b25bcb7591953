#pragma once

namespace sse {

/// Placeholder state of a service that has not been observed yet, and the
/// state observed when a body is unusable.
inline constexpr const char* kStateUnknown = "unknown";
/// State a raw value is reported as once a service has hit its state cap.
inline constexpr const char* kStateOther = "other";
/// State observed on a transport failure.
inline constexpr const char* kStateUnreachable = "unreachable";

}  // namespace sse
