#include "sse/util/text.h"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("base64 encodes and decodes the RFC 4648 test vectors", "[text]") {
  const std::pair<std::string, std::string> vectors[] = {
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
      {std::string("a\0\xff", 3), "YQD/"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(encoded);
    CHECK(sse::EncodeBase64(plain) == encoded);
    CHECK(sse::DecodeBase64(encoded) == plain);
  }
  CHECK(sse::EncodeBase64("").empty());
}

TEST_CASE("base64 decoding is strict", "[text]") {
  for (const char* bad : {"", "Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9",
                          "Zm=v", "Zm9vYg=a"}) {
    CAPTURE(bad);
    CHECK_FALSE(sse::DecodeBase64(bad).has_value());
  }
}

TEST_CASE("UTF-8 and control characters are recognised", "[text]") {
  CHECK(sse::IsValidUtf8("running"));
  CHECK(sse::IsValidUtf8("d\xc3\xa9j\xc3\xa0"));
  CHECK_FALSE(sse::IsValidUtf8("\xc0\xaf"));          // overlong
  CHECK_FALSE(sse::IsValidUtf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(sse::IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK(sse::HasControlCharacter("a\tb"));
  CHECK(sse::HasControlCharacter("a\x7f"));
  CHECK_FALSE(sse::HasControlCharacter("plain text"));
}
