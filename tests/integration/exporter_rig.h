#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace sse::test {

/// The real exporter binary on 127.0.0.1:<free port> with a config written
/// by the test; stopped by PID when the rig goes away.
class ExporterRig {
 public:
  explicit ExporterRig(const std::string& config_yaml,
                       std::vector<std::string> extra_flags = {},
                       const std::map<std::string, std::string>& env = {}) {
    config_path_ = dir_.Write("config.yaml", config_yaml);
    port_ = FreePort();
    std::vector<std::string> argv = {SSE_BINARY, "--config.file=" + config_path_,
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--log.level=debug"};
    argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
    process_ = std::make_unique<Process>(argv, (dir_.path() / "exporter.log").string(), env);
    bool up = WaitFor([&] { return HttpGet(port_, "/-/healthy").status == 200; },
                      std::chrono::seconds(10));
    if (!up) FAIL("exporter did not start: " << process_->log());
  }

  std::uint16_t port() const { return port_; }
  std::string log() const { return process_->log(); }
  Process& process() { return *process_; }
  const TempDir& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  void RewriteConfig(const std::string& yaml) { dir_.Write("config.yaml", yaml); }

  std::string ScrapeText() {
    HttpReply reply = HttpGet(port_, "/metrics");
    REQUIRE(reply.status == 200);
    return reply.body;
  }
  std::vector<Sample> Scrape() { return ParseExposition(ScrapeText()); }

  std::optional<double> Value(const std::string& name,
                              const std::map<std::string, std::string>& labels) {
    return FindSample(Scrape(), name, labels);
  }

  /// Waits until the sample has exactly `want`.
  bool WaitValue(const std::string& name, const std::map<std::string, std::string>& labels,
                 double want, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return WaitFor([&] { return Value(name, labels) == want; }, timeout);
  }

 private:
  TempDir dir_;
  std::string config_path_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace sse::test
