#include "sse/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "sse/source.h"

namespace sse {
namespace {

// Context of one parse: the file name for messages and where relative
// secret files are looked up.
struct Ctx {
  std::string file;
  std::filesystem::path base_dir;
};

[[noreturn]] void Fail(const Ctx& ctx, const YAML::Node& node,
                       const std::string& path, const std::string& message) {
  std::ostringstream out;
  out << ctx.file;
  if (node.IsDefined() && node.Mark().line >= 0) {
    out << ':' << node.Mark().line + 1;
  }
  out << ": " << path << ": " << message;
  throw ConfigError(out.str());
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

void RequireMap(const Ctx& ctx, const YAML::Node& node,
                const std::string& path) {
  if (!node.IsMap()) Fail(ctx, node, path, "must be a mapping");
}

// Rejects keys not in `allowed`: a typo must not silently disable a check.
void CheckKeys(const Ctx& ctx, const YAML::Node& node, const std::string& path,
               const std::vector<std::string>& allowed) {
  RequireMap(ctx, node, path);
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) Fail(ctx, it->first, path, "keys must be strings");
    std::string key = it->first.Scalar();
    std::string key_path = path.empty() ? key : path + "." + key;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      Fail(ctx, it->first, key_path,
           "unknown key (allowed: " + Join(allowed) + ")");
    }
    if (!seen.insert(key).second) {
      Fail(ctx, it->first, key_path, "key given twice");
    }
  }
}

std::string Child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string GetString(const Ctx& ctx, const YAML::Node& node,
                      const std::string& path) {
  if (!node.IsScalar()) Fail(ctx, node, path, "must be a string");
  return node.Scalar();
}

std::string GetNonEmptyString(const Ctx& ctx, const YAML::Node& node,
                              const std::string& path) {
  std::string value = node.IsNull() ? "" : GetString(ctx, node, path);
  if (value.empty()) Fail(ctx, node, path, "must not be empty");
  return value;
}

bool GetBool(const Ctx& ctx, const YAML::Node& node, const std::string& path) {
  std::string value = node.IsScalar() ? node.Scalar() : "";
  if (value == "true") return true;
  if (value == "false") return false;
  Fail(ctx, node, path, "must be true or false");
}

int GetInt(const Ctx& ctx, const YAML::Node& node, const std::string& path,
           int min) {
  std::string text = node.IsScalar() ? node.Scalar() : "";
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    Fail(ctx, node, path, "must be an integer");
  }
  if (value < min) {
    Fail(ctx, node, path, "must be at least " + std::to_string(min));
  }
  return value;
}

Duration GetDuration(const Ctx& ctx, const YAML::Node& node,
                     const std::string& path) {
  std::string text = node.IsScalar() ? node.Scalar() : "";
  auto value = ParseDuration(text);
  if (!value) {
    Fail(ctx, node, path,
         "invalid duration \"" + text + "\" (examples: 500ms, 15s, 1m, 1h30m)");
  }
  if (value->count() <= 0) Fail(ctx, node, path, "must be greater than 0");
  return *value;
}

std::uint64_t GetBytes(const Ctx& ctx, const YAML::Node& node,
                       const std::string& path) {
  std::string text = node.IsScalar() ? node.Scalar() : "";
  auto value = ParseBytes(text);
  if (!value) {
    Fail(ctx, node, path,
         "invalid byte size \"" + text + "\" (examples: 1MiB, 512KiB, 4MB, 65536)");
  }
  if (*value == 0) Fail(ctx, node, path, "must be greater than 0");
  return *value;
}

// Names and types become label values: Prometheus refuses a whole scrape
// with invalid UTF-8 in one.
std::string GetLabelValue(const Ctx& ctx, const YAML::Node& node,
                          const std::string& path) {
  std::string value = GetNonEmptyString(ctx, node, path);
  if (!IsValidUtf8(value)) Fail(ctx, node, path, "must be valid UTF-8");
  if (HasControlCharacter(value)) {
    Fail(ctx, node, path, "must not contain control characters");
  }
  return value;
}

// A state written in the config (up_states, state_map and status_map
// values) must be one an observation could produce.
void CheckState(const Ctx& ctx, const YAML::Node& node, const std::string& path,
                const std::string& state) {
  if (std::string problem = CheckStateString(state); !problem.empty()) {
    Fail(ctx, node, path, problem);
  }
}

