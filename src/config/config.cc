#include "sse/config/config.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "sse/config/yaml_util.h"
#include "sse/core/history.h"
#include "sse/core/states.h"
#include "sse/util/text.h"

namespace sse {
namespace {

using yaml::CheckKeys;
using yaml::Child;
using yaml::Ctx;
using yaml::Fail;
using yaml::GetBool;
using yaml::GetBytes;
using yaml::GetDuration;
using yaml::GetInt;
using yaml::GetNonEmptyString;
using yaml::GetReadableFile;
using yaml::GetString;
using yaml::GetStringList;
using yaml::GetStringMap;
using yaml::ReadSecretFile;

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

// Names and types become label values: Prometheus refuses a whole scrape
// with invalid UTF-8 in one.
std::string GetLabelValue(const Ctx& ctx, const YAML::Node& node,
                          const std::string& path) {
  std::string value = GetNonEmptyString(ctx, node, path);
  if (!IsValidUtf8(value)) Fail(ctx, node, path, "must be valid UTF-8");
  if (HasControlCharacter(value))
    Fail(ctx, node, path, "must not contain control characters");
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

std::vector<std::string> GetStateList(const Ctx& ctx, const YAML::Node& node,
                                      const std::string& path) {
  std::vector<std::string> states = GetStringList(ctx, node, path);
  for (std::size_t i = 0; i < states.size(); ++i) {
    CheckState(ctx, node[i], path + "[" + std::to_string(i) + "]", states[i]);
  }
  return states;
}

// A map whose values are states.
std::map<std::string, std::string> GetStateMap(const Ctx& ctx,
                                               const YAML::Node& node,
                                               const std::string& path) {
  auto map = GetStringMap(ctx, node, path);
  // By iteration: node[key] searches the mapping, quadratic over a map.
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    CheckState(ctx, it->second, path + "." + key, map.at(key));
  }
  return map;
}

GlobalConfig ParseGlobal(const Ctx& ctx, const YAML::Node& node) {
  GlobalConfig g;
  if (!node.IsDefined() || node.IsNull()) return g;
  const std::string path = "global";
  CheckKeys(ctx, node, path,
            {"metric_namespace", "poll_interval", "poll_timeout", "up_states",
             "transition_after", "max_body_bytes", "max_states_per_service",
             "history_size"});
  if (auto n = node["metric_namespace"]) {
    g.metric_namespace =
        GetNonEmptyString(ctx, n, Child(path, "metric_namespace"));
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
    g.up_states = GetStateList(ctx, n, Child(path, "up_states"));
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
  if (auto n = node["history_size"]) {
    const int size = GetInt(ctx, n, Child(path, "history_size"), 0);
    if (static_cast<std::size_t>(size) > kMaxHistorySize) {
      Fail(ctx, n, Child(path, "history_size"),
           "must be at most " + std::to_string(kMaxHistorySize));
    }
    g.history_size = size;
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
    if (auto n = node[key]) out = GetReadableFile(ctx, n, Child(path, key));
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

// Keys every polled thing accepts (services, lists, discovery templates).
const std::vector<std::string> kPollKeys = {
    "state_map", "keep_case",         "interval",       "timeout",
    "up_states", "transition_after",  "max_body_bytes", "follow_redirects",
    "headers",   "bearer_token_file", "basic_auth",     "tls"};
// Keys of services and discovery templates on top of kPollKeys.
const std::vector<std::string> kServiceKeys = {"source", "state_pointer",
                                               "status_map"};

std::vector<std::string> Keys(
    std::initializer_list<std::vector<std::string>> groups) {
  std::vector<std::string> out;
  for (const auto& g : groups) out.insert(out.end(), g.begin(), g.end());
  return out;
}

// Fills the poll options of `s` from `node`, starting from the globals.
// Key checking is the caller's job.
void ParsePollOptions(const Ctx& ctx, const GlobalConfig& g,
                      const YAML::Node& node, const std::string& path,
                      ServiceConfig& s) {
  s.interval = g.poll_interval;
  s.timeout = g.poll_timeout;
  s.up_states = g.up_states;
  s.transition_after = g.transition_after;
  s.max_body_bytes = g.max_body_bytes;
  s.max_states = g.max_states_per_service;
  if (auto n = node["state_map"]) {
    s.state_map = GetStateMap(ctx, n, Child(path, "state_map"));
  }
  if (auto n = node["keep_case"])
    s.keep_case = GetBool(ctx, n, Child(path, "keep_case"));
  if (auto n = node["interval"])
    s.interval = GetDuration(ctx, n, Child(path, "interval"));
  if (auto n = node["timeout"])
    s.timeout = GetDuration(ctx, n, Child(path, "timeout"));
  if (s.timeout > s.interval) {
    const YAML::Node& at = node["timeout"]    ? node["timeout"]
                           : node["interval"] ? node["interval"]
                                              : node;
    Fail(ctx, at, Child(path, "timeout"),
         "must be <= interval (" + FormatDuration(s.timeout) + " > " +
             FormatDuration(s.interval) + ")");
  }
  if (auto n = node["up_states"])
    s.up_states = GetStateList(ctx, n, Child(path, "up_states"));
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
        Fail(ctx, n, hpath + "." + name,
             "header value must not contain CR, LF or NUL");
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
             "use bearer_token_file or basic_auth (secrets are read from "
             "files)");
      }
      s.headers.emplace_back(name, value);
    }
  }
  if (auto n = node["bearer_token_file"]) {
    s.bearer_token_file =
        GetNonEmptyString(ctx, n, Child(path, "bearer_token_file"));
    // Resolved in place: the HTTP client reads it again on every request.
    s.bearer_token = ReadSecretFile(ctx, n, Child(path, "bearer_token_file"),
                                    s.bearer_token_file);
  }
  if (auto n = node["basic_auth"]) {
    const std::string bpath = Child(path, "basic_auth");
    CheckKeys(ctx, n, bpath, {"username", "password_file"});
    if (!s.bearer_token_file.empty()) {
      Fail(ctx, n, bpath, "at most one of basic_auth and bearer_token_file");
    }
    if (!n["username"]) Fail(ctx, n, Child(bpath, "username"), "is required");
    s.has_basic_auth = true;
    s.basic_auth.username =
        GetNonEmptyString(ctx, n["username"], Child(bpath, "username"));
    if (s.basic_auth.username.find(':') != std::string::npos) {
      Fail(ctx, n["username"], Child(bpath, "username"),
           "must not contain ':'");
    }
    if (!n["password_file"])
      Fail(ctx, n, Child(bpath, "password_file"), "is required");
    s.basic_auth.password_file = GetNonEmptyString(
        ctx, n["password_file"], Child(bpath, "password_file"));
    s.basic_auth.password =
        ReadSecretFile(ctx, n["password_file"], Child(bpath, "password_file"),
                       s.basic_auth.password_file);
  }
  if (auto n = node["tls"]) {
    s.has_tls = true;
    s.tls = ParseTls(ctx, n, Child(path, "tls"));
  }
}

// Source, pointer and status map of services and discovery templates.
void ParseSourceOptions(const Ctx& ctx, const YAML::Node& node,
                        const std::string& path, ServiceConfig& s) {
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
    if (!IsValidJsonPointer(s.state_pointer)) {
      Fail(ctx, n, Child(path, "state_pointer"),
           "invalid JSON pointer \"" + s.state_pointer +
               "\" (RFC 6901: empty or starting with /)");
    }
  }
  if (auto n = node["status_map"]) {
    s.status_map = GetStateMap(ctx, n, Child(path, "status_map"));
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!IsValidStatusKey(it->first.Scalar())) {
        Fail(ctx, it->first, Child(path, "status_map." + it->first.Scalar()),
             "key must be a status code (\"503\") or a class (\"5xx\")");
      }
    }
  }
}

