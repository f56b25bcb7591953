#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sse {

/// True if `text` is valid UTF-8 by RFC 3629 (no overlong forms, no
/// surrogates, nothing past U+10FFFF). Thread-safe.
bool IsValidUtf8(std::string_view text);

/// True if `text` has a C0 control character or DEL.
bool HasControlCharacter(std::string_view text);

/// Percent-encodes every byte but RFC 3986's unreserved characters
/// (A-Z a-z 0-9 - . _ ~), for a path segment or a query value.
std::string PercentEncode(std::string_view in);

/// Base64 of `in` (RFC 4648, padded), e.g. for an Authorization header.
std::string EncodeBase64(std::string_view in);

/// Decodes strict base64 (RFC 4648, padded); nullopt on anything else.
std::optional<std::string> DecodeBase64(std::string_view in);

}  // namespace sse