std::vector<std::string> GetStringList(const Ctx& ctx, const YAML::Node& node,
                                       const std::string& path) {
  if (!node.IsSequence()) Fail(ctx, node, path, "must be a list of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(GetNonEmptyString(ctx, node[i],
                                    path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

void CheckStates(const Ctx& ctx, const YAML::Node& node, const std::string& path,
                 const std::vector<std::string>& states) {
  for (std::size_t i = 0; i < states.size(); ++i) {
    CheckState(ctx, node[i], path + "[" + std::to_string(i) + "]", states[i]);
  }
}

std::map<std::string, std::string> GetStringMap(const Ctx& ctx,
                                                const YAML::Node& node,
                                                const std::string& path) {
  RequireMap(ctx, node, path);
  std::map<std::string, std::string> out;
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = GetString(ctx, it->first, path);
    std::string key_path = path + "." + key;
    if (!out.emplace(key, GetString(ctx, it->second, key_path)).second) {
      Fail(ctx, it->first, key_path, "key given twice");
    }
  }
  return out;
}

// Longest secret file accepted; a token or password is far shorter.
constexpr std::size_t kMaxSecretBytes = 64 * 1024;

// Reads a secret from a file; trailing newlines are stripped, as Prometheus
// does for credentials files. Only regular files (symlinks to them, as
// Kubernetes mounts secrets, are fine) of at most kMaxSecretBytes: a path
// to a device or FIFO must not hang or exhaust the exporter on a reload.
Secret ReadSecretFile(const Ctx& ctx, const YAML::Node& node,
                      const std::string& path, const std::string& file) {
  std::filesystem::path p(file);
  if (p.is_relative()) p = ctx.base_dir / p;
  std::error_code ec;
  if (std::filesystem::exists(p, ec) && !std::filesystem::is_regular_file(p, ec)) {
    Fail(ctx, node, path, "file \"" + p.string() + "\" is not a regular file");
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) Fail(ctx, node, path, "cannot read file \"" + p.string() + "\"");
  // Room for a trailing CR LF beyond the limit.
  std::string value(kMaxSecretBytes + 3, '\0');
  in.read(value.data(), static_cast<std::streamsize>(value.size()));
  value.resize(static_cast<std::size_t>(in.gcount()));
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) {
    value.pop_back();
  }
  if (value.size() > kMaxSecretBytes) {
    Fail(ctx, node, path,
         "file \"" + p.string() + "\" is larger than " +
             std::to_string(kMaxSecretBytes / 1024) + " KiB");
  }
  if (value.empty()) Fail(ctx, node, path, "file \"" + p.string() + "\" is empty");
  return Secret(std::move(value));
}

bool IsValidStatusKey(const std::string& key) {
  if (key.size() != 3) return false;
  if (key[0] < '1' || key[0] > '5') return false;
  if (key[1] == 'x' && key[2] == 'x') return true;
  return std::isdigit(static_cast<unsigned char>(key[1])) &&
         std::isdigit(static_cast<unsigned char>(key[2]));
}

bool IsValidHeaderName(const std::string& name) {
  if (name.empty()) return false;
  static const std::string kSpecials = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           kSpecials.find(c) != std::string::npos;
  });
}

bool IsValidHeaderValue(const std::string& value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    return c == '\r' || c == '\n' || c == '\0';
  });
}

