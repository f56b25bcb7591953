// Micro benchmark of the /metrics path without the network: N tracked
// services with their poll series, then the time of Metrics::Collect(),
// WriteExposition() and Gzip(), each the median of --repeat runs.
//
//   sse_metrics_bench [--services=10000] [--repeat=7]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "sse/exposition.h"
#include "sse/handlers.h"
#include "sse/metrics.h"
#include "sse/tracker.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double MedianMs(int repeat, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = Clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

double RssMiB() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, rss = 0;
  f >> pages >> rss;
  return rss * 4096.0 / 1048576.0;
}

}  // namespace

int main(int argc, char** argv) {
  int services = 10000;
  int repeat = 7;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--services=", 0) == 0) services = std::stoi(arg.substr(11));
    if (arg.rfind("--repeat=", 0) == 0) repeat = std::stoi(arg.substr(9));
  }
  sse::Metrics metrics("muster");
  sse::Tracker tracker(metrics);
  const sse::TrackerOptions options;
  for (int i = 0; i < services; ++i) {
    const std::string name = "svc-" + std::to_string(i);
    tracker.Add(name, "service", options, 1.7e9);
    tracker.Observe(name, "running", 1.7e9 + 1);
    metrics.polls.Add({{"service_name", name}, {"outcome", "ok"}}).Increment(12345);
    metrics.last_poll.Add({{"service_name", name}}).Set(1.7e9 + 1.25);
    metrics.poll_duration.Observe(0.0004);
  }
  const double rss_setup = RssMiB();
  sse::WebRequest req;
  req.headers = {{"accept-encoding", "gzip"}};
  const double render = MedianMs(repeat, [&] { sse::RenderMetrics(metrics, req); });
  const double rss_render = RssMiB();
  std::vector<prometheus::MetricFamily> families;
  const double collect = MedianMs(repeat, [&] { families = metrics.Collect(); });
  std::string text;
  const double write = MedianMs(repeat, [&] {
    text.clear();
    sse::WriteExposition(families, sse::ExpositionFormat::kText004, text);
  });
  std::string gz;
  const double gzip = MedianMs(repeat, [&] { gz = sse::Gzip(text); });
  std::printf("services %d: Collect %.1f ms, WriteExposition %.1f ms (%zu bytes), Gzip %.1f ms "
              "(%zu bytes), RenderMetrics %.1f ms\n",
              services, collect, write, text.size(), gzip, gz.size(), render);
  std::printf("RSS: %.1f MiB after setup, %.1f MiB after RenderMetrics\n", rss_setup, rss_render);
  return 0;
}
