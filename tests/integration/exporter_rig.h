#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace sse::test {

/// Labels of a service's series: service_name and service_type.
inline std::map<std::string, std::string> Svc(
    const std::string& name, const std::string& type = "service") {
  return {{"service_name", name}, {"service_type", type}};
}

/// Labels of a transition counter: Svc plus from_state and to_state.
inline std::map<std::string, std::string> Pair(const std::string& name,
                                               const std::string& type,
                                               const std::string& from,
                                               const std::string& to) {
  auto labels = Svc(name, type);
  labels["from_state"] = from;
  labels["to_state"] = to;
  return labels;
}

/// How the rig's own requests reach the exporter: plain HTTP by default,
/// HTTPS when `tls` is set; `headers` (e.g. Authorization) go with every
/// request.
struct RigClient {
  std::optional<ClientTls> tls;
  std::map<std::string, std::string> headers;
};

/// The real exporter binary on 127.0.0.1:<a port it picks> with a config
/// written by the test; stopped by PID when the rig goes away. Its log needs
/// the info level (the start-up line tells the port).
class ExporterRig {
 public:
  explicit ExporterRig(const std::string& config_yaml,
                       std::vector<std::string> extra_flags = {},
                       const std::map<std::string, std::string>& env = {})
      : ExporterRig(config_yaml, RigClient{}, std::move(extra_flags), env) {}

  ExporterRig(const std::string& config_yaml, RigClient client,
              std::vector<std::string> extra_flags,
              const std::map<std::string, std::string>& env = {})
      : client_(std::move(client)) {
    config_path_ = dir_.Write("config.yaml", config_yaml);
    // Port 0: the exporter binds a port nobody holds and logs it; no race
    // with other processes for a port picked beforehand.
    std::vector<std::string> argv = {
        SSE_BINARY, "--config.file=" + config_path_,
        "--web.listen-address=127.0.0.1:0", "--log.level=debug"};
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    process_ = std::make_unique<Process>(
        argv, (dir_.path() / "exporter.log").string(), env);
    port_ = WaitListeningPort(*process_, std::chrono::seconds(10));
    if (port_ == 0)
      FAIL("exporter logged no listening port: " << process_->log());
    bool up = WaitFor([&] { return Get("/-/healthy").status == 200; },
                      std::chrono::seconds(10));
    if (!up) FAIL("exporter did not start: " << process_->log());
  }

  /// A request with the rig's client settings; `headers` add to its own.
  HttpReply Request(const std::string& method, const std::string& target,
                    std::map<std::string, std::string> headers = {}) {
    headers.insert(client_.headers.begin(), client_.headers.end());
    if (client_.tls)
      return HttpsRequest(port_, *client_.tls, method, target, headers);
    return HttpRequest(port_, method, target, headers);
  }
  HttpReply Get(const std::string& target,
                std::map<std::string, std::string> headers = {}) {
    return Request("GET", target, std::move(headers));
  }

  std::uint16_t port() const { return port_; }
  std::string log() const { return process_->log(); }
  Process& process() { return *process_; }
  const TempDir& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  void RewriteConfig(const std::string& yaml) {
    dir_.Write("config.yaml", yaml);
  }

  std::string ScrapeText() {
    HttpReply reply = Get("/metrics");
    REQUIRE(reply.status == 200);
    return reply.body;
  }
  std::vector<Sample> Scrape() { return ParseExposition(ScrapeText()); }

  std::optional<double> Value(
      const std::string& name,
      const std::map<std::string, std::string>& labels) {
    return FindSample(Scrape(), name, labels);
  }

  /// Waits until the sample is at least `least` (a counter got there).
  bool WaitAtLeast(
      const std::string& name, const std::map<std::string, std::string>& labels,
      double least,
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return WaitFor([&] { return Value(name, labels).value_or(-1) >= least; },
                   timeout);
  }

  /// Waits until the sample has exactly `want`.
  bool WaitValue(const std::string& name,
                 const std::map<std::string, std::string>& labels, double want,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return WaitFor([&] { return Value(name, labels) == want; }, timeout);
  }

 private:
  RigClient client_;
  TempDir dir_;
  std::string config_path_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace sse::test