GlobalConfig ParseGlobal(const Ctx& ctx, const YAML::Node& node) {
  GlobalConfig g;
  if (!node.IsDefined() || node.IsNull()) return g;
  const std::string path = "global";
  CheckKeys(ctx, node, path,
            {"metric_namespace", "poll_interval", "poll_timeout", "up_states",
             "transition_after", "max_body_bytes", "max_states_per_service"});
  if (auto n = node["metric_namespace"]) {
    g.metric_namespace = GetNonEmptyString(ctx, n, Child(path, "metric_namespace"));
    if (!IsValidMetricName(g.metric_namespace) ||
        g.metric_namespace.find(':') != std::string::npos) {
      Fail(ctx, n, Child(path, "metric_namespace"),
           "must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
  }
  if (auto n = node["poll_interval"]) {
    g.poll_interval = GetDuration(ctx, n, Child(path, "poll_interval"));
  }
  if (auto n = node["poll_timeout"]) {
    g.poll_timeout = GetDuration(ctx, n, Child(path, "poll_timeout"));
  }
  if (g.poll_timeout > g.poll_interval) {
    const YAML::Node& at = node["poll_timeout"] ? node["poll_timeout"] : node;
    Fail(ctx, at, Child(path, "poll_timeout"),
         "must be <= poll_interval (" + FormatDuration(g.poll_timeout) + " > " +
             FormatDuration(g.poll_interval) + ")");
  }
  if (auto n = node["up_states"]) {
    g.up_states = GetStringList(ctx, n, Child(path, "up_states"));
    CheckStates(ctx, n, Child(path, "up_states"), g.up_states);
  }
  if (auto n = node["transition_after"]) {
    g.transition_after = GetInt(ctx, n, Child(path, "transition_after"), 1);
  }
  if (auto n = node["max_body_bytes"]) {
    g.max_body_bytes = GetBytes(ctx, n, Child(path, "max_body_bytes"));
  }
  if (auto n = node["max_states_per_service"]) {
    g.max_states_per_service =
        GetInt(ctx, n, Child(path, "max_states_per_service"), 1);
  }
  return g;
}

TlsConfig ParseTls(const Ctx& ctx, const YAML::Node& node,
                   const std::string& path) {
  CheckKeys(ctx, node, path,
            {"ca_file", "cert_file", "key_file", "server_name",
             "insecure_skip_verify"});
  TlsConfig tls;
  auto file = [&](const char* key, std::string& out) {
    if (auto n = node[key]) {
      out = GetNonEmptyString(ctx, n, Child(path, key));
      std::filesystem::path p(out);
      if (p.is_relative()) p = ctx.base_dir / p;
      if (!std::ifstream(p)) {
        Fail(ctx, n, Child(path, key), "cannot read file \"" + p.string() + "\"");
      }
      out = p.string();
    }
  };
  file("ca_file", tls.ca_file);
  file("cert_file", tls.cert_file);
  file("key_file", tls.key_file);
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    Fail(ctx, node, path, "cert_file and key_file must be given together");
  }
  if (auto n = node["server_name"]) {
    tls.server_name = GetNonEmptyString(ctx, n, Child(path, "server_name"));
  }
  if (auto n = node["insecure_skip_verify"]) {
    tls.insecure_skip_verify =
        GetBool(ctx, n, Child(path, "insecure_skip_verify"));
  }
  return tls;
}

ServiceConfig ParseService(const Ctx& ctx, const GlobalConfig& g,
                           const YAML::Node& node, const std::string& path) {
  CheckKeys(ctx, node, path,
            {"name", "type", "url", "source", "state_pointer", "state_map",
             "keep_case", "status_map", "interval", "timeout", "up_states",
             "transition_after", "max_body_bytes", "follow_redirects",
             "headers", "bearer_token_file", "basic_auth", "tls"});
  ServiceConfig s;
  s.line = node.Mark().line + 1;
  s.interval = g.poll_interval;
  s.timeout = g.poll_timeout;
  s.up_states = g.up_states;
  s.transition_after = g.transition_after;
  s.max_body_bytes = g.max_body_bytes;
  s.max_states = g.max_states_per_service;

  if (!node["name"]) Fail(ctx, node, Child(path, "name"), "is required");
  s.name = GetLabelValue(ctx, node["name"], Child(path, "name"));
  if (auto n = node["type"]) s.type = GetLabelValue(ctx, n, Child(path, "type"));
  if (!node["url"]) Fail(ctx, node, Child(path, "url"), "is required");
  {
    const YAML::Node n = node["url"];
    std::string text = GetNonEmptyString(ctx, n, Child(path, "url"));
    try {
      s.url = ParseUrl(text);
    } catch (const std::invalid_argument& e) {
      Fail(ctx, n, Child(path, "url"),
           "invalid URL \"" + RedactUrl(text) + "\": " + e.what());
    }
  }
  if (auto n = node["source"]) {
    std::string source = GetString(ctx, n, Child(path, "source"));
    if (source == "http_status") {
      s.source = SourceKind::kHttpStatus;
    } else if (source == "json") {
      s.source = SourceKind::kJson;
    } else {
      Fail(ctx, n, Child(path, "source"),
           "unknown source \"" + source + "\" (one of: http_status, json)");
    }
  }
  for (const char* key : {"state_pointer", "state_map", "keep_case"}) {
    if (node[key] && s.source != SourceKind::kJson) {
      Fail(ctx, node[key], Child(path, key), "only applies to source json");
    }
  }
  if (auto n = node["state_pointer"]) {
    s.state_pointer = GetString(ctx, n, Child(path, "state_pointer"));
    try {
      nlohmann::json::json_pointer pointer(s.state_pointer);
      (void)pointer;
    } catch (const nlohmann::json::exception& e) {
      Fail(ctx, n, Child(path, "state_pointer"),
           "invalid JSON pointer \"" + s.state_pointer +
               "\" (RFC 6901: empty or starting with /)");
    }
  }
  if (auto n = node["state_map"]) {
    s.state_map = GetStringMap(ctx, n, Child(path, "state_map"));
    for (const auto& [raw, state] : s.state_map) {
      CheckState(ctx, n[raw], Child(path, "state_map." + raw), state);
    }
  }
  if (auto n = node["keep_case"]) s.keep_case = GetBool(ctx, n, Child(path, "keep_case"));
  if (auto n = node["status_map"]) {
    s.status_map = GetStringMap(ctx, n, Child(path, "status_map"));
    for (const auto& [code, state] : s.status_map) {
      CheckState(ctx, n[code], Child(path, "status_map." + code), state);
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!IsValidStatusKey(it->first.Scalar())) {
        Fail(ctx, it->first, Child(path, "status_map." + it->first.Scalar()),
             "key must be a status code (\"503\") or a class (\"5xx\")");
      }
    }
  }
  if (auto n = node["interval"]) s.interval = GetDuration(ctx, n, Child(path, "interval"));
  if (auto n = node["timeout"]) s.timeout = GetDuration(ctx, n, Child(path, "timeout"));
  if (s.timeout > s.interval) {
    const YAML::Node& at = node["timeout"] ? node["timeout"] : node["interval"] ? node["interval"] : node;
    Fail(ctx, at, Child(path, "timeout"),
         "must be <= interval (" + FormatDuration(s.timeout) + " > " +
             FormatDuration(s.interval) + ")");
  }
  if (auto n = node["up_states"]) {
    s.up_states = GetStringList(ctx, n, Child(path, "up_states"));
    CheckStates(ctx, n, Child(path, "up_states"), s.up_states);
  }
  if (auto n = node["transition_after"]) {
    s.transition_after = GetInt(ctx, n, Child(path, "transition_after"), 1);
  }
  if (auto n = node["max_body_bytes"]) {
    s.max_body_bytes = GetBytes(ctx, n, Child(path, "max_body_bytes"));
  }
  if (auto n = node["follow_redirects"]) {
    s.follow_redirects = GetBool(ctx, n, Child(path, "follow_redirects"));
  }
  if (auto n = node["headers"]) {
    const std::string hpath = Child(path, "headers");
    for (const auto& [name, value] : GetStringMap(ctx, n, hpath)) {
      if (!IsValidHeaderName(name)) {
        Fail(ctx, n, hpath + "." + name, "invalid header name");
      }
      if (!IsValidHeaderValue(value)) {
        Fail(ctx, n, hpath + "." + name, "header value must not contain CR, LF or NUL");
      }
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (lower == "host" || lower == "content-length" ||
          lower == "transfer-encoding" || lower == "connection") {
        Fail(ctx, n, hpath + "." + name, "header is set by the exporter");
      }
      if (lower == "authorization") {
        Fail(ctx, n, hpath + "." + name,
             "use bearer_token_file or basic_auth (secrets are read from files)");
      }
      s.headers.emplace_back(name, value);
    }
  }
  if (auto n = node["bearer_token_file"]) {
    s.bearer_token_file = GetNonEmptyString(ctx, n, Child(path, "bearer_token_file"));
    s.bearer_token = ReadSecretFile(ctx, n, Child(path, "bearer_token_file"),
                                    s.bearer_token_file);
  }
  if (auto n = node["basic_auth"]) {
    const std::string bpath = Child(path, "basic_auth");
    CheckKeys(ctx, n, bpath, {"username", "password_file"});
    if (s.bearer_token_file.size() > 0) {
      Fail(ctx, n, bpath, "at most one of basic_auth and bearer_token_file");
    }
    if (!n["username"]) Fail(ctx, n, Child(bpath, "username"), "is required");
    s.has_basic_auth = true;
    s.basic_auth.username = GetNonEmptyString(ctx, n["username"], Child(bpath, "username"));
    if (s.basic_auth.username.find(':') != std::string::npos) {
      Fail(ctx, n["username"], Child(bpath, "username"), "must not contain ':'");
    }
    if (!n["password_file"]) Fail(ctx, n, Child(bpath, "password_file"), "is required");
    s.basic_auth.password_file =
        GetNonEmptyString(ctx, n["password_file"], Child(bpath, "password_file"));
    s.basic_auth.password = ReadSecretFile(ctx, n["password_file"],
                                           Child(bpath, "password_file"),
                                           s.basic_auth.password_file);
  }
  if (auto n = node["tls"]) {
    if (s.url.scheme != "https") {
      Fail(ctx, n, Child(path, "tls"), "only applies to https:// URLs");
    }
    s.has_tls = true;
    s.tls = ParseTls(ctx, n, Child(path, "tls"));
  }
  return s;
}

