#include "sse/core/exposition.h"

#include <fcntl.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "sse/core/tracker.h"
#include "sse/util/process_metrics.h"
#include "sse/web/render.h"
#include "support/test_util.h"

namespace {

std::string Render(const sse::Metrics& metrics, sse::ExpositionFormat format) {
  std::string out;
  metrics.Render(format, out);
  return out;
}

// The `# HELP` and `# TYPE` lines of a text exposition, for families that
// have at least one sample in `samples`.
std::set<std::string> HeaderLines(
    const std::string& text, const std::vector<sse::test::Sample>& samples) {
  std::set<std::string> names;
  for (const auto& s : samples) {
    for (std::string suffix : {"_bucket", "_sum", "_count", ""}) {
      if (s.name.size() > suffix.size() &&
          s.name.compare(s.name.size() - suffix.size(), suffix.size(),
                         suffix) == 0) {
        names.insert(s.name.substr(0, s.name.size() - suffix.size()));
      }
    }
  }
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) != 0) continue;
    std::istringstream words(line.substr(2));
    std::string kind, name;
    words >> kind >> name;
    if (names.contains(name)) out.insert(line);
  }
  return out;
}

// Samples but those of the process_* families, which are read anew for
// every exposition.
std::vector<sse::test::Sample> ParseWithoutProcess(const std::string& text) {
  auto samples = sse::test::ParseExposition(text);
  std::erase_if(samples,
                [](const auto& s) { return s.name.rfind("process_", 0) == 0; });
  return samples;
}

// Both expositions hold the same samples with the same values, and the same
// HELP and TYPE lines.
void RequireSameExposition(const std::string& ours, const std::string& theirs) {
  auto a = ParseWithoutProcess(ours);
  auto b = ParseWithoutProcess(theirs);
  REQUIRE(a.size() == b.size());
  for (const auto& s : b) {
    CAPTURE(s.name);
    auto v = sse::test::FindSample(a, s.name, s.labels);
    REQUIRE(v.has_value());
    if (std::isnan(s.value)) continue;
    REQUIRE(*v == Approx(s.value).epsilon(1e-15));
  }
  REQUIRE(HeaderLines(ours, a) == HeaderLines(theirs, b));
}

}  // namespace

TEST_CASE("values are formatted as Prometheus expects", "[exposition]") {
  auto fmt = [](double v) {
    std::string s;
    sse::AppendValue(v, s);
    return s;
  };
  REQUIRE(fmt(0) == "0");
  REQUIRE(fmt(1) == "1");
  REQUIRE(fmt(-3) == "-3");
  REQUIRE(fmt(0.25) == "0.25");
  REQUIRE(fmt(1795586062.5013435) == "1795586062.5013435");
  REQUIRE(fmt(INFINITY) == "+Inf");
  REQUIRE(fmt(-INFINITY) == "-Inf");
  REQUIRE(fmt(NAN) == "NaN");
  REQUIRE(fmt(1e20) == "1e+20");
}

TEST_CASE("a hostile state string cannot inject a line", "[exposition]") {
  sse::Metrics metrics("muster");
  sse::Tracker tracker(metrics);
  tracker.Add("svc", "t", {}, 0);
  const std::string hostile = "x\"} 1\nfake{a=\"b";
  tracker.Observe("svc", hostile, 1);
  std::string text = Render(metrics, sse::ExpositionFormat::kText004);
  auto samples = sse::test::ParseExposition(text);
  REQUIRE(sse::test::FindSamples(samples, "fake").empty());
  REQUIRE(sse::test::FindSample(samples, "muster_service_state",
                                {{"service_name", "svc"},
                                 {"service_type", "t"},
                                 {"state", hostile}}) == 1.0);
}

TEST_CASE(
    "own writer matches prometheus-cpp's TextSerializer sample for sample",
    "[exposition]") {
  sse::Metrics metrics("muster");
  sse::Tracker tracker(metrics);
  for (int i = 0; i < 50; ++i) {
    std::string name = "svc-" + std::to_string(i) + "\\\"q\"";
    tracker.Add(name, "t", {}, 0);
    tracker.Observe(name, "running", 1);
    tracker.Observe(name, i % 2 ? "failed" : "running", 2);
  }
  metrics.poll_duration.Observe(0.003);
  metrics.poll_duration.Observe(7);
  auto families = metrics.Collect();
  std::string ours;
  sse::WriteExposition(families, sse::ExpositionFormat::kText004, ours);
  std::ostringstream theirs;
  prometheus::TextSerializer().Serialize(theirs, families);
  RequireSameExposition(ours, theirs.str());
}

