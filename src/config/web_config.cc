#include "sse/config/web_config.h"

#include <algorithm>
#include <memory>

#include "sse/config/yaml_util.h"
#include "sse/util/text.h"

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

}  // namespace sse
