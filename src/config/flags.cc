#include "sse/config/flags.h"

#include <charconv>
#include <functional>
#include <map>
#include <stdexcept>

#include "sse/util/units.h"

namespace sse {
namespace {

struct FlagSpec {
  const char* name;
  const char* help;
  bool is_bool;
  std::function<void(Flags&, const std::string&)> set;
};

bool ParseBool(const std::string& name, const std::string& value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  throw std::invalid_argument("--" + name + ": expected true or false, got \"" +
                              value + "\"");
}

int ParseInt(const std::string& name, const std::string& value, int min) {
  int out = 0;
  std::size_t used = 0;
  try {
    out = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || out < min) {
    throw std::invalid_argument(
        "--" + name + ": expected an integer >= " + std::to_string(min) +
        ", got \"" + value + "\"");
  }
  return out;
}

std::chrono::milliseconds ParsePositiveDuration(const std::string& name,
                                                const std::string& value) {
  auto d = ParseDuration(value);
  if (!d || d->count() <= 0) {
    throw std::invalid_argument(
        "--" + name + ": expected a duration > 0 such as 30s, got \"" + value +
        "\"");
  }
  return *d;
}

std::size_t ParsePositiveCount(const std::string& name,
                               const std::string& value) {
  std::size_t n = 0;
  auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() ||
      end != value.data() + value.size() || n == 0) {
    throw std::invalid_argument(
        "--" + name + ": expected a positive integer, got \"" + value + "\"");
  }
  return n;
}

const std::vector<FlagSpec>& Specs() {
  static const std::vector<FlagSpec> specs = {
      {"config.file", "Configuration file (default: config/example.yaml).",
       false, [](Flags& f, const std::string& v) { f.config_file = v; }},
      {"config.check",
       "Validate the configuration file and exit (0 valid, 1 invalid).", true,
       [](Flags& f, const std::string& v) {
         f.config_check = ParseBool("config.check", v);
       }},
      {"web.listen-address", "Address to listen on (default: :9810).", false,
       [](Flags& f, const std::string& v) { f.listen_address = v; }},
      {"web.telemetry-path",
       "Path under which to expose metrics (default: /metrics).", false,
       [](Flags& f, const std::string& v) {
         if (v.empty() || v[0] != '/') {
           throw std::invalid_argument(
               "--web.telemetry-path: must start with /");
         }
         f.telemetry_path = v;
       }},
      {"web.config.file",
       "Web config file (exporter-toolkit format) enabling TLS and/or basic "
       "auth; re-read on reload.",
       false, [](Flags& f, const std::string& v) { f.web_config_file = v; }},
      {"web.enable-lifecycle", "Enable POST /-/reload.", true,
       [](Flags& f, const std::string& v) {
         f.enable_lifecycle = ParseBool("web.enable-lifecycle", v);
       }},
      {"web.read-timeout",
       "Time a client has to send a whole request, and to keep an idle "
       "connection open (default: 30s).",
       false,
       [](Flags& f, const std::string& v) {
         f.web_read_timeout = ParsePositiveDuration("web.read-timeout", v);
       }},
      {"web.write-timeout",
       "Time a client has to read a whole response (default: 60s).", false,
       [](Flags& f, const std::string& v) {
         f.web_write_timeout = ParsePositiveDuration("web.write-timeout", v);
       }},
      {"web.max-connections",
       "Open connections to the web server at most; beyond it the longest idle "
       "one "
       "is closed (default: 512).",
       false,
       [](Flags& f, const std::string& v) {
         f.web_max_connections = ParsePositiveCount("web.max-connections", v);
       }},
      {"storage.state-file", "File to persist service states and counters in.",
       false, [](Flags& f, const std::string& v) { f.state_file = v; }},
      {"storage.state-retention",
       "How long the state file keeps a service that is no longer polled "
       "(removed "
       "from the config, a list or discovery), so that it continues its "
       "counters "
       "if it comes back (default: 1h).",
       false,
       [](Flags& f, const std::string& v) {
         f.state_retention =
             ParsePositiveDuration("storage.state-retention", v);
       }},
      {"shard.count",
       "Number of shards (replicas) splitting the services (default 1).", false,
       [](Flags& f, const std::string& v) {
         f.shard_count = ParseInt("shard.count", v, 1);
       }},
      {"shard.index",
       "This replica's shard, 0..count-1 (default: the ordinal suffix of the "
       "hostname, as a StatefulSet pod has).",
       false,
       [](Flags& f, const std::string& v) {
         f.shard_index = ParseInt("shard.index", v, 0);
       }},
      {"log.level",
       "Only log messages with the given severity or above: debug, info, warn, "
       "error.",
       false,
       [](Flags& f, const std::string& v) {
         if (!ParseLogLevel(v, f.log_level)) {
           throw std::invalid_argument(
               "--log.level: expected debug, info, warn or error");
         }
       }},
      {"log.format", "Output format of log messages: logfmt, json.", false,
       [](Flags& f, const std::string& v) {
         if (!ParseLogFormat(v, f.log_format)) {
           throw std::invalid_argument("--log.format: expected logfmt or json");
         }
       }},
      {"version", "Show version information and exit.", true,
       [](Flags& f, const std::string& v) {
         f.version = ParseBool("version", v);
       }},
      {"help", "Show this help and exit.", true,
       [](Flags& f, const std::string& v) { f.help = ParseBool("help", v); }},
  };
  return specs;
}

const FlagSpec* Find(const std::string& name) {
  for (const auto& spec : Specs()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

}  // namespace

Flags ParseFlags(const std::vector<std::string>& args) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h") {
      flags.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      throw std::invalid_argument("unexpected argument \"" + arg + "\"");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = Find(name);
    if (spec == nullptr && name.rfind("no-", 0) == 0 && !value) {
      const FlagSpec* negated = Find(name.substr(3));
      if (negated != nullptr && negated->is_bool) {
        negated->set(flags, "false");
        continue;
      }
    }
    if (spec == nullptr) throw std::invalid_argument("unknown flag --" + name);
    if (!value) {
      if (spec->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        throw std::invalid_argument("--" + name + " needs a value");
      }
    }
    spec->set(flags, *value);
  }
  if (flags.shard_index >= flags.shard_count) {
    throw std::invalid_argument("--shard.index must be below --shard.count");
  }
  return flags;
}

std::string HelpText() {
  std::string out =
      "usage: service_state_exporter [<flags>]\n\n"
      "Polls services over HTTP for their lifecycle state and exports state\n"
      "transitions and up/down as Prometheus metrics.\n\nFlags:\n";
  for (const auto& spec : Specs()) {
    std::string left =
        std::string("  --") + spec.name + (spec.is_bool ? "" : "=VALUE");
    out += left;
    out += std::string(left.size() < 32 ? 32 - left.size() : 1, ' ');
    out += spec.help;
    out += '\n';
  }
  return out;
}

}  // namespace sse
