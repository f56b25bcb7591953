#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sse/config/config.h"
#include "sse/core/states.h"
#include "sse/util/json.h"
#include "sse/util/text.h"

namespace sse {

/// State for an HTTP status: `status_map` exact code, then class ("5xx"),
/// then the defaults (2xx running; 401, 403 auth_required; else error).
std::string StateFromStatus(
    unsigned status, const std::map<std::string, std::string>& status_map);

/// Normalises a raw state: `state_map` first, then lower-cased unless
/// `keep_case`.
std::string NormalizeState(const std::string& raw,
                           const std::map<std::string, std::string>& state_map,
                           bool keep_case);

/// Extracts the string at `pointer` from a JSON body. Returns nullopt and
/// sets `error` when the body is not JSON, too deep, lacks the pointer, or
/// the value is not a usable string. Never throws.
std::optional<std::string> ExtractJsonState(std::string_view body,
                                            const std::string& pointer,
                                            std::string& error);

}  // namespace sse
