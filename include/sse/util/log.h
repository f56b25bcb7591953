#pragma once

#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sse {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };

/// Parses "debug", "info", "warn", "error". Returns false if unknown.
bool ParseLogLevel(std::string_view text, LogLevel& out);
/// Parses "logfmt", "json". Returns false if unknown.
bool ParseLogFormat(std::string_view text, LogFormat& out);

/// Sets up the process-wide logger writing to stderr. Call once, early.
void InitLogging(LogLevel level, LogFormat format);

/// One key=value pair of a log line.
using LogField = std::pair<std::string_view, std::string_view>;

/// True if lines of `level` are written.
bool LogEnabled(LogLevel level);

/// Writes one structured line: ts, level, msg and the fields, escaped for
/// the format (logfmt quotes values with spaces, quotes or `=`; JSON
/// escapes everything). Never pass a secret as a field. Thread-safe.
void Log(LogLevel level, std::string_view msg,
         std::initializer_list<LogField> fields = {});

/// Logs an exception that escaped a coroutine (the argument of a co_spawn
/// completion handler) at error level: `msg`, then `field` (if its key is
/// not empty) and `err`. Returns false, logging nothing, if `e` is null.
/// Thread-safe.
bool LogEscaped(std::exception_ptr e, std::string_view msg,
                LogField field = {});

/// Formats one line without writing it (for tests). Thread-safe.
std::string FormatLogLine(LogFormat format, LogLevel level,
                          std::string_view msg,
                          std::initializer_list<LogField> fields,
                          std::string_view timestamp);

}  // namespace sse
