#include "sse/util/units.h"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;

TEST_CASE("ParseDuration accepts Prometheus durations", "[units]") {
  struct Case {
    const char* text;
    sse::Duration want;
  };
  auto c = GENERATE(Case{"500ms", 500ms}, Case{"15s", 15s}, Case{"1m", 1min},
                    Case{"1h30m", 90min}, Case{"2d", 48h}, Case{"1w", 168h},
                    Case{"1y", 8760h}, Case{"1m30s500ms", 90500ms},
                    Case{"0", 0ms}, Case{"0s", 0ms});
  CAPTURE(c.text);
  REQUIRE(sse::ParseDuration(c.text) == c.want);
}

TEST_CASE("ParseDuration rejects malformed durations", "[units]") {
  auto text = GENERATE("", "15", "s", "15 s", "1.5s", "-1s", "30s1m", "1m1m",
                       "1h 30m", "10x", "99999999999999999999s", "1ms1s");
  CAPTURE(text);
  REQUIRE_FALSE(sse::ParseDuration(text).has_value());
}

TEST_CASE("FormatDuration round-trips", "[units]") {
  auto text = GENERATE("500ms", "15s", "1m", "1h30m", "2d", "1w", "1m30s500ms");
  REQUIRE(sse::FormatDuration(*sse::ParseDuration(text)) == text);
  REQUIRE(sse::FormatDuration(0ms) == "0s");
}

TEST_CASE("ParseBytes accepts plain bytes and units", "[units]") {
  REQUIRE(sse::ParseBytes("65536") == 65536u);
  REQUIRE(sse::ParseBytes("1MiB") == 1048576u);
  REQUIRE(sse::ParseBytes("512KiB") == 524288u);
  REQUIRE(sse::ParseBytes("4MB") == 4000000u);
  REQUIRE(sse::ParseBytes("1GiB") == 1073741824u);
  REQUIRE(sse::ParseBytes("10B") == 10u);
}

TEST_CASE("ParseBytes rejects malformed sizes", "[units]") {
  auto text = GENERATE("", "MiB", "1 MiB", "1mib", "1.5MiB", "-1", "1XB",
                       "99999999999999999999", "18446744073709551615GiB");
  CAPTURE(text);
  REQUIRE_FALSE(sse::ParseBytes(text).has_value());
}
