#include "support/test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sse::test {
namespace {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

double ParseValue(const std::string& text) {
  if (text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  std::size_t used = 0;
  double v = std::stod(text, &used);
  if (used != text.size()) throw std::runtime_error("bad value " + text);
  return v;
}
}  // namespace

std::vector<Sample> ParseExposition(const std::string& text) {
  std::vector<Sample> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() ||
            line[eq + 1] != '"') {
          throw std::runtime_error("malformed labels: " + line);
        }
        std::string key = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        if (j >= line.size())
          throw std::runtime_error("unterminated value: " + line);
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size())
        throw std::runtime_error("unterminated labels: " + line);
      ++i;
    }
    if (i >= line.size() || line[i] != ' ')
      throw std::runtime_error("no value: " + line);
    std::string rest = line.substr(i + 1);
    std::size_t space = rest.find(' ');
    s.value = ParseValue(rest.substr(0, space));
    samples.push_back(std::move(s));
  }
  return samples;
}

std::optional<double> FindSample(
    const std::vector<Sample>& samples, const std::string& name,
    const std::map<std::string, std::string>& labels) {
  for (const auto& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

std::vector<Sample> FindSamples(
    const std::vector<Sample>& samples, const std::string& name,
    const std::map<std::string, std::string>& labels) {
  std::vector<Sample> out;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) out.push_back(s);
  }
  return out;
}

namespace {

// One request/response on a connected stream; the lowest layer's timeout
// applies to every step.
template <class Stream>
HttpReply Exchange(net::io_context& io, Stream& stream, std::uint16_t port,
                   const std::string& method, const std::string& target,
                   const std::map<std::string, std::string>& headers,
                   std::chrono::milliseconds timeout) {
  HttpReply reply;
  http::request<http::string_body> req{http::string_to_verb(method), target,
                                       11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [k, v] : headers) req.set(k, v);
  req.prepare_payload();
  // Run the async operations so that the stream's timeout applies.
  boost::system::error_code ec;
  beast::get_lowest_layer(stream).expires_after(timeout);
  http::async_write(stream, req,
                    [&](boost::system::error_code e, std::size_t) { ec = e; });
  io.restart();
  io.run();
  if (ec) throw boost::system::system_error(ec);
  io.restart();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(512 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  http::async_read(stream, buffer, parser,
                   [&](boost::system::error_code e, std::size_t) { ec = e; });
  io.run();
  if (ec) throw boost::system::system_error(ec);
  auto& res = parser.get();
  reply.status = res.result_int();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  reply.body = res.body();
  return reply;
}

}  // namespace

HttpReply HttpRequest(std::uint16_t port, const std::string& method,
                      const std::string& target,
                      const std::map<std::string, std::string>& headers,
                      std::chrono::milliseconds timeout) {
  try {
    net::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    return Exchange(io, stream, port, method, target, headers, timeout);
  } catch (const std::exception& e) {
    HttpReply reply;
    reply.error = e.what();
    return reply;
  }
}

HttpReply HttpsRequest(std::uint16_t port, const ClientTls& tls,
                       const std::string& method, const std::string& target,
                       const std::map<std::string, std::string>& headers,
                       std::chrono::milliseconds timeout) {
  try {
    net::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(tls.ca_file);
    if (!tls.cert_file.empty()) {
      ctx.use_certificate_chain_file(tls.cert_file);
      ctx.use_private_key_file(tls.key_file, ssl::context::pem);
    }
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), tls.server_name.c_str());
    SSL_set1_host(stream.native_handle(), tls.server_name.c_str());
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(timeout);
    lowest.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    boost::system::error_code ec;
    stream.async_handshake(ssl::stream_base::client,
                           [&](boost::system::error_code e) { ec = e; });
    io.run();
    if (ec) throw boost::system::system_error(ec);
    return Exchange(io, stream, port, method, target, headers, timeout);
  } catch (const std::exception& e) {
    HttpReply reply;
    reply.error = e.what();
    return reply;
  }
}

