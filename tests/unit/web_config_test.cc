#include "sse/web_config.h"

#include <crypt.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "support/test_util.h"

namespace fs = std::filesystem;

namespace {

std::string DataDir() { return SSE_TEST_DATA_DIR "/web_config"; }

std::string ExpectedMessage(const fs::path& file) {
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  const std::string prefix = "# expect: ";
  REQUIRE(first.rfind(prefix, 0) == 0);
  return first.substr(prefix.size());
}

std::string Base64(const std::string& in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (unsigned char c : in) {
    v = (v << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kTable[(v >> bits) & 63];
    }
  }
  if (bits > 0) out += kTable[(v << (6 - bits)) & 63];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + Base64(user + ":" + password);
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

TEST_CASE("every invalid web config is rejected with file, line and key",
          "[web_config]") {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(DataDir())) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("invalid-", 0) != 0) continue;
    ++count;
    DYNAMIC_SECTION(name) {
      const std::string expected = ExpectedMessage(entry.path());
      try {
        sse::LoadWebConfigFile(entry.path().string());
        FAIL("no error for " << name);
      } catch (const sse::ConfigError& e) {
        const std::string message = e.what();
        CAPTURE(message);
        REQUIRE(message.rfind(entry.path().string(), 0) == 0);
        REQUIRE(message.find(expected) != std::string::npos);
      }
    }
  }
  REQUIRE(count >= 15);
}

TEST_CASE("a plain-text password is refused without being quoted",
          "[web_config]") {
  try {
    sse::LoadWebConfigFile(DataDir() + "/invalid-plain-password.yml");
    FAIL("accepted");
  } catch (const sse::ConfigError& e) {
    REQUIRE(std::string(e.what()).find("hunter2") == std::string::npos);
  }
}

TEST_CASE("valid web configs parse, paths relative to the file",
          "[web_config]") {
  auto empty = sse::LoadWebConfigFile(DataDir() + "/valid-empty.yml");
  REQUIRE_FALSE(empty.tls.has_value());
  REQUIRE(empty.basic_auth_users.empty());

  auto full = sse::LoadWebConfigFile(DataDir() + "/valid-full.yml");
  REQUIRE(full.tls.has_value());
  REQUIRE(full.tls->cert_file == DataDir() + "/dummy.pem");
  REQUIRE(full.tls->key_file == DataDir() + "/dummy.pem");
  REQUIRE(full.tls->client_ca_file == DataDir() + "/dummy.pem");
  REQUIRE(full.tls->client_auth ==
          sse::ClientAuthType::kRequireAndVerifyClientCert);
  REQUIRE(full.tls->min_version == 0x0304);
  REQUIRE(full.basic_auth_users.size() == 2);
  REQUIRE(full.basic_auth_users.at("alice").rfind("$2y$10$", 0) == 0);

  // Defaults: no client certificates, TLS 1.2 and up.
  sse::test::TempDir dir;
  dir.Write("c.pem", "x");
  auto minimal = sse::ParseWebConfig(
      "tls_server_config: {cert_file: c.pem, key_file: c.pem}\n", "mem.yml",
      dir.path());
  REQUIRE(minimal.tls->client_auth == sse::ClientAuthType::kNoClientCert);
  REQUIRE(minimal.tls->min_version == 0x0303);
  REQUIRE(minimal.tls->cert_file == (dir.path() / "c.pem").string());
  REQUIRE(
      sse::ParseWebConfig("", "mem.yml", dir.path()).basic_auth_users.empty());
}

TEST_CASE("bcrypt hashes are recognised", "[web_config]") {
  REQUIRE(sse::IsBcryptHash(
      "$2y$10$kXp4NZUGhtsUPU/WMb9HeeQXkOdMQMpvD7cjQ2Q7Qr619XrELUjSa"));
  REQUIRE(sse::IsBcryptHash(
      "$2b$04$kXp4NZUGhtsUPU/WMb9HeeQXkOdMQMpvD7cjQ2Q7Qr619XrELUjSa"));
  REQUIRE(sse::IsBcryptHash(
      "$2a$31$kXp4NZUGhtsUPU/WMb9HeeQXkOdMQMpvD7cjQ2Q7Qr619XrELUjSa"));
  REQUIRE_FALSE(sse::IsBcryptHash(
      "$2x$10$kXp4NZUGhtsUPU/WMb9HeeQXkOdMQMpvD7cjQ2Q7Qr619XrELUjSa"));
  REQUIRE_FALSE(sse::IsBcryptHash(
      "$2y$32$kXp4NZUGhtsUPU/WMb9HeeQXkOdMQMpvD7cjQ2Q7Qr619XrELUjSa"));
  REQUIRE_FALSE(sse::IsBcryptHash(
      "$2y$10$kXp4NZUGhtsUPU/WMb9HeeQXkOdMQMpvD7cjQ2Q7Qr619XrELUjS"));
  REQUIRE_FALSE(sse::IsBcryptHash(
      "$2y$10$kXp4NZUGhtsUPU/WMb9HeeQXkOdMQMpvD7cjQ2Q7Qr619XrELUj$a"));
  REQUIRE_FALSE(sse::IsBcryptHash("$6$salt$hash"));
  REQUIRE_FALSE(sse::IsBcryptHash("password"));
}

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
  REQUIRE(auth.Verify("basic " + Base64("bob:bob-secret")));
}

TEST_CASE("malformed Authorization headers are refused without bcrypt",
          "[web_config][auth]") {
  sse::BasicAuthenticator auth({{"bob", Libxcrypt("x", 4)}});
  for (const std::string& header :
       {std::string(), std::string("Basic"), std::string("Basic "),
        std::string("Bearer abc"), std::string("Basic !!!!"),
        std::string("Basic Ym9i"),     // "bob": no colon
        std::string("Basic Ym9iOng"),  // unpadded
        "Basic " + Base64(std::string("bob:x\0y", 7))}) {
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
