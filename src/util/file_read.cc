#include "sse/util/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sse {
namespace {

FileRead Fail(FileReadError error, const std::string& path,
              const std::string& reason) {
  FileRead r;
  r.error = error;
  r.message = "file \"" + path + "\" " + reason;
  return r;
}

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string TrimTrailingNewlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return text;
}

std::string ByteSizeText(std::uint64_t bytes) {
  constexpr std::uint64_t kKiB = 1024, kMiB = kKiB * 1024;
  if (bytes >= kMiB && bytes % kMiB == 0)
    return std::to_string(bytes / kMiB) + " MiB";
  if (bytes >= kKiB && bytes % kKiB == 0)
    return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}

FileRead ReadRegularFile(const std::string& path, std::uint64_t max_bytes) {
  Fd file{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)};
  if (file.fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return Fail(FileReadError::kMissing, path, "does not exist");
    if (err == ENXIO)  // a FIFO without a writer, a socket
      return Fail(FileReadError::kNotRegular, path, "is not a regular file");
    return Fail(FileReadError::kIo, path,
                std::string("cannot be opened: ") + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) {
    return Fail(FileReadError::kIo, path,
                std::string("cannot be read: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return Fail(FileReadError::kNotRegular, path, "is not a regular file");
  const std::string too_large = "is larger than " + ByteSizeText(max_bytes);
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return Fail(FileReadError::kTooLarge, path, too_large);
  FileRead r;
  // The size is only a hint: read up to one byte past the limit.
  r.data.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == r.data.size()) {
      if (used > max_bytes)
        return Fail(FileReadError::kTooLarge, path, too_large);
      r.data.resize(std::min<std::uint64_t>(max_bytes + 1, used * 2 + 4096));
    }
    const ssize_t n =
        ::read(file.fd, r.data.data() + used, r.data.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(FileReadError::kIo, path,
                  std::string("cannot be read: ") + std::strerror(errno));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_bytes) return Fail(FileReadError::kTooLarge, path, too_large);
  r.data.resize(used);
  return r;
}

}  // namespace sse
