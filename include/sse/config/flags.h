#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sse/util/log.h"

namespace sse {

/// Command-line settings (Prometheus exporter conventions).
struct Flags {
  std::string config_file = "config/example.yaml";
  bool config_check = false;
  std::string listen_address = ":9810";
  std::string telemetry_path = "/metrics";
  std::string web_config_file;  ///< exporter-toolkit web config; empty: none
  bool enable_lifecycle = false;
  std::string state_file;
  /// How long a saved service that is no longer polled stays in the file.
  std::chrono::milliseconds state_retention{3600 * 1000};
  int shard_index = -1;  ///< -1: from the StatefulSet ordinal of the hostname
  int shard_count = 1;
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;
  /// Web server limits (tuning and tests; defaults in WebServerOptions).
  std::chrono::milliseconds web_read_timeout{30000};
  std::chrono::milliseconds web_write_timeout{60000};
  std::size_t web_max_connections = 512;
  bool version = false;
  bool help = false;
};

/// Parses argv (without argv[0]). Accepts `--name=value` and `--name value`;
/// booleans also as `--name` and `--no-name`. Throws std::invalid_argument
/// with a message naming the flag.
Flags ParseFlags(const std::vector<std::string>& args);

/// The --help text.
std::string HelpText();

}  // namespace sse