// The per-service families are written from their own storage, not through
// prometheus-cpp; a mirror registry receives every same update, and
// prometheus-cpp's own serializer of it must give the same exposition.
TEST_CASE("direct per-service families equal prometheus-cpp's output",
          "[exposition]") {
  sse::Metrics metrics("muster", /*mirror=*/true);
  sse::Tracker tracker(metrics);
  sse::TrackerOptions capped;
  capped.max_states = 3;
  capped.transition_after = 2;
  const std::vector<std::string> states = {
      "running",     "failed",   "x\"} 1\nfake{a=\"b",
      "back\\slash", "starting", "unknown"};
  double now = 1700000000.5;
  // Every seventh name tries to break out of its label value.
  auto name_of = [](int i) {
    return "svc-" + std::to_string(i) + (i % 7 == 0 ? "\n\"}" : "");
  };
  for (int i = 0; i < 60; ++i) {
    const std::string name = name_of(i);
    tracker.Add(name, i % 3 ? "MCPServer" : "api",
                i % 4 ? sse::TrackerOptions{} : capped, now);
  }
  for (int round = 0; round < 12; ++round) {
    now += 1.25;
    for (int i = 0; i < 60; ++i) {
      const std::string name = name_of(i);
      tracker.Observe(name, states[(i * 7 + round * (i % 5)) % states.size()],
                      now);
      const prometheus::Labels labels{
          {"service_name", name}, {"outcome", round % 3 ? "ok" : "timeout"}};
      auto& polls = metrics.polls.Add(labels);
      // Add() with the same labels again is the same series; it stays until
      // its last reference is removed.
      REQUIRE(&metrics.polls.Add(labels) == &polls);
      polls.Increment();
      metrics.polls.Remove(&polls);
      if (round == 0) metrics.last_poll.Add({{"service_name", name}});
      metrics.last_poll.Find({{"service_name", name}})->Set(now);
    }
  }
  // Services that go away lose every series; one comes back as a new type.
  for (int i = 0; i < 60; i += 5) tracker.Remove(name_of(i));
  tracker.Add("svc-1", "other-type", {}, now);
  sse::PersistedService saved;
  saved.type = "api";
  saved.state = "failed";
  saved.since = 1600000000;
  saved.transitions[{"running", "failed"}] = 4;
  saved.transitions[{"failed", "running"}] = 3;
  tracker.Restore("restored", saved, {});
  tracker.Observe("restored", "running", now);

  REQUIRE(metrics.Family("muster_service_state")->size() > 150);
  REQUIRE(metrics.Family("muster_service_state_transitions_total")->size() >
          100);
  auto collected = metrics.mirror_registry()->Collect();
  for (auto& family : metrics.Collect()) collected.push_back(family);
  std::ostringstream theirs;
  prometheus::TextSerializer().Serialize(theirs, collected);
  const std::string ours = Render(metrics, sse::ExpositionFormat::kText004);
  RequireSameExposition(ours, theirs.str());
  REQUIRE(
      sse::test::FindSamples(sse::test::ParseExposition(ours), "fake").empty());

  // Removing every service leaves no per-service series, in both.
  for (const auto& name : tracker.Names()) tracker.Remove(name);
  for (int i = 0; i < 60; ++i) {
    const std::string name = name_of(i);
    for (const char* outcome : {"ok", "timeout"}) {
      for (int refs = 0; refs < 100; ++refs) {
        sse::Series* s =
            metrics.polls.Find({{"service_name", name}, {"outcome", outcome}});
        if (s == nullptr) break;
        metrics.polls.Remove(s);
      }
      REQUIRE(metrics.polls.Find(
                  {{"service_name", name}, {"outcome", outcome}}) == nullptr);
    }
    metrics.last_poll.Remove(metrics.last_poll.Find({{"service_name", name}}));
  }
  std::ostringstream empty;
  prometheus::TextSerializer().Serialize(empty,
                                         metrics.mirror_registry()->Collect());
  REQUIRE(sse::test::ParseExposition(empty.str()).empty());
  const std::string after = Render(metrics, sse::ExpositionFormat::kText004);
  REQUIRE(after.find("muster_service") == std::string::npos);
  REQUIRE(after.find("service_state_exporter_polls_total") ==
          std::string::npos);
}

TEST_CASE("OpenMetrics output: _total counters, units, EOF", "[exposition]") {
  sse::Metrics metrics("muster");
  sse::Tracker tracker(metrics);
  tracker.Add("svc", "t", {}, 0);
  tracker.Observe("svc", "running", 1);
  tracker.Observe("svc", "failed", 2);
  std::string text = Render(metrics, sse::ExpositionFormat::kOpenMetrics100);
  REQUIRE(text.size() > 6);
  REQUIRE(text.substr(text.size() - 6) == "# EOF\n");
  REQUIRE(text.find("# TYPE muster_service_state_transitions counter\n") !=
          std::string::npos);
  REQUIRE(
      text.find(
          "# UNIT service_state_exporter_poll_duration_seconds seconds\n") !=
      std::string::npos);
  auto samples = sse::test::ParseExposition(text);
  REQUIRE(sse::test::FindSample(samples,
                                "muster_service_state_transitions_total",
                                {{"service_name", "svc"},
                                 {"service_type", "t"},
                                 {"from_state", "running"},
                                 {"to_state", "failed"}}) == 1.0);
}

