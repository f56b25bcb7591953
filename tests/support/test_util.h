#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sse::test {

/// One sample of a parsed exposition.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// Parses Prometheus text format 0.0.4 (or OpenMetrics) into samples,
/// unescaping label values. Comment lines are skipped. Throws
/// std::runtime_error on a malformed line.
std::vector<Sample> ParseExposition(const std::string& text);

/// The value of the sample with exactly this name and these labels.
std::optional<double> FindSample(
    const std::vector<Sample>& samples, const std::string& name,
    const std::map<std::string, std::string>& labels);

/// Samples with this name whose labels include `labels`.
std::vector<Sample> FindSamples(
    const std::vector<Sample>& samples, const std::string& name,
    const std::map<std::string, std::string>& labels = {});

/// A response of HttpGet.
struct HttpReply {
  int status = 0;                              ///< 0 if the request failed
  std::map<std::string, std::string> headers;  ///< lower-cased names
  std::string body;
  std::string error;
};

/// A blocking HTTP/1.1 request to 127.0.0.1:port with a timeout.
HttpReply HttpRequest(
    std::uint16_t port, const std::string& method, const std::string& target,
    const std::map<std::string, std::string>& headers = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(5));
inline HttpReply HttpGet(
    std::uint16_t port, const std::string& target,
    const std::map<std::string, std::string>& headers = {}) {
  return HttpRequest(port, "GET", target, headers);
}

/// TLS settings of HttpsRequest: the server's certificate is verified.
struct ClientTls {
  std::string ca_file;    ///< CA that signed the server's certificate
  std::string cert_file;  ///< client certificate (optional)
  std::string key_file;   ///< its key
  std::string server_name = "localhost";  ///< SNI and the verified name
};

/// Like HttpRequest, over TLS to 127.0.0.1:port. A failed handshake is a
/// reply with status 0 and the error.
HttpReply HttpsRequest(
    std::uint16_t port, const ClientTls& tls, const std::string& method,
    const std::string& target,
    const std::map<std::string, std::string>& headers = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// A port that was free a moment ago on 127.0.0.1. Racy as a port to
/// listen on (another process may take it before the server binds it): use
/// it only for a port nobody listens on (a refused connection). The exporter
/// binds 127.0.0.1:0 instead and tells its port (WaitListeningPort).
std::uint16_t FreePort();

/// Polls `condition` every `every` (20 ms) until it holds or `timeout`
/// passes; true if it held.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout,
             std::chrono::milliseconds every = std::chrono::milliseconds(20));

/// A started child process, stopped by PID (SIGTERM, then SIGKILL after a
/// grace period) when destroyed.
class Process {
 public:
  /// Starts argv[0] with stdout and stderr appended to `log_file`, with
  /// `env` added to the environment. Throws std::runtime_error if it cannot
  /// be started.
  Process(const std::vector<std::string>& argv, const std::string& log_file,
          const std::map<std::string, std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  /// Sends a signal.
  void Signal(int signo);
  /// Waits up to `timeout` for the process to exit; returns its exit code,
  /// or nullopt if still running (128+signal if killed by a signal).
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  /// SIGTERM, wait, SIGKILL if needed. Returns the exit code.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  bool running() const { return !exited_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = 0;
  std::string log_file_;
};

/// The port in the exporter's start-up line `msg=listening ... port=N`
/// (logfmt) or `{"msg":"listening",...,"port":"N"}` (JSON) of `log`;
/// nullopt if there is none (yet).
std::optional<std::uint16_t> ListeningPort(const std::string& log);

/// Waits up to `timeout` for an exporter started with
/// --web.listen-address=127.0.0.1:0 to log the port it bound (at info
/// level); 0 if it did not, or exited first.
std::uint16_t WaitListeningPort(
    Process& exporter,
    std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// A blocking TCP connection to 127.0.0.1:port for tests that speak (broken)
/// HTTP by hand. Every read is bounded by a timeout. Closed when destroyed.
class RawConnection {
 public:
  /// Connects at once; a `receive_buffer` > 0 shrinks SO_RCVBUF first (a
  /// client that reads slowly). Throws std::runtime_error if it cannot.
  explicit RawConnection(std::uint16_t port, int receive_buffer = 0);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  /// Writes all of `bytes`; false if the peer is gone.
  bool Send(const std::string& bytes);
  /// Reads until `text` has been seen `count` times in what arrived, the
  /// peer closes, or `timeout` passes. Returns everything read so far.
  std::string ReadUntil(const std::string& text, int count,
                        std::chrono::milliseconds timeout);
  /// Reads (and keeps) until the peer closes or `timeout` passes. True if
  /// the peer closed (EOF or reset).
  bool WaitClosed(std::chrono::milliseconds timeout);
  /// True if the peer has closed the connection (does not block).
  bool PeerClosed();
  /// Everything read so far.
  const std::string& received() const { return received_; }
  /// Closes with a TCP reset (SO_LINGER 0) instead of an orderly close.
  void Reset();

 private:
  // One read with a timeout; false on EOF, reset or timeout (`closed` says
  // which).
  bool ReadSome(std::chrono::milliseconds timeout);
  int fd_ = -1;
  bool closed_ = false;
  std::string received_;
};

/// VmRSS of a process in bytes (from /proc/<pid>/status); 0 if unknown.
std::uint64_t ReadRssBytes(pid_t pid);
/// Number of open file descriptors of a process (from /proc/<pid>/fd).
int CountOpenFds(pid_t pid);

/// A fresh directory under the system temp dir, removed when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  /// Writes `content` to `name` inside the directory; returns its path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

/// Finds a program on PATH (or in /usr/sbin, /usr/bin); empty if absent.
std::string FindProgram(const std::string& name);

/// Runs a command to completion with a timeout; returns exit code and
/// captures stdout+stderr into `output`.
int RunCommand(const std::vector<std::string>& argv, std::string& output,
               std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace sse::test
