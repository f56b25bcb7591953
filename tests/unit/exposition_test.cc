#include "sse/exposition.h"

#include <prometheus/text_serializer.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <sstream>

#include "sse/tracker.h"
#include "support/test_util.h"

namespace {

std::string Render(const sse::Metrics& metrics, sse::ExpositionFormat format) {
  std::string out;
  sse::WriteExposition(metrics.Collect(), format, out);
  return out;
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
                                {{"service_name", "svc"}, {"service_type", "t"}, {"state", hostile}}) == 1.0);
}

TEST_CASE("own writer matches prometheus-cpp's TextSerializer sample for sample", "[exposition]") {
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
  auto a = sse::test::ParseExposition(ours);
  auto b = sse::test::ParseExposition(theirs.str());
  REQUIRE(a.size() == b.size());
  for (const auto& s : b) {
    CAPTURE(s.name);
    auto v = sse::test::FindSample(a, s.name, s.labels);
    REQUIRE(v.has_value());
    if (std::isnan(s.value)) continue;
    REQUIRE(*v == Approx(s.value));
  }
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
  REQUIRE(text.find("# TYPE muster_service_state_transitions counter\n") != std::string::npos);
  REQUIRE(text.find("# UNIT service_state_exporter_poll_duration_seconds seconds\n") != std::string::npos);
  auto samples = sse::test::ParseExposition(text);
  REQUIRE(sse::test::FindSample(samples, "muster_service_state_transitions_total",
                                {{"service_name", "svc"}, {"service_type", "t"},
                                 {"from_state", "running"}, {"to_state", "failed"}}) == 1.0);
}

TEST_CASE("format negotiation follows the Accept header", "[exposition]") {
  using F = sse::ExpositionFormat;
  REQUIRE(sse::NegotiateFormat("") == F::kText004);
  REQUIRE(sse::NegotiateFormat("text/plain") == F::kText004);
  REQUIRE(sse::NegotiateFormat("*/*") == F::kText004);
  // What Prometheus 2.x sends.
  REQUIRE(sse::NegotiateFormat("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1") == F::kOpenMetrics100);
  REQUIRE(sse::NegotiateFormat("application/openmetrics-text") == F::kOpenMetrics100);
  REQUIRE(sse::NegotiateFormat("application/openmetrics-text;q=0") == F::kText004);
  REQUIRE(sse::NegotiateFormat("application/openmetrics-text;version=0.0.1") == F::kText004);
}