Config Parse(const Ctx& ctx, const YAML::Node& root) {
  Config config;
  config.file = ctx.file;
  if (root.IsNull() || !root.IsDefined()) return config;
  CheckKeys(ctx, root, "", {"global", "services"});
  config.global = ParseGlobal(ctx, root["global"]);
  if (auto services = root["services"]) {
    if (services.IsNull()) return config;
    if (!services.IsSequence()) Fail(ctx, services, "services", "must be a list");
    std::map<std::string, int> names;
    for (std::size_t i = 0; i < services.size(); ++i) {
      std::string path = "services[" + std::to_string(i) + "]";
      ServiceConfig s = ParseService(ctx, config.global, services[i], path);
      auto [it, fresh] = names.emplace(s.name, s.line);
      if (!fresh) {
        Fail(ctx, services[i]["name"], Child(path, "name"),
             "duplicate service name \"" + s.name + "\" (first at line " +
                 std::to_string(it->second) + ")");
      }
      config.services.push_back(std::move(s));
    }
  }
  return config;
}

}  // namespace

const char* SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kHttpStatus:
      return "http_status";
    case SourceKind::kJson:
      return "json";
  }
  return "unknown";
}

Url ParseUrl(const std::string& text) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) throw std::invalid_argument(parsed.error().message());
  const auto& u = *parsed;
  Url url;
  url.text = text;
  url.scheme = std::string(u.scheme());
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (url.scheme != "http" && url.scheme != "https") {
    throw std::invalid_argument("scheme must be http or https");
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    throw std::invalid_argument("host is missing");
  }
  if (u.has_userinfo()) {
    throw std::invalid_argument("credentials in the URL are not allowed (use basic_auth)");
  }
  url.host = std::string(u.encoded_host_address());
  const std::string default_port = url.scheme == "https" ? "443" : "80";
  url.port = u.has_port() ? std::string(u.port()) : default_port;
  if (url.port.empty()) url.port = default_port;
  int port = 0;
  auto [end, ec] = std::from_chars(url.port.data(), url.port.data() + url.port.size(), port);
  if (ec != std::errc() || end != url.port.data() + url.port.size() || port < 1 ||
      port > 65535) {
    throw std::invalid_argument("invalid port");
  }
  url.target = std::string(u.encoded_path());
  // After an authority the path is empty or starts with "/" (RFC 3986);
  // Boost.URL 1.81 takes "http://h:80x/" as port 80 and path "x/", which
  // would silently poll another port than the one written.
  if (!url.target.empty() && url.target[0] != '/') {
    throw std::invalid_argument("malformed port or path");
  }
  if (url.target.empty()) url.target = "/";
  if (u.has_query()) url.target += "?" + std::string(u.encoded_query());
  std::string host_text = std::string(u.encoded_host_and_port());
  url.host_header = url.port == default_port ? std::string(u.encoded_host()) : host_text;
  if (u.host_type() == boost::urls::host_type::ipv6) {
    url.host_header = url.port == default_port ? "[" + url.host + "]"
                                               : "[" + url.host + "]:" + url.port;
  }
  return url;
}