Url GetUrl(const Ctx& ctx, const YAML::Node& node, const std::string& path) {
  if (!node) Fail(ctx, node, path, "is required");
  std::string text = GetNonEmptyString(ctx, node, path);
  try {
    return ParseUrl(text);
  } catch (const std::invalid_argument& e) {
    Fail(ctx, node, path,
         "invalid URL \"" + RedactUrl(text) + "\": " + e.what());
  }
}

void CheckTlsScheme(const Ctx& ctx, const YAML::Node& node,
                    const std::string& path, const ServiceConfig& s) {
  if (s.has_tls && s.url.scheme != "https") {
    Fail(ctx, node["tls"], Child(path, "tls"), "only applies to https:// URLs");
  }
}

ServiceConfig ParseService(const Ctx& ctx, const GlobalConfig& g,
                           const YAML::Node& node, const std::string& path) {
  CheckKeys(ctx, node, path,
            Keys({{"name", "type", "url"}, kServiceKeys, kPollKeys}));
  ServiceConfig s;
  s.line = node.Mark().line + 1;
  if (!node["name"]) Fail(ctx, node, Child(path, "name"), "is required");
  s.name = GetLabelValue(ctx, node["name"], Child(path, "name"));
  if (auto n = node["type"])
    s.type = GetLabelValue(ctx, n, Child(path, "type"));
  if (!node["url"]) Fail(ctx, node, Child(path, "url"), "is required");
  s.url = GetUrl(ctx, node["url"], Child(path, "url"));
  ParseSourceOptions(ctx, node, path, s);
  ParsePollOptions(ctx, g, node, path, s);
  CheckTlsScheme(ctx, node, path, s);
  return s;
}

