#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sse/util/units.h"

namespace sse {

/// Thrown by config loading. The message names file, line and key path,
/// e.g. `config.yaml:12: services[1].url: scheme must be http or https`.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Largest config, web config or file_sd file read (16 MiB).
inline constexpr std::uint64_t kMaxConfigFileBytes = 16 * 1024 * 1024;

/// Longest secret accepted from a file (64 KiB, trailing newlines aside); a
/// token or password is far shorter.
inline constexpr std::size_t kMaxSecretBytes = 64 * 1024;

/// A value read from a file that must never be logged or served. It has no
/// stream operator on purpose; call Reveal() only where the value is sent.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  /// The secret value itself. Never log or serve it.
  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};

/// A parsed http(s) URL, split the way an HTTP/1.1 client needs it.
struct Url {
  std::string text;    ///< as written in the config
  std::string scheme;  ///< "http" or "https"
  std::string host;    ///< without brackets for IPv6 literals
  std::string port;    ///< explicit or the scheme's default
  std::string target;  ///< path and query, at least "/"
  /// Value for the Host header ("host" or "host:port" if not default).
  std::string host_header;
  bool operator==(const Url&) const = default;
};

/// The URL with any user information (`user:password@`) replaced by
/// `xxxxx`, for messages; works on malformed URLs too. Thread-safe.
std::string RedactUrl(std::string_view text);

/// Parses an absolute http(s) URL. Throws std::invalid_argument with a
/// reason on failure. Thread-safe.
Url ParseUrl(const std::string& text);

/// How a service's answer becomes its state (`source:`).
enum class SourceKind { kHttpStatus, kJson };

struct TlsConfig {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  bool insecure_skip_verify = false;
  bool operator==(const TlsConfig&) const = default;
};

struct BasicAuth {
  std::string username;
  std::string password_file;  ///< absolute once loaded
  /// Contents of password_file at load (empty if it did not exist yet); the
  /// HTTP client reads the file again whenever it changes.
  Secret password;
  bool operator==(const BasicAuth&) const = default;
};

/// Global settings; every field has the default documented in README.md
/// (Configuration).
struct GlobalConfig {
  std::string metric_namespace = "muster";
  Duration poll_interval = std::chrono::seconds(15);
  Duration poll_timeout = std::chrono::seconds(5);
  std::vector<std::string> up_states = {"running", "connected"};
  int transition_after = 1;
  std::uint64_t max_body_bytes = 1024 * 1024;
  int max_states_per_service = 16;
  /// Committed changes kept per service (0: no history).
  int history_size = 64;
  bool operator==(const GlobalConfig&) const = default;
};

/// One polled service, with the global defaults already applied.
struct ServiceConfig {
  std::string name;
  std::string type = "service";
  Url url;
  SourceKind source = SourceKind::kHttpStatus;
  std::string state_pointer = "/state";
  std::map<std::string, std::string> state_map;
  bool keep_case = false;
  /// Keys: exact status ("503") or class ("5xx"); values: states.
  std::map<std::string, std::string> status_map;
  Duration interval{};
  Duration timeout{};
  std::vector<std::string> up_states;
  int transition_after = 1;
  std::uint64_t max_body_bytes = 0;
  int max_states = 16;
  bool follow_redirects = false;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string bearer_token_file;  ///< absolute once loaded
  /// Contents of bearer_token_file at load (empty if it did not exist yet);
  /// the HTTP client reads the file again whenever it changes.
  Secret bearer_token;
  bool has_basic_auth = false;
  BasicAuth basic_auth;
  bool has_tls = false;
  TlsConfig tls;
  int line = 0;  ///< line of the entry in the config file, for messages
  /// True if polling-relevant fields are equal (ignores `line`).
  bool SamePolling(const ServiceConfig& other) const;
  bool operator==(const ServiceConfig&) const = default;
};

enum class ListKind { kJsonList, kMcp };

/// One endpoint that reports many services (json_list, mcp; README.md
/// "Fleets").
struct ListConfig {
  std::string name;  ///< service_name of the list's own poll series
  ListKind kind = ListKind::kJsonList;
  std::string items_pointer = "/services";
  std::string name_field = "name";
  std::string type_field = "service_type";
  std::string state_field = "state";
  std::string default_type = "service";
  int absent_after = 3;
  /// Most items an answer may have; a longer one is a failed poll
  /// (too_large) and changes nothing.
  int max_services = 10000;
  std::string tool = "core_service_list";  ///< MCP tool called each poll
  std::string arguments = "{}";  ///< the tool's arguments, a JSON object
  /// How the list itself is polled (url, interval, timeout, auth, TLS,
  /// limits) and how its services are tracked (state_map, keep_case,
  /// up_states, transition_after). `poll.name` is the list's name.
  ServiceConfig poll;
  bool operator==(const ListConfig&) const = default;
};

/// A Prometheus file_sd block: each target of the files becomes a service.
struct FileSdConfig {
  std::vector<std::string> files;                       ///< globs, absolute
  Duration refresh_interval = std::chrono::seconds(5);  ///< mtime check period
  std::string path = "/";       ///< URL path unless a target sets __path__
  std::string scheme = "http";  ///< unless a target sets __scheme__
  ServiceConfig service;        ///< template: everything but name and url
  bool operator==(const FileSdConfig&) const = default;
};

/// A Prometheus http_sd block: the target list comes from a URL.
struct HttpSdConfig {
  Url url;
  Duration refresh_interval = std::chrono::seconds(60);
  std::string path = "/";
  std::string scheme = "http";
  ServiceConfig service;  ///< template: everything but name and url
  bool operator==(const HttpSdConfig&) const = default;
};

/// A whole configuration file.
struct Config {
  std::string file;  ///< path it was loaded from
  GlobalConfig global;
  std::vector<ServiceConfig> services;
  std::vector<ListConfig> lists;
  std::vector<FileSdConfig> file_sd;
  std::vector<HttpSdConfig> http_sd;
  /// Equal configs (secret file contents included) make a reload a no-op.
  bool operator==(const Config&) const = default;
};

/// Parses YAML text. `file` is used in messages; relative secret file paths
/// resolve against `base_dir`. Throws ConfigError. Thread-safe.
Config ParseConfig(const std::string& yaml, const std::string& file,
                   const std::filesystem::path& base_dir);

/// Reads and parses a config file. Throws ConfigError (also when the file
/// cannot be read). Thread-safe.
Config LoadConfigFile(const std::string& path);

/// True if `pointer` is a valid RFC 6901 JSON pointer.
bool IsValidJsonPointer(const std::string& pointer);

/// True if `name` is a valid Prometheus metric name prefix.
bool IsValidMetricName(const std::string& name);

}  // namespace sse
