#include "sse/config/web_config.h"

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