// A YAML value as JSON: maps and sequences as objects and arrays; a plain
// (unquoted) scalar that reads as a boolean, null, integer or number as
// such; every other scalar as a string.
nlohmann::json YamlToJson(const Ctx& ctx, const YAML::Node& node,
                          const std::string& path, int depth = 0) {
  if (depth > 32) Fail(ctx, node, path, "nested too deeply");
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node) {
      if (!kv.first.IsScalar())
        Fail(ctx, kv.first, path, "keys must be strings");
      const std::string key = kv.first.Scalar();
      out[key] = YamlToJson(ctx, kv.second, path + "." + key, depth + 1);
    }
    return out;
  }
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < node.size(); ++i) {
      out.push_back(YamlToJson(
          ctx, node[i], path + "[" + std::to_string(i) + "]", depth + 1));
    }
    return out;
  }
  if (!node.IsScalar()) return nullptr;  // null
  const std::string& text = node.Scalar();
  if (node.Tag() == "?") {  // plain scalar: YAML 1.2 core schema
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    if (text == "~" || text == "null" || text == "Null" || text == "NULL")
      return nullptr;
    nlohmann::json number = nlohmann::json::parse(text, nullptr, false);
    if (number.is_number()) return number;
  }
  return text;
}

std::string GetPointer(const Ctx& ctx, const YAML::Node& node,
                       const std::string& path) {
  std::string value = GetString(ctx, node, path);
  if (!IsValidJsonPointer(value)) {
    Fail(ctx, node, path,
         "invalid JSON pointer \"" + value +
             "\" (RFC 6901: empty or starting with /)");
  }
  return value;
}

ListConfig ParseList(const Ctx& ctx, const GlobalConfig& g,
                     const YAML::Node& node, const std::string& path) {
  CheckKeys(ctx, node, path,
            Keys({{"name", "url", "source", "items_pointer", "name_field",
                   "type_field", "state_field", "default_type", "absent_after",
                   "max_services", "tool", "arguments"},
                  kPollKeys}));
  ListConfig l;
  if (!node["name"]) Fail(ctx, node, Child(path, "name"), "is required");
  l.name = GetLabelValue(ctx, node["name"], Child(path, "name"));
  if (!node["url"]) Fail(ctx, node, Child(path, "url"), "is required");
  l.poll.name = l.name;
  l.poll.line = node.Mark().line + 1;
  l.poll.url = GetUrl(ctx, node["url"], Child(path, "url"));
  if (auto n = node["source"]) {
    std::string source = GetString(ctx, n, Child(path, "source"));
    if (source == "json_list") {
      l.kind = ListKind::kJsonList;
    } else if (source == "mcp") {
      l.kind = ListKind::kMcp;
    } else {
      Fail(ctx, n, Child(path, "source"),
           "unknown list source \"" + source + "\" (one of: json_list, mcp)");
    }
  }
  if (auto n = node["items_pointer"])
    l.items_pointer = GetPointer(ctx, n, Child(path, "items_pointer"));
  for (auto [key, field] :
       {std::pair<const char*, std::string*>{"name_field", &l.name_field},
        {"type_field", &l.type_field},
        {"state_field", &l.state_field},
        {"default_type", &l.default_type}}) {
    if (auto n = node[key])
      *field = GetNonEmptyString(ctx, n, Child(path, key));
  }
  if (auto n = node["default_type"])
    l.default_type = GetLabelValue(ctx, n, Child(path, "default_type"));
  if (auto n = node["absent_after"])
    l.absent_after = GetInt(ctx, n, Child(path, "absent_after"), 1);
  if (auto n = node["max_services"])
    l.max_services = GetInt(ctx, n, Child(path, "max_services"), 1);
  if (auto n = node["tool"]) {
    if (l.kind != ListKind::kMcp)
      Fail(ctx, n, Child(path, "tool"), "only applies to source mcp");
    l.tool = GetNonEmptyString(ctx, n, Child(path, "tool"));
  }
  if (auto n = node["arguments"]) {
    const std::string apath = Child(path, "arguments");
    if (l.kind != ListKind::kMcp)
      Fail(ctx, n, apath, "only applies to source mcp");
    if (!n.IsMap()) Fail(ctx, n, apath, "must be a map (the tool's arguments)");
    l.arguments = YamlToJson(ctx, n, apath).dump();
  }
  ParsePollOptions(ctx, g, node, path, l.poll);
  l.poll.source = SourceKind::kJson;
  CheckTlsScheme(ctx, node, path, l.poll);
  return l;
}

