// History and pages at fleet scale, without the network: N services whose
// histories are full (every service flapped more than history_size times),
// then
//  - memory: heap bytes per service that the histories hold (malloc's own
//    count before and after filling them), and what the state file's copy
//    adds when --storage.state-file is set;
//  - CPU of the exporter's own request handlers (the routes the web server
//    calls, on the calling thread): the landing page (page 1, filtered,
//    last page with the day range), one service's page, /api/v1/events;
//  - as the reference in the same run, the exporter's /metrics render of
//    the same fleet.
// Each CPU figure is the median of --repeat runs of thread CPU time.
//
//   sse_history_bench [--services=10000] [--history=64] [--repeat=15]

#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "sse/app/event_hub.h"
#include "sse/app/recorder.h"
#include "sse/app/routes.h"
#include "sse/app/state_keeper.h"
#include "sse/core/metrics.h"
#include "sse/core/tracker.h"
#include "sse/util/log.h"

namespace {

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

template <typename F>
double MedianCpuMs(int repeat, F&& f) {
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const double t0 = ThreadCpuMs();
    f();
    ms.push_back(ThreadCpuMs() - t0);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

std::size_t HeapInUse() {
  malloc_trim(0);
  return mallinfo2().uordblks;
}

long Flag(int argc, char** argv, const char* name, long fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0)
      return std::stol(argv[i] + prefix.size());
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long services = Flag(argc, argv, "services", 10000);
  const long history = Flag(argc, argv, "history", 64);
  const int repeat = static_cast<int>(Flag(argc, argv, "repeat", 15));

  sse::InitLogging(sse::LogLevel::kError, sse::LogFormat::kLogfmt);
  boost::asio::io_context io;
  boost::asio::thread_pool files(1);
  double now = 1.7e9;
  std::vector<std::string> names;
  for (long i = 0; i < services; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "svc-%05ld", i);
    names.emplace_back(name);
  }
  // A fleet whose services all flapped `rounds` times: running, then one of
  // three failures (with their errors), again and again; 1 in 20 ends down.
  struct Fleet {
    sse::Metrics metrics{"muster"};
    sse::Tracker tracker{metrics};
    sse::StateKeeper keeper;
    sse::PollRecorder recorder;
    Fleet(boost::asio::io_context& io, boost::asio::thread_pool& files,
          double& now)
        : keeper(io.get_executor(), files, "", std::chrono::hours(1),
                 [] { return 1.7e9; }),
          recorder(metrics, tracker, keeper, [&now] { return now; }) {}
  };
  const long rounds = history + 8;
  auto fill = [&](Fleet& f, long size) {
    f.tracker.SetHistorySize(static_cast<std::size_t>(size));
    for (long i = 0; i < services; ++i)
      f.recorder.Track(names[i], i % 3 ? "MCPServer" : "Database", {});
    const char* failures[][2] = {{"failed", "HTTP status 503"},
                                 {"unreachable", "connect: Connection refused"},
                                 {"starting", ""}};
    for (long r = 0; r < rounds; ++r) {
      now += 37;
      for (long i = 0; i < services; ++i) {
        const bool down = r % 2 == 1 || (r == rounds - 1 && i % 20 == 0);
        const auto* fail = failures[(i + r) % 3];
        f.recorder.Observe(
            names[i], "t", down ? fail[0] : "running",
            down && fail[1][0] ? sse::Outcome::kHttpError : sse::Outcome::kOk,
            down ? fail[1] : "", now + i * 1e-3, 0.001);
      }
    }
  };
  // The same fleet without history first: the difference is the history.
  std::size_t without = 0;
  {
    const std::size_t before = HeapInUse();
    Fleet plain(io, files, now);
    fill(plain, 0);
    without = HeapInUse() - before;
  }
  const std::size_t heap_before = HeapInUse();
  Fleet fleet(io, files, now);
  fill(fleet, history);
  const std::size_t heap_after = HeapInUse();
  sse::Tracker& tracker = fleet.tracker;
  // What the state file's keeper holds on top: one persisted copy each.
  std::map<std::string, sse::PersistedService> copies;
  for (const auto& name : names) copies.emplace(name, *tracker.Persist(name));
  const std::size_t heap_copies = HeapInUse();
  sse::EventHub hub(io.get_executor());

  sse::RouteSources sources;
  sources.metrics = &fleet.metrics;
  sources.recorder = &fleet.recorder;
  sources.events = &hub;
  sources.status = [] { return sse::ExporterStatus{}; };
  sources.now = [&] { return now + 60; };
  const sse::Router router = sse::MakeRoutes(std::move(sources));
  auto get = [&](const std::string& target) {
    sse::WebRequest req;
    req.method = "GET";
    req.target = target;
    const std::size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    sse::WebResponse r = router(req);
    if (r.render) r.render(r);
    if (r.status != 200) {
      std::fprintf(stderr, "%s: status %u\n", target.c_str(), r.status);
      std::exit(1);
    }
    return r.body.size();
  };

  std::printf(
      "history bench: %ld services, history_size %ld, full (%ld "
      "changes each), median of %d\n\n",
      services, history, rounds, repeat);
  const double with = double(heap_after - heap_before);
  std::printf(
      "memory (malloc's bytes in use, the fleet with history_size "
      "%ld minus the same fleet with 0)\n",
      history);
  std::printf("  fleet without history:  %8.0f bytes/service\n",
              double(without) / services);
  std::printf(
      "  histories:              %8.0f bytes/service (%.2f MiB; "
      "entries alone %zu B = %ld x 24)\n",
      (with - double(without)) / services, (with - double(without)) / 1048576.0,
      tracker.HistoryBytes() / static_cast<std::size_t>(services), history);
  std::printf(
      "  + state file's copy:    %8.0f bytes/service (only with "
      "--storage.state-file)\n\n",
      double(heap_copies - heap_after) / services);

  struct Case {
    const char* what;
    std::string target;
  };
  const std::vector<Case> cases = {
      {"landing page, page 1", "/"},
      {"landing page, ?state=failed", "/?state=failed"},
      {"landing page, ?name=svc-09 (substring)", "/?name=svc-09"},
      {"landing page, last page, range=1d", "/?page=100&range=1d"},
      {"service page", "/services/svc-00042"},
      {"/api/v1/services/{name}", "/api/v1/services/svc-00042"},
      {"/api/v1/events (100 newest)", "/api/v1/events"},
      {"/api/v1/events?type=Database&limit=1000",
       "/api/v1/events?type=Database&limit=1000"},
      {"/metrics (reference)", "/metrics"},
  };
  std::printf("%-44s %10s %10s %8s\n", "request", "CPU ms", "KiB",
              "÷ /metrics");
  double metrics_ms = 0;
  std::vector<std::pair<double, std::size_t>> results;
  for (const auto& c : cases) {
    std::size_t bytes = 0;
    const double ms = MedianCpuMs(repeat, [&] { bytes = get(c.target); });
    results.emplace_back(ms, bytes);
  }
  metrics_ms = results.back().first;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    std::printf("%-44s %10.2f %10.1f %8.3f\n", cases[i].what, results[i].first,
                results[i].second / 1024.0, results[i].first / metrics_ms);
  }
  const double page_ms = results[0].first;
  std::printf(
      "\ntarget: a landing page at %ld services in <= 20 ms of CPU: "
      "%.2f ms: %s\n",
      services, page_ms, page_ms <= 20 ? "met" : "NOT met");
  hub.Stop();
  files.join();
  return 0;
}