TEST_CASE("format negotiation follows the Accept header", "[exposition]") {
  using F = sse::ExpositionFormat;
  REQUIRE(sse::NegotiateFormat("") == F::kText004);
  REQUIRE(sse::NegotiateFormat("text/plain") == F::kText004);
  REQUIRE(sse::NegotiateFormat("*/*") == F::kText004);
  // What Prometheus 2.x sends.
  REQUIRE(sse::NegotiateFormat(
              "application/openmetrics-text;version=1.0.0,application/"
              "openmetrics-text;version=0.0.1;q=0.75,text/"
              "plain;version=0.0.4;q=0.5,*/*;q=0.1") == F::kOpenMetrics100);
  REQUIRE(sse::NegotiateFormat("application/openmetrics-text") ==
          F::kOpenMetrics100);
  REQUIRE(sse::NegotiateFormat("application/openmetrics-text;q=0") ==
          F::kText004);
  REQUIRE(sse::NegotiateFormat("application/openmetrics-text;version=0.0.1") ==
          F::kText004);
}

TEST_CASE("Gzip output inflates back to the input, compressible or not",
          "[exposition]") {
  auto gunzip = [](const std::string& gz) {
    z_stream zs{};
    REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
    std::string out(1 << 16, '\0');
    std::string result;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    zs.avail_in = static_cast<uInt>(gz.size());
    int rc = Z_OK;
    while (rc == Z_OK) {
      zs.next_out = reinterpret_cast<Bytef*>(out.data());
      zs.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&zs, Z_NO_FLUSH);
      result.append(out.data(), out.size() - zs.avail_out);
    }
    inflateEnd(&zs);
    REQUIRE(rc == Z_STREAM_END);
    return result;
  };
  std::string text;
  for (int i = 0; i < 100000; ++i)
    text +=
        "muster_service_up{service_name=\"svc-" + std::to_string(i) + "\"} 1\n";
  std::string noise(3 << 20, '\0');
  std::uint64_t x = 88172645463325252ULL;
  for (char& c : noise) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  for (const std::string& input :
       {std::string(), std::string("a"), text, noise}) {
    CAPTURE(input.size());
    const std::string gz = sse::Gzip(input);
    REQUIRE(gunzip(gz) == input);
    if (input.size() > 1000000)
      REQUIRE(gz.size() < input.size() + input.size() / 100 + 64);
  }
}

TEST_CASE("process_open_fds counts this process's descriptors",
          "[exposition]") {
  auto open_fds = [] {
    std::vector<prometheus::MetricFamily> families;
    sse::AppendProcessMetrics(families);
    for (const auto& family : families) {
      if (family.name == "process_open_fds")
        return family.metric.at(0).gauge.value;
    }
    return -1.0;
  };
  const double before = open_fds();
  // A listing holds one descriptor of its own while it runs.
  std::size_t listed = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd"))
    ++listed;
  REQUIRE(before == static_cast<double>(listed - 1));
  std::vector<int> fds;
  for (int i = 0; i < 40; ++i)
    fds.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
  REQUIRE(open_fds() == before + 40);
  for (int fd : fds) close(fd);
  REQUIRE(open_fds() == before);
}

TEST_CASE(
    "a SeriesFamily counts like prometheus-cpp and refuses what it cannot "
    "write",
    "[exposition]") {
  REQUIRE_THROWS_AS(
      sse::SeriesFamily("polls_count", "h", prometheus::MetricType::Counter),
      std::invalid_argument);
  REQUIRE_THROWS_AS(
      sse::SeriesFamily("h", "h", prometheus::MetricType::Histogram),
      std::invalid_argument);
  sse::SeriesFamily counters("x_total", "h", prometheus::MetricType::Counter);
  sse::SeriesFamily gauges("x", "h", prometheus::MetricType::Gauge);
  sse::Series& c = counters.Add({{"a", "1"}});
  sse::Series& g = gauges.Add({{"a", "1"}});
  c.Increment(2);
  c.Increment(-1);  // a counter never goes down
  g.Increment(2);
  g.Increment(-1.5);
  REQUIRE(c.Value() == 2);
  REQUIRE(g.Value() == 0.5);
  std::string om;
  counters.Write(sse::ExpositionFormat::kOpenMetrics100, om);
  REQUIRE(om == "# HELP x h\n# TYPE x counter\nx_total{a=\"1\"} 2\n");
}
