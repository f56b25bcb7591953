#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sse/config/config.h"

namespace sse {

/// Go's tls.ClientAuthType, as exporter-toolkit spells it.
enum class ClientAuthType {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

/// The spelling of a client auth type ("RequireAndVerifyClientCert", ...).
const char* ClientAuthTypeName(ClientAuthType type);

/// `tls_server_config` of a web config file. Paths are resolved against the
/// web config file's directory.
struct WebTlsConfig {
  std::string cert_file;
  std::string key_file;
  ClientAuthType client_auth = ClientAuthType::kNoClientCert;
  std::string client_ca_file;
  /// Lowest TLS version accepted: 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3).
  int min_version = 0x0303;
  bool operator==(const WebTlsConfig&) const = default;
};

/// A web config file in the exporter-toolkit format (--web.config.file):
///
///     tls_server_config:
///       cert_file: server.crt
///       key_file: server.key
///       client_auth_type: RequireAndVerifyClientCert
///       client_ca_file: ca.crt
///       min_version: TLS12
///     basic_auth_users:
///       alice: $2y$10$...   # bcrypt hash
///
/// An empty file serves plain HTTP without authentication.
struct WebConfig {
  std::string file;
  std::optional<WebTlsConfig> tls;
  /// User name -> bcrypt hash. Hashes are not logged nor served.
  std::map<std::string, std::string> basic_auth_users;
};

/// Parses web config YAML. `file` is used in messages; relative paths
/// resolve against `base_dir`. Throws ConfigError naming file, line and key
/// (unknown keys are errors). Checks that files are readable, not that they
/// hold a usable certificate (WebServer does). Thread-safe.
WebConfig ParseWebConfig(const std::string& yaml, const std::string& file,
                         const std::filesystem::path& base_dir);

/// Reads and parses a web config file. Throws ConfigError. Thread-safe.
WebConfig LoadWebConfigFile(const std::string& path);

/// True if `hash` looks like a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-31,
/// 53 characters of salt and hash).
bool IsBcryptHash(std::string_view hash);

}  // namespace sse
