#include "sse/web/basic_auth.h"

#include <crypt.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "sse/util/text.h"
#include "support/test_util.h"

namespace {

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + sse::EncodeBase64(user + ":" + password);
}

// A $2y$ hash made by Apache's htpasswd (another bcrypt implementation
// than the libxcrypt we verify with), as the README tells users to do.
std::string Htpasswd(const std::string& user, const std::string& password) {
  const std::string htpasswd = sse::test::FindProgram("htpasswd");
  REQUIRE_FALSE(htpasswd.empty());
  std::string output;
  REQUIRE(sse::test::RunCommand({htpasswd, "-nbBC", "5", user, password},
                                output) == 0);
  REQUIRE(output.rfind(user + ":$2y$05$", 0) == 0);
  std::string hash = output.substr(user.size() + 1);
  while (!hash.empty() && (hash.back() == '\n' || hash.back() == '\r')) {
    hash.pop_back();
  }
  return hash;
}

// A $2b$ hash made by libxcrypt itself.
std::string Libxcrypt(const std::string& password, int cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof salt) !=
          nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* hash =
      crypt_rn(password.c_str(), salt, data.get(), sizeof(crypt_data));
  REQUIRE(hash != nullptr);
  return hash;
}

}  // namespace
TEST_CASE("basic auth verifies htpasswd and libxcrypt hashes",
          "[web_config][auth]") {
  const std::string alice_hash = Htpasswd("alice", "pa:ss w0rd");
  const std::string bob_hash = Libxcrypt("bob-secret", 4);
  REQUIRE(bob_hash.rfind("$2b$04$", 0) == 0);
  sse::BasicAuthenticator auth({{"alice", alice_hash}, {"bob", bob_hash}});

  REQUIRE(auth.Verify(Basic("alice", "pa:ss w0rd")));  // ':' in a password
  REQUIRE(auth.Verify(Basic("bob", "bob-secret")));
  REQUIRE_FALSE(auth.Verify(Basic("alice", "pa:ss w0rD")));
  REQUIRE_FALSE(auth.Verify(Basic("alice", "")));
  REQUIRE_FALSE(auth.Verify(Basic("bob", "pa:ss w0rd")));
  REQUIRE_FALSE(auth.Verify(Basic("carol", "bob-secret")));
  // The scheme is case-insensitive.
  REQUIRE(auth.Verify("basic " + sse::EncodeBase64("bob:bob-secret")));
}

TEST_CASE("malformed Authorization headers are refused without bcrypt",
          "[web_config][auth]") {
  sse::BasicAuthenticator auth({{"bob", Libxcrypt("x", 4)}});
  for (const std::string& header :
       {std::string(), std::string("Basic"), std::string("Basic "),
        std::string("Bearer abc"), std::string("Basic !!!!"),
        std::string("Basic Ym9i"),     // "bob": no colon
        std::string("Basic Ym9iOng"),  // unpadded
        "Basic " + sse::EncodeBase64(std::string("bob:x\0y", 7))}) {
    CAPTURE(header);
    REQUIRE(auth.CheckCached(header) == std::optional<bool>(false));
    REQUIRE_FALSE(auth.Verify(header));
  }
  REQUIRE(auth.bcrypt_runs() == 0);
}

TEST_CASE("successful verifications are cached, failures briefly",
          "[web_config][auth]") {
  const std::string hash = Libxcrypt("s3cret", 10);  // a realistic cost
  sse::BasicAuthenticator auth({{"alice", hash}});
  using Clock = std::chrono::steady_clock;

  REQUIRE_FALSE(auth.CheckCached(Basic("alice", "s3cret")).has_value());
  auto t0 = Clock::now();
  REQUIRE(auth.Verify(Basic("alice", "s3cret")));
  auto first = Clock::now() - t0;
  REQUIRE(auth.bcrypt_runs() == 1);

  t0 = Clock::now();
  for (int i = 0; i < 100; ++i) REQUIRE(auth.Verify(Basic("alice", "s3cret")));
  auto cached = (Clock::now() - t0) / 100;
  REQUIRE(auth.bcrypt_runs() == 1);
  REQUIRE(auth.CheckCached(Basic("alice", "s3cret")) ==
          std::optional<bool>(true));

  // A wrong password costs a bcrypt; repeated, it is answered from the
  // failure cache.
  REQUIRE_FALSE(auth.CheckCached(Basic("alice", "guess")).has_value());
  REQUIRE_FALSE(auth.Verify(Basic("alice", "guess")));
  REQUIRE(auth.bcrypt_runs() == 2);
  REQUIRE(auth.CheckCached(Basic("alice", "guess")) ==
          std::optional<bool>(false));
  REQUIRE_FALSE(auth.Verify(Basic("alice", "guess")));
  REQUIRE(auth.bcrypt_runs() == 2);
  // Every new guess still costs one (no cheap guessing).
  REQUIRE_FALSE(auth.Verify(Basic("alice", "guess-2")));
  REQUIRE(auth.bcrypt_runs() == 3);
  // So does an unknown user, once.
  REQUIRE_FALSE(auth.CheckCached(Basic("mallory", "s3cret")).has_value());
  REQUIRE_FALSE(auth.Verify(Basic("mallory", "s3cret")));
  REQUIRE_FALSE(auth.Verify(Basic("mallory", "s3cret")));
  REQUIRE(auth.bcrypt_runs() == 4);
  // The right password is still cached.
  REQUIRE(auth.Verify(Basic("alice", "s3cret")));
  REQUIRE(auth.bcrypt_runs() == 4);

  using ns = std::chrono::nanoseconds;
  std::printf(
      "bcrypt cost 10: first check %lld ns, cached check %lld ns\n",
      static_cast<long long>(std::chrono::duration_cast<ns>(first).count()),
      static_cast<long long>(std::chrono::duration_cast<ns>(cached).count()));
  REQUIRE(cached * 10 < first);
}

TEST_CASE("a cached failure expires", "[web_config][auth]") {
  sse::BasicAuthenticator auth({{"alice", Libxcrypt("s3cret", 4)}},
                               std::chrono::milliseconds(100));
  REQUIRE_FALSE(auth.Verify(Basic("alice", "guess")));
  REQUIRE(auth.CheckCached(Basic("alice", "guess")) ==
          std::optional<bool>(false));
  REQUIRE(auth.bcrypt_runs() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  REQUIRE_FALSE(auth.CheckCached(Basic("alice", "guess")).has_value());
  REQUIRE_FALSE(auth.Verify(Basic("alice", "guess")));
  REQUIRE(auth.bcrypt_runs() == 2);
  // The password that is right was never refused for having been wrong.
  REQUIRE(auth.Verify(Basic("alice", "s3cret")));
}
