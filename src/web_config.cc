#include "sse/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "sse/yaml_util.h"

namespace sse {
namespace {

using yaml::CheckKeys;
using yaml::Child;
using yaml::Ctx;
using yaml::Fail;
using yaml::GetNonEmptyString;
using yaml::GetReadableFile;
using yaml::GetString;

constexpr ClientAuthType kClientAuthTypes[] = {
    ClientAuthType::kNoClientCert,
    ClientAuthType::kRequestClientCert,
    ClientAuthType::kRequireAnyClientCert,
    ClientAuthType::kVerifyClientCertIfGiven,
    ClientAuthType::kRequireAndVerifyClientCert,
};

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

// Strict base64 (RFC 4648, padded). nullopt on anything else.
std::optional<std::string> DecodeBase64(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after '='
      v[j] = value(c);
      if (v[j] < 0) return std::nullopt;
    }
    unsigned n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

WebTlsConfig ParseTls(const Ctx& ctx, const YAML::Node& node,
                      const std::string& path) {
  CheckKeys(ctx, node, path,
            {"cert_file", "key_file", "client_auth_type", "client_ca_file",
             "min_version"});
  WebTlsConfig tls;
  for (const char* key : {"cert_file", "key_file"}) {
    if (!node[key]) Fail(ctx, node, Child(path, key), "is required");
  }
  tls.cert_file =
      GetReadableFile(ctx, node["cert_file"], Child(path, "cert_file"));
  tls.key_file =
      GetReadableFile(ctx, node["key_file"], Child(path, "key_file"));
  if (auto n = node["client_auth_type"]) {
    const std::string key_path = Child(path, "client_auth_type");
    const std::string value = GetNonEmptyString(ctx, n, key_path);
    std::string names;
    bool found = false;
    for (ClientAuthType type : kClientAuthTypes) {
      if (value == ClientAuthTypeName(type)) {
        tls.client_auth = type;
        found = true;
      }
      names += names.empty() ? "" : ", ";
      names += ClientAuthTypeName(type);
    }
    if (!found) {
      Fail(
          ctx, n, key_path,
          "unknown client_auth_type \"" + value + "\" (one of: " + names + ")");
    }
  }
  if (auto n = node["client_ca_file"]) {
    tls.client_ca_file = GetReadableFile(ctx, n, Child(path, "client_ca_file"));
    if (tls.client_auth == ClientAuthType::kNoClientCert) {
      Fail(ctx, n, Child(path, "client_ca_file"),
           "client_ca_file is set but client_auth_type is NoClientCert "
           "(set client_auth_type, e.g. RequireAndVerifyClientCert)");
    }
  }
  if ((tls.client_auth == ClientAuthType::kVerifyClientCertIfGiven ||
       tls.client_auth == ClientAuthType::kRequireAndVerifyClientCert) &&
      tls.client_ca_file.empty()) {
    Fail(ctx, node["client_auth_type"], Child(path, "client_ca_file"),
         std::string("is required with client_auth_type ") +
             ClientAuthTypeName(tls.client_auth));
  }
  if (auto n = node["min_version"]) {
    const std::string key_path = Child(path, "min_version");
    const std::string value = GetNonEmptyString(ctx, n, key_path);
    if (value == "TLS12") {
      tls.min_version = 0x0303;
    } else if (value == "TLS13") {
      tls.min_version = 0x0304;
    } else if (value == "TLS10" || value == "TLS11") {
      Fail(ctx, n, key_path, value + " is not supported (use TLS12 or TLS13)");
    } else {
      Fail(ctx, n, key_path,
           "unknown version \"" + value + "\" (TLS12 or TLS13)");
    }
  }
  return tls;
}

std::map<std::string, std::string> ParseUsers(const Ctx& ctx,
                                              const YAML::Node& node,
                                              const std::string& path) {
  std::map<std::string, std::string> users;
  if (node.IsNull()) return users;
  yaml::RequireMap(ctx, node, path);
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string user = GetString(ctx, it->first, path);
    const std::string user_path = Child(path, user);
    if (user.empty()) Fail(ctx, it->first, path, "user name must not be empty");
    if (user.find(':') != std::string::npos) {
      Fail(ctx, it->first, user_path, "user name must not contain ':'");
    }
    // The message never quotes the value: a plain-text password written
    // here by mistake must not end up in a log.
    const std::string hash =
        it->second.IsScalar() ? it->second.Scalar() : std::string();
    if (!IsBcryptHash(hash)) {
      Fail(ctx, it->second, user_path,
           "must be a bcrypt hash ($2y$..., e.g. from htpasswd -nBC 10 \"\" "
           "| tr -d ':'), not a password");
    }
    if (!users.emplace(user, hash).second) {
      Fail(ctx, it->first, user_path, "key given twice");
    }
  }
  return users;
}

}  // namespace

const char* ClientAuthTypeName(ClientAuthType type) {
  switch (type) {
    case ClientAuthType::kNoClientCert:
      return "NoClientCert";
    case ClientAuthType::kRequestClientCert:
      return "RequestClientCert";
    case ClientAuthType::kRequireAnyClientCert:
      return "RequireAnyClientCert";
    case ClientAuthType::kVerifyClientCertIfGiven:
      return "VerifyClientCertIfGiven";
    case ClientAuthType::kRequireAndVerifyClientCert:
      return "RequireAndVerifyClientCert";
  }
  return "NoClientCert";
}

bool IsBcryptHash(std::string_view hash) {
  if (hash.size() != 60 || hash.substr(0, 2) != "$2") return false;
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[3] != '$' || hash[6] != '$') return false;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/';
  });
}

WebConfig ParseWebConfig(const std::string& text, const std::string& file,
                         const std::filesystem::path& base_dir) {
  Ctx ctx{file, base_dir};
  YAML::Node root = yaml::Load(text, file);
  return yaml::Guard(file, [&] {
    WebConfig config;
    config.file = file;
    if (!root.IsDefined() || root.IsNull()) return config;
    CheckKeys(ctx, root, "", {"tls_server_config", "basic_auth_users"});
    if (auto n = root["tls_server_config"]) {
      config.tls = ParseTls(ctx, n, "tls_server_config");
    }
    if (auto n = root["basic_auth_users"]) {
      config.basic_auth_users = ParseUsers(ctx, n, "basic_auth_users");
    }
    return config;
  });
}

WebConfig LoadWebConfigFile(const std::string& path) {
  std::string text = yaml::ReadFileOrFail(path, "web config file");
  std::filesystem::path base = std::filesystem::path(path).parent_path();
  if (base.empty()) base = ".";
  return ParseWebConfig(text, path, base);
}

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
