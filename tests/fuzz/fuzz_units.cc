// Fuzzes the duration and byte-size parsers: no crash, no overflow, and a
// parsed duration formats to text that parses back to the same value.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_util.h"
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
  return 0;
}