std::string RedactUrl(std::string_view text) {
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return std::string(text);
  const std::size_t start = scheme_end + 3;
  std::size_t end = text.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = text.size();
  const std::size_t at = text.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return std::string(text);
  return std::string(text.substr(0, start)) + "xxxxx" +
         std::string(text.substr(start + at));
}

bool ServiceConfig::SamePolling(const ServiceConfig& other) const {
  ServiceConfig copy = other;
  copy.line = line;
  return copy == *this;
}

bool IsValidMetricName(const std::string& name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    bool ok = std::isalpha(c) || c == '_' || c == ':' || (i > 0 && std::isdigit(c));
    if (!ok) return false;
  }
  return true;
}

Config ParseConfig(const std::string& yaml, const std::string& file,
                   const std::filesystem::path& base_dir) {
  Ctx ctx{file, base_dir};
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    std::ostringstream out;
    out << file;
    if (e.mark.line >= 0) out << ':' << e.mark.line + 1;
    out << ": invalid YAML: " << e.msg;
    throw ConfigError(out.str());
  }
  try {
    return Parse(ctx, root);
  } catch (const YAML::Exception& e) {
    std::ostringstream out;
    out << file;
    if (e.mark.line >= 0) out << ':' << e.mark.line + 1;
    out << ": " << e.msg;
    throw ConfigError(out.str());
  }
}

Config LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read config file");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  std::filesystem::path base = std::filesystem::path(path).parent_path();
  if (base.empty()) base = ".";
  return ParseConfig(text, path, base);
}

}  // namespace sse
