// Micro benchmark of the /metrics path without the network: N tracked
// services with their poll series, then the time of Metrics::Render() (the
// per-service families written from their own storage), Gzip() and the whole
// RenderMetrics(), each the median of --repeat runs; and, as the peer in the
// same run, the same series in prometheus-cpp families (a registry filled
// from what Render wrote): Registry::Collect() plus WriteExposition(), the
// path /metrics took before.
//
//   sse_metrics_bench [--services=10000] [--repeat=7]

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "sse/core/exposition.h"
#include "sse/core/metrics.h"
#include "sse/core/tracker.h"
#include "sse/web/render.h"
#include "support/test_util.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double MedianMs(int repeat, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    auto t0 = Clock::now();
    f();
    ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
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

// Tracks `services` services in `metrics`, each observed once and polled.
std::unique_ptr<sse::Tracker> Populate(sse::Metrics& metrics, int services) {
  auto tracker = std::make_unique<sse::Tracker>(metrics);
  const sse::TrackerOptions options;
  for (int i = 0; i < services; ++i) {
    const std::string name = "svc-" + std::to_string(i);
    tracker->Add(name, "service", options, 1.7e9);
    tracker->Observe(name, "running", 1.7e9 + 1);
    metrics.polls.Add({{"service_name", name}, {"outcome", "ok"}})
        .Increment(12345);
    metrics.last_poll.Add({{"service_name", name}}).Set(1.7e9 + 1.25);
    metrics.poll_duration.Observe(0.0004);
  }
  return tracker;
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
  const double rss_start = RssMiB();
  sse::Metrics metrics("muster");
  auto tracker = Populate(metrics, services);
  const double rss_setup = RssMiB();
  sse::WebRequest req;
  req.headers = {{"accept-encoding", "gzip"}};
  const double render_total = MedianMs(repeat, [&] {
    sse::WebResponse res = sse::RenderMetrics(metrics, req);
    res.render(res);
    // The gzip step, which the server runs off the I/O thread.
    if (res.finish) res.finish(res);
  });
  const double rss_render = RssMiB();
  std::string text;
  const double render = MedianMs(repeat, [&] {
    text.clear();
    metrics.Render(sse::ExpositionFormat::kText004, text);
  });
  std::string gz;
  const double gzip = MedianMs(repeat, [&] { gz = sse::Gzip(text); });
  std::printf(
      "services %d: Render %.1f ms (%zu bytes), Gzip %.1f ms (%zu bytes), "
      "RenderMetrics %.1f ms\n",
      services, render, text.size(), gzip, gz.size(), render_total);
  std::printf("RSS: %.1f MiB for the series, %.1f MiB after RenderMetrics\n",
              rss_setup - rss_start, rss_render - rss_start);

  // The peer: the same per-service series kept by prometheus-cpp.
  prometheus::Registry peer;
  const auto samples = sse::test::ParseExposition(text);
  for (const sse::SeriesFamily* family : metrics.families()) {
    const bool counter = family->type() == prometheus::MetricType::Counter;
    auto* counters = counter ? &prometheus::BuildCounter()
                                    .Name(family->name())
                                    .Help(family->help())
                                    .Register(peer)
                             : nullptr;
    auto* gauges = counter ? nullptr
                           : &prometheus::BuildGauge()
                                  .Name(family->name())
                                  .Help(family->help())
                                  .Register(peer);
    for (const auto& s : sse::test::FindSamples(samples, family->name())) {
      if (counter) {
        counters->Add(s.labels).Increment(s.value);
      } else {
        gauges->Add(s.labels).Set(s.value);
      }
    }
  }
  std::vector<prometheus::MetricFamily> families;
  const double collect = MedianMs(repeat, [&] { families = peer.Collect(); });
  std::string old_text;
  const double write = MedianMs(repeat, [&] {
    old_text.clear();
    sse::WriteExposition(families, sse::ExpositionFormat::kText004, old_text);
  });
  std::printf(
      "prometheus-cpp: Collect %.1f ms + WriteExposition %.1f ms (%zu bytes) = "
      "%.1f ms; "
      "Render is %.1fx faster\n",
      collect, write, old_text.size(), collect + write,
      (collect + write) / render);
  return 0;
}
