#pragma once

// Helpers shared by the YAML file parsers (config.cc, web_config.cc): typed
// getters that reject what they cannot use with a ConfigError naming file,
// line and key path, e.g. `web.yml:3: tls_server_config.cert_fil: unknown
// key (allowed: ...)`.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sse/config/config.h"

namespace sse::yaml {

/// Context of one parse: the file name for messages and the directory that
/// relative file paths resolve against.
struct Ctx {
  std::string file;
  std::filesystem::path base_dir;
};

/// Throws ConfigError "file:line: path: message" (line of `node`).
[[noreturn]] void Fail(const Ctx& ctx, const YAML::Node& node,
                       const std::string& path, const std::string& message);

/// Parses YAML text; syntax errors become ConfigError "file:line: invalid
/// YAML: ...".
YAML::Node Load(const std::string& text, const std::string& file);

/// "a, b, c".
std::string Join(const std::vector<std::string>& items);

/// "path.key", or "key" at the top.
std::string Child(const std::string& path, const std::string& key);

/// Fails unless `node` is a mapping.
void RequireMap(const Ctx& ctx, const YAML::Node& node,
                const std::string& path);

/// Fails on keys not in `allowed` (a typo must not silently disable a
/// check) and on keys given twice; also fails unless `node` is a mapping.
void CheckKeys(const Ctx& ctx, const YAML::Node& node, const std::string& path,
               const std::vector<std::string>& allowed);

/// A scalar, as written.
std::string GetString(const Ctx& ctx, const YAML::Node& node,
                      const std::string& path);
/// A scalar that is not empty.
std::string GetNonEmptyString(const Ctx& ctx, const YAML::Node& node,
                              const std::string& path);
/// Exactly `true` or `false`.
bool GetBool(const Ctx& ctx, const YAML::Node& node, const std::string& path);
/// A decimal integer >= `min`.
int GetInt(const Ctx& ctx, const YAML::Node& node, const std::string& path,
           int min);
/// A Prometheus duration > 0.
Duration GetDuration(const Ctx& ctx, const YAML::Node& node,
                     const std::string& path);
/// A byte size > 0 (1MiB, 512KiB, 4MB, 65536).
std::uint64_t GetBytes(const Ctx& ctx, const YAML::Node& node,
                       const std::string& path);
/// A list of non-empty strings.
std::vector<std::string> GetStringList(const Ctx& ctx, const YAML::Node& node,
                                       const std::string& path);
/// A mapping of strings to strings.
std::map<std::string, std::string> GetStringMap(const Ctx& ctx,
                                                const YAML::Node& node,
                                                const std::string& path);

/// A non-empty path of a readable regular file of at most
/// kMaxConfigFileBytes, resolved against ctx.base_dir when relative; returns
/// the resolved path. Never blocks on a FIFO or device.
std::string GetReadableFile(const Ctx& ctx, const YAML::Node& node,
                            const std::string& path);

/// Checks a secret file and reads it: `file` is resolved against
/// ctx.base_dir in place. A missing file is not an error (the HTTP client
/// reads credentials again on every request and reports it there, as
/// Prometheus does); one that is not a regular file, cannot be read or is
/// larger than kMaxSecretBytes fails. The message names the file, never
/// content.
Secret ReadSecretFile(const Ctx& ctx, const YAML::Node& node,
                      const std::string& path, std::string& file);

/// Reads a whole regular file of at most kMaxConfigFileBytes without ever
/// blocking. Throws ConfigError "path: cannot read <what>: <reason>".
std::string ReadFileOrFail(const std::string& path, const std::string& what);

/// Throws ConfigError "file:line: message" for a YAML::Exception.
[[noreturn]] void RethrowYaml(const std::string& file,
                              const YAML::Exception& e);

/// Runs `parse` and turns a YAML::Exception escaping it into a ConfigError
/// with file and line.
template <class F>
auto Guard(const std::string& file, F&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const YAML::Exception& e) {
    RethrowYaml(file, e);
  }
}

}  // namespace sse::yaml
