#include "sse/util/clock.h"

#include <catch2/catch.hpp>

TEST_CASE("ParseTimestamp reads RFC 3339 and Unix seconds", "[clock]") {
  REQUIRE(sse::ParseTimestamp("1700000000") == 1700000000.0);
  REQUIRE(sse::ParseTimestamp("1700000000.25") == 1700000000.25);
  REQUIRE(sse::ParseTimestamp("2023-11-14T22:13:20Z") == 1700000000.0);
  REQUIRE(sse::ParseTimestamp("2023-11-14t22:13:20.5z") == 1700000000.5);
  REQUIRE(sse::ParseTimestamp("2023-11-14T23:13:20+01:00") == 1700000000.0);
  REQUIRE(sse::ParseTimestamp("2023-11-14T21:43:20-00:30") == 1700000000.0);
  for (const char* bad :
       {"", "abc", "1e9", "-5", "2023-11-14", "2023-11-14T22:13:20",
        "2023-02-30T00:00:00Z", "2023-11-14T25:00:00Z", "2023-11-14T22:13:20Zx",
        "2023-11-14T22:13:20+1:00", "1.2.3", "2023-11-14T22:13:20.Z"}) {
    CAPTURE(bad);
    REQUIRE_FALSE(sse::ParseTimestamp(bad));
  }
}

TEST_CASE("FormatRfc3339 with and without milliseconds", "[clock]") {
  REQUIRE(sse::FormatRfc3339(1700000000.9) == "2023-11-14T22:13:20Z");
  REQUIRE(sse::FormatRfc3339Millis(1700000000.25) ==
          "2023-11-14T22:13:20.250Z");
  // Truncated: never later than the time it shows.
  REQUIRE(sse::FormatRfc3339Millis(1700000000.9996) ==
          "2023-11-14T22:13:20.999Z");
  REQUIRE(sse::FormatRfc3339Millis(0).empty());
  REQUIRE(sse::FormatRfc3339(-1).empty());
  // Round trip.
  REQUIRE(sse::ParseTimestamp(sse::FormatRfc3339Millis(1764587077.125)) ==
          1764587077.125);
}