// The template every discovered target of a file_sd / http_sd block gets.
ServiceConfig ParseTemplate(const Ctx& ctx, const GlobalConfig& g,
                            const YAML::Node& node, const std::string& path,
                            std::string& target_path, std::string& scheme) {
  ServiceConfig t;
  t.line = node.Mark().line + 1;
  if (auto n = node["type"])
    t.type = GetLabelValue(ctx, n, Child(path, "type"));
  if (auto n = node["path"]) {
    target_path = GetNonEmptyString(ctx, n, Child(path, "path"));
    if (target_path[0] != '/')
      Fail(ctx, n, Child(path, "path"), "must start with /");
  }
  if (auto n = node["scheme"]) {
    scheme = GetString(ctx, n, Child(path, "scheme"));
    if (scheme != "http" && scheme != "https") {
      Fail(ctx, n, Child(path, "scheme"), "must be http or https");
    }
  }
  ParseSourceOptions(ctx, node, path, t);
  ParsePollOptions(ctx, g, node, path, t);
  return t;
}

FileSdConfig ParseFileSd(const Ctx& ctx, const GlobalConfig& g,
                         const YAML::Node& node, const std::string& path) {
  CheckKeys(ctx, node, path,
            Keys({{"files", "refresh_interval", "type", "path", "scheme"},
                  kServiceKeys,
                  kPollKeys}));
  FileSdConfig f;
  if (!node["files"]) Fail(ctx, node, Child(path, "files"), "is required");
  for (auto& file : GetStringList(ctx, node["files"], Child(path, "files"))) {
    std::filesystem::path p(file);
    if (p.is_relative()) p = ctx.base_dir / p;
    f.files.push_back(p.string());
  }
  if (f.files.empty())
    Fail(ctx, node["files"], Child(path, "files"), "must not be empty");
  if (auto n = node["refresh_interval"]) {
    f.refresh_interval = GetDuration(ctx, n, Child(path, "refresh_interval"));
  }
  f.service = ParseTemplate(ctx, g, node, path, f.path, f.scheme);
  return f;
}

HttpSdConfig ParseHttpSd(const Ctx& ctx, const GlobalConfig& g,
                         const YAML::Node& node, const std::string& path) {
  CheckKeys(ctx, node, path,
            Keys({{"url", "refresh_interval", "type", "path", "scheme"},
                  kServiceKeys,
                  kPollKeys}));
  HttpSdConfig h;
  if (!node["url"]) Fail(ctx, node, Child(path, "url"), "is required");
  h.url = GetUrl(ctx, node["url"], Child(path, "url"));
  if (auto n = node["refresh_interval"]) {
    h.refresh_interval = GetDuration(ctx, n, Child(path, "refresh_interval"));
  }
  h.service = ParseTemplate(ctx, g, node, path, h.path, h.scheme);
  return h;
}

template <class T, class F>
std::vector<T> ParseSequence(const Ctx& ctx, const YAML::Node& root,
                             const char* key, F parse) {
  std::vector<T> out;
  const YAML::Node node = root[key];
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) Fail(ctx, node, key, "must be a list");
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(
        parse(node[i], std::string(key) + "[" + std::to_string(i) + "]"));
  }
  return out;
}

