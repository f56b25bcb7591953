// Fuzzes the duration, byte-size and timestamp parsers (`since=` of the
// events API): no crash, no overflow, a parsed duration formats to text
// that parses back to the same value, and a parsed time formats to RFC 3339
// that parses back to it (to the millisecond).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
#include "sse/util/clock.h"
#include "sse/util/units.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto d = sse::ParseDuration(text)) {
    if (d->count() < 0) sse::fuzz::Fail("negative duration");
    auto again = sse::ParseDuration(sse::FormatDuration(*d));
    if (!again || *again != *d) sse::fuzz::Fail("duration does not round-trip");
  }
  (void)sse::ParseBytes(text);
  if (auto t = sse::ParseTimestamp(text)) {
    if (!std::isfinite(*t)) sse::fuzz::Fail("time not finite");
    if (*t > 1 && *t < 253402300799.0) {  // years 1970..9999
      auto again = sse::ParseTimestamp(sse::FormatRfc3339Millis(*t));
      if (!again || std::abs(*again - *t) > 0.0011)
        sse::fuzz::Fail("time does not round-trip");
    }
  }
  return 0;
}
