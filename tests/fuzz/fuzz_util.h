#pragma once

// Shared by the fuzz targets: a strict UTF-8 check to compare ours with,
// and a way to fail loudly.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace sse::fuzz {

/// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
/// Written independently of src/ on purpose (a differential oracle).
inline bool StrictUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c == 0xe0) {
      n = 2, lo = 0xa0;
    } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
      n = 2;
    } else if (c == 0xed) {
      n = 2, hi = 0x9f;
    } else if (c == 0xf0) {
      n = 3, lo = 0x90;
    } else if (c >= 0xf1 && c <= 0xf3) {
      n = 3;
    } else if (c == 0xf4) {
      n = 3, hi = 0x8f;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const unsigned char b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return false;
    }
    i += n + 1;
  }
  return true;
}

/// Aborts with a message: libFuzzer records the input as a crash.
[[noreturn]] inline void Fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

}  // namespace sse::fuzz
