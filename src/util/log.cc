#include "sse/util/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

namespace sse {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kLogfmt};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendLogfmtValue(std::string_view value, std::string& out) {
  bool quote = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20) {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out.append(value);
    return;
  }
  out += '"';
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                    now.time_since_epoch())
                    .count() %
                1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];  // room for any int the compiler can imagine in each field
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("sse", sink);
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

}  // namespace

bool ParseLogLevel(std::string_view text, LogLevel& out) {
  for (LogLevel level :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == LevelName(level)) {
      out = level;
      return true;
    }
  }
  return false;
}

bool ParseLogFormat(std::string_view text, LogFormat& out) {
  if (text == "logfmt") {
    out = LogFormat::kLogfmt;
  } else if (text == "json") {
    out = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

void InitLogging(LogLevel level, LogFormat format) {
  g_level = level;
  g_format = format;
  Logger();
}

bool LogEnabled(LogLevel level) { return level >= g_level.load(); }

std::string FormatLogLine(LogFormat format, LogLevel level,
                          std::string_view msg,
                          std::initializer_list<LogField> fields,
                          std::string_view timestamp) {
  std::string line;
  if (format == LogFormat::kJson) {
    nlohmann::ordered_json j;
    j["ts"] = timestamp;
    j["level"] = LevelName(level);
    j["msg"] = msg;
    for (const auto& [key, value] : fields) j[std::string(key)] = value;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  line += "ts=";
  line.append(timestamp);
  line += " level=";
  line += LevelName(level);
  line += " msg=";
  AppendLogfmtValue(msg, line);
  for (const auto& [key, value] : fields) {
    line += ' ';
    line.append(key);
    line += '=';
    AppendLogfmtValue(value, line);
  }
  return line;
}

void Log(LogLevel level, std::string_view msg,
         std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line =
      FormatLogLine(g_format.load(), level, msg, fields, Timestamp());
  Logger().log(spdlog::level::info, "{}", line);
}

bool LogEscaped(std::exception_ptr e, std::string_view msg, LogField field) {
  if (!e) return false;
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  if (field.first.empty()) {
    Log(LogLevel::kError, msg, {{"err", what}});
  } else {
    Log(LogLevel::kError, msg, {field, {"err", what}});
  }
  return true;
}

}  // namespace sse
