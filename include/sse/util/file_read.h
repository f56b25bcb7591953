#pragma once

#include <cstdint>
#include <string>

namespace sse {

/// Why ReadRegularFile failed.
enum class FileReadError {
  kNone,
  kMissing,     ///< no such file (or a dangling symlink)
  kNotRegular,  ///< a directory, FIFO, device or socket
  kTooLarge,    ///< larger than the limit
  kIo,          ///< cannot open or read it (permissions, I/O error)
};

/// What ReadRegularFile brings back.
struct FileRead {
  FileReadError error = FileReadError::kNone;
  std::string message;  ///< names the path and the reason; empty when ok
  std::string data;     ///< the whole file when ok
  bool ok() const { return error == FileReadError::kNone; }
};

/// Reads a whole regular file (a symlink to one is fine) of at most
/// `max_bytes`. Opens with O_NONBLOCK, so that a FIFO, a device or a socket
/// in its place never blocks, and checks the type on the open descriptor;
/// stops reading past the limit, so that a file that grows while read (or a
/// /proc-like file whose size lies) cannot exhaust memory. Never throws
/// (except std::bad_alloc for a limit larger than memory). Thread-safe.
FileRead ReadRegularFile(const std::string& path, std::uint64_t max_bytes);

/// `text` without its trailing CR and LF characters, as Prometheus reads
/// credentials files.
std::string TrimTrailingNewlines(std::string text);

/// "16 MiB", "64 KiB", "300 bytes": a limit for messages.
std::string ByteSizeText(std::uint64_t bytes);

}  // namespace sse
