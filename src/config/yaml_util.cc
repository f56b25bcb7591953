#include "sse/config/yaml_util.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "sse/util/file_read.h"

namespace sse::yaml {

void Fail(const Ctx& ctx, const YAML::Node& node, const std::string& path,
          const std::string& message) {
  std::ostringstream out;
  out << ctx.file;
  if (node.IsDefined() && node.Mark().line >= 0) {
    out << ':' << node.Mark().line + 1;
  }
  out << ": " << path << ": " << message;
  throw ConfigError(out.str());
}

void RethrowYaml(const std::string& file, const YAML::Exception& e) {
  std::ostringstream out;
  out << file;
  if (e.mark.line >= 0) out << ':' << e.mark.line + 1;
  out << ": " << e.msg;
  throw ConfigError(out.str());
}

YAML::Node Load(const std::string& text, const std::string& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::ostringstream out;
    out << file;
    if (e.mark.line >= 0) out << ':' << e.mark.line + 1;
    out << ": invalid YAML: " << e.msg;
    throw ConfigError(out.str());
  }
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string Child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

void RequireMap(const Ctx& ctx, const YAML::Node& node,
                const std::string& path) {
  if (!node.IsMap()) Fail(ctx, node, path, "must be a mapping");
}

void CheckKeys(const Ctx& ctx, const YAML::Node& node, const std::string& path,
               const std::vector<std::string>& allowed) {
  RequireMap(ctx, node, path);
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar())
      Fail(ctx, it->first, path, "keys must be strings");
    std::string key = it->first.Scalar();
    std::string key_path = Child(path, key);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      Fail(ctx, it->first, key_path,
           "unknown key (allowed: " + Join(allowed) + ")");
    }
    if (!seen.insert(key).second) {
      Fail(ctx, it->first, key_path, "key given twice");
    }
  }
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
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
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
         "invalid byte size \"" + text +
             "\" (examples: 1MiB, 512KiB, 4MB, 65536)");
  }
  if (*value == 0) Fail(ctx, node, path, "must be greater than 0");
  return *value;
}

std::vector<std::string> GetStringList(const Ctx& ctx, const YAML::Node& node,
                                       const std::string& path) {
  if (!node.IsSequence()) Fail(ctx, node, path, "must be a list of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(
        GetNonEmptyString(ctx, node[i], path + "[" + std::to_string(i) + "]"));
  }
  return out;
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

std::string GetReadableFile(const Ctx& ctx, const YAML::Node& node,
                            const std::string& path) {
  std::filesystem::path p(GetNonEmptyString(ctx, node, path));
  if (p.is_relative()) p = ctx.base_dir / p;
  // Opened without blocking (a FIFO in its place must not hang a reload).
  FileRead read = ReadRegularFile(p.string(), kMaxConfigFileBytes);
  if (!read.ok()) {
    Fail(ctx, node, path,
         read.error == FileReadError::kNotRegular ||
                 read.error == FileReadError::kTooLarge
             ? read.message
             : "cannot read file \"" + p.string() + "\"");
  }
  return p.string();
}

Secret ReadSecretFile(const Ctx& ctx, const YAML::Node& node,
                      const std::string& path, std::string& file) {
  std::filesystem::path p(file);
  if (p.is_relative()) p = ctx.base_dir / p;
  file = p.string();
  FileRead read = ReadRegularFile(file, kMaxSecretBytes + 2);
  // Not there yet (a projected token before the kubelet wrote it): the
  // client reports it on every poll until it is.
  if (read.error == FileReadError::kMissing) return Secret();
  if (!read.ok()) {
    Fail(ctx, node, path,
         read.error == FileReadError::kTooLarge
             ? "file \"" + file + "\" is larger than " +
                   ByteSizeText(kMaxSecretBytes)
             : read.message);
  }
  std::string value = TrimTrailingNewlines(std::move(read.data));
  if (value.size() > kMaxSecretBytes) {
    Fail(ctx, node, path,
         "file \"" + file + "\" is larger than " +
             ByteSizeText(kMaxSecretBytes));
  }
  return Secret(std::move(value));
}

std::string ReadFileOrFail(const std::string& path, const std::string& what) {
  FileRead read = ReadRegularFile(path, kMaxConfigFileBytes);
  if (!read.ok())
    throw ConfigError(path + ": cannot read " + what + ": " + read.message);
  return std::move(read.data);
}

}  // namespace sse::yaml
