#include "sse/web/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "sse/config/web_config.h"
#include "sse/util/text.h"

namespace sse {
namespace {

// Verified in place of the hash of an unknown user, so that such a request
// costs as much as one with a wrong password (exporter-toolkit does so too).
constexpr const char* kDummyHash =
    "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

bool CaseInsensitiveEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

BasicAuthenticator::BasicAuthenticator(std::map<std::string, std::string> users,
                                       std::chrono::milliseconds failure_ttl)
    : users_(std::move(users)), failure_ttl_(failure_ttl) {}

std::optional<BasicAuthenticator::Credentials> BasicAuthenticator::Decode(
    std::string_view authorization) {
  std::size_t space = authorization.find(' ');
  if (space == std::string_view::npos ||
      !CaseInsensitiveEqual(authorization.substr(0, space), "Basic")) {
    return std::nullopt;
  }
  std::string_view encoded = authorization.substr(space + 1);
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  auto decoded = DecodeBase64(encoded);
  if (!decoded) return std::nullopt;
  std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  Credentials c{decoded->substr(0, colon), decoded->substr(colon + 1)};
  // crypt() takes C strings: a NUL would cut the password short.
  if (c.password.find('\0') != std::string::npos) return std::nullopt;
  return c;
}

BasicAuthenticator::Digest BasicAuthenticator::Key(
    const Credentials& c, const std::string& hash) const {
  // Length-prefixed fields, so ("ab", "c") and ("a", "bc") differ.
  std::string material;
  for (const std::string* field : {&c.user, &c.password, &hash}) {
    material += std::to_string(field->size());
    material += ':';
    material += *field;
  }
  Digest digest{};
  unsigned int size = 0;
  EVP_Digest(material.data(), material.size(), digest.data(), &size,
             EVP_sha256(), nullptr);
  OPENSSL_cleanse(material.data(), material.size());
  return digest;
}

std::optional<bool> BasicAuthenticator::CheckCached(
    std::string_view authorization) const {
  auto credentials = Decode(authorization);
  if (!credentials) return false;
  auto user = users_.find(credentials->user);
  // An unknown user costs a dummy bcrypt, then its failure is cached.
  const Digest key =
      Key(*credentials,
          user != users_.end() ? user->second : std::string(kDummyHash));
  OPENSSL_cleanse(credentials->password.data(), credentials->password.size());
  std::lock_guard lock(mutex_);
  auto it = verified_.find(credentials->user);
  if (it != verified_.end() &&
      CRYPTO_memcmp(it->second.data(), key.data(), key.size()) == 0) {
    return true;
  }
  auto failed = failed_.find(key);
  if (failed != failed_.end() &&
      failed->second > std::chrono::steady_clock::now()) {
    return false;
  }
  return std::nullopt;
}

void BasicAuthenticator::RememberFailure(const Digest& key) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  // Forget what expired, then the oldest if still full: the order holds
  // every key once per time it failed, the map the latest expiry.
  auto forget_front = [&] {
    const auto& [front, until] = failed_order_.front();
    auto it = failed_.find(front);
    if (it != failed_.end() && it->second == until) failed_.erase(it);
    failed_order_.pop_front();
  };
  while (!failed_order_.empty() && failed_order_.front().second <= now) {
    forget_front();
  }
  while (failed_.size() >= kMaxFailures && !failed_order_.empty()) {
    forget_front();
  }
  const auto until = now + failure_ttl_;
  failed_[key] = until;
  failed_order_.emplace_back(key, until);
}

bool BasicAuthenticator::Verify(std::string_view authorization) {
  if (auto cached = CheckCached(authorization); cached.has_value()) {
    return *cached;
  }
  auto credentials = Decode(authorization);
  if (!credentials) return false;
  auto user = users_.find(credentials->user);
  const bool known = user != users_.end();
  const std::string& hash = known ? user->second : std::string(kDummyHash);
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on the stack
  ++bcrypt_runs_;
  const char* out = crypt_rn(credentials->password.c_str(), hash.c_str(),
                             data.get(), sizeof(crypt_data));
  bool ok = known && out != nullptr &&
            std::string_view(out).size() == hash.size() &&
            CRYPTO_memcmp(out, hash.data(), hash.size()) == 0;
  const Digest key = Key(*credentials, hash);
  if (ok) {
    std::lock_guard lock(mutex_);
    verified_[credentials->user] = key;
  } else {
    RememberFailure(key);
  }
  OPENSSL_cleanse(credentials->password.data(), credentials->password.size());
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

}  // namespace sse