std::uint16_t FreePort() {
  net::io_context io;
  tcp::acceptor acceptor(io,
                         tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

std::optional<std::uint16_t> ListeningPort(const std::string& log) {
  static const std::regex kLogfmt(
      R"((?:^| )msg=listening (?:.* )?port=(\d+)(?: |$))");
  static const std::regex kJson(R"re("msg":"listening".*"port":"(\d+)")re");
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, kLogfmt) &&
        !std::regex_search(line, m, kJson))
      continue;
    if (m[1].length() > 5) return std::nullopt;
    const unsigned long port = std::stoul(m[1].str());
    if (port == 0 || port > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(port);
  }
  return std::nullopt;
}

std::uint16_t WaitListeningPort(Process& exporter,
                                std::chrono::milliseconds timeout) {
  std::optional<std::uint16_t> port;
  WaitFor(
      [&] {
        port = ListeningPort(exporter.log());
        return port.has_value() ||
               exporter.Wait(std::chrono::milliseconds(0)).has_value();
      },
      timeout);
  return port.value_or(0);
}

bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout,
             std::chrono::milliseconds every) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(every);
  }
  return condition();
}

Process::Process(const std::vector<std::string>& argv,
                 const std::string& log_file,
                 const std::map<std::string, std::string>& env)
    : log_file_(log_file) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    // Do not leak the test's sockets (fake services) into the child: it
    // would keep their ports open after the test closes them.
    if (close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 65536; ++fd) close(fd);
    }
    for (const auto& [name, value] : env)
      setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Process::~Process() {
  if (!exited_) Stop(std::chrono::seconds(5));
}

void Process::Signal(int signo) {
  if (!exited_) kill(pid_, signo);
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  if (exited_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      exit_code_ =
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int Process::Stop(std::chrono::milliseconds grace) {
  if (exited_) return exit_code_;
  kill(pid_, SIGTERM);
  if (auto code = Wait(grace)) return *code;
  kill(pid_, SIGKILL);
  return Wait(std::chrono::seconds(10)).value_or(-1);
}

std::string Process::log() const {
  std::ifstream in(log_file_);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

RawConnection::RawConnection(std::uint16_t port, int receive_buffer) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  if (receive_buffer > 0) {
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer,
               sizeof receive_buffer);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    fd_ = -1;
    throw std::runtime_error("connect to port " + std::to_string(port) +
                             " failed");
  }
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

bool RawConnection::Send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n =
        send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawConnection::ReadSome(std::chrono::milliseconds timeout) {
  if (closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  int ready = poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready <= 0) return false;
  char buf[65536];
  ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  received_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::string RawConnection::ReadUntil(const std::string& text, int count,
                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto seen = [&] {
    int found = 0;
    for (std::size_t pos = received_.find(text); pos != std::string::npos;
         pos = received_.find(text, pos + text.size())) {
      ++found;
    }
    return found >= count;
  };
  while (!seen() && !closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    ReadSome(left);
  }
  return received_;
}

bool RawConnection::WaitClosed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    ReadSome(left);
  }
  return closed_;
}

bool RawConnection::PeerClosed() {
  while (!closed_ && ReadSome(std::chrono::milliseconds(0))) {
  }
  return closed_;
}

void RawConnection::Reset() {
  linger l{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd_);
  fd_ = -1;
  closed_ = true;
}

std::uint64_t ReadRssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   1234 kB"
    }
  }
  return 0;
}

int CountOpenFds(pid_t pid) {
  std::error_code ec;
  int count = 0;
  for (auto it = std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  return count;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("sse-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name,
                           const std::string& content) const {
  auto p = path_ / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p.string();
}

std::string FindProgram(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/usr/bin:/sbin:/bin";
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    auto candidate = std::filesystem::path(dir) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

int RunCommand(const std::vector<std::string>& argv, std::string& output,
               std::chrono::milliseconds timeout) {
  TempDir dir;
  std::string log = (dir.path() / "out.log").string();
  Process p(argv, log);
  auto code = p.Wait(timeout);
  if (!code) code = p.Stop();
  output = p.log();
  return *code;
}

}  // namespace sse::test