Config Parse(const Ctx& ctx, const YAML::Node& root) {
  Config config;
  config.file = ctx.file;
  if (root.IsNull() || !root.IsDefined()) return config;
  CheckKeys(ctx, root, "",
            {"global", "services", "lists", "file_sd", "http_sd"});
  config.global = ParseGlobal(ctx, root["global"]);
  const GlobalConfig& g = config.global;
  config.services = ParseSequence<ServiceConfig>(
      ctx, root, "services", [&](const YAML::Node& n, const std::string& p) {
        return ParseService(ctx, g, n, p);
      });
  config.lists = ParseSequence<ListConfig>(
      ctx, root, "lists", [&](const YAML::Node& n, const std::string& p) {
        return ParseList(ctx, g, n, p);
      });
  config.file_sd = ParseSequence<FileSdConfig>(
      ctx, root, "file_sd", [&](const YAML::Node& n, const std::string& p) {
        return ParseFileSd(ctx, g, n, p);
      });
  config.http_sd = ParseSequence<HttpSdConfig>(
      ctx, root, "http_sd", [&](const YAML::Node& n, const std::string& p) {
        return ParseHttpSd(ctx, g, n, p);
      });
  // Names are unique among services, and among lists (a list's name is
  // the service_name of its own poll series).
  std::map<std::string, int> names;
  for (std::size_t i = 0; i < config.services.size(); ++i) {
    const auto& s = config.services[i];
    auto [it, fresh] = names.emplace(s.name, s.line);
    if (!fresh) {
      std::string path = "services[" + std::to_string(i) + "]";
      Fail(ctx, root["services"][i]["name"], Child(path, "name"),
           "duplicate service name \"" + s.name + "\" (first at line " +
               std::to_string(it->second) + ")");
    }
  }
  std::map<std::string, int> list_names;
  for (std::size_t i = 0; i < config.lists.size(); ++i) {
    const auto& l = config.lists[i];
    auto [it, fresh] = list_names.emplace(l.name, l.poll.line);
    if (!fresh) {
      std::string path = "lists[" + std::to_string(i) + "]";
      Fail(ctx, root["lists"][i]["name"], Child(path, "name"),
           "duplicate list name \"" + l.name + "\" (first at line " +
               std::to_string(it->second) + ")");
    }
  }
  return config;
}

}  // namespace

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
    throw std::invalid_argument(
        "credentials in the URL are not allowed (use basic_auth)");
  }
  url.host = std::string(u.encoded_host_address());
  const std::string default_port = url.scheme == "https" ? "443" : "80";
  url.port = u.has_port() ? std::string(u.port()) : default_port;
  if (url.port.empty()) url.port = default_port;
  int port = 0;
  auto [end, ec] =
      std::from_chars(url.port.data(), url.port.data() + url.port.size(), port);
  if (ec != std::errc() || end != url.port.data() + url.port.size() ||
      port < 1 || port > 65535) {
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
  url.host_header =
      url.port == default_port ? std::string(u.encoded_host()) : host_text;
  if (u.host_type() == boost::urls::host_type::ipv6) {
    url.host_header = url.port == default_port
                          ? "[" + url.host + "]"
                          : "[" + url.host + "]:" + url.port;
  }
  return url;
}

bool IsValidJsonPointer(const std::string& pointer) {
  try {
    nlohmann::json::json_pointer p(pointer);
    (void)p;
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
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
    bool ok =
        std::isalpha(c) || c == '_' || c == ':' || (i > 0 && std::isdigit(c));
    if (!ok) return false;
  }
  return true;
}

Config ParseConfig(const std::string& yaml, const std::string& file,
                   const std::filesystem::path& base_dir) {
  Ctx ctx{file, base_dir};
  YAML::Node root = yaml::Load(yaml, file);
  return yaml::Guard(file, [&] { return Parse(ctx, root); });
}

Config LoadConfigFile(const std::string& path) {
  std::string text = yaml::ReadFileOrFail(path, "config file");
  std::filesystem::path base = std::filesystem::path(path).parent_path();
  if (base.empty()) base = ".";
  return ParseConfig(text, path, base);
}

}  // namespace sse
