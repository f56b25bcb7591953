#include "sse/core/exposition.h"

#include <fcntl.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "sse/core/metrics.h"
#include "sse/core/series.h"
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

// One series as a test means it.
struct Triple {
  const sse::SeriesFamily* family;
  prometheus::Labels labels;
  double value;
};

// Puts each triple into its family: Add, then Increment (counter) or Set.
void Apply(const std::vector<Triple>& triples) {
  for (const auto& t : triples) {
    auto* family = const_cast<sse::SeriesFamily*>(t.family);
    sse::Series& series = family->Add(t.labels);
    if (family->type() == prometheus::MetricType::Counter) {
      series.Increment(t.value);
    } else {
      series.Set(t.value);
    }
  }
}

// The reference: prometheus-cpp's TextSerializer writing a Registry that
// the test builds from `triples` (family name, help, type, labels, value),
// followed by `more`.
std::string Reference(const std::vector<Triple>& triples,
                      std::vector<prometheus::MetricFamily> more = {}) {
  prometheus::Registry registry;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counters;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauges;
  for (const auto& t : triples) {
    const std::string& name = t.family->name();
    if (t.family->type() == prometheus::MetricType::Counter) {
      auto*& family = counters[name];
      if (family == nullptr) {
        family = &prometheus::BuildCounter()
                      .Name(name)
                      .Help(t.family->help())
                      .Register(registry);
      }
      family->Add(t.labels).Increment(t.value);
    } else {
      auto*& family = gauges[name];
      if (family == nullptr) {
        family = &prometheus::BuildGauge()
                      .Name(name)
                      .Help(t.family->help())
                      .Register(registry);
      }
      family->Add(t.labels).Set(t.value);
    }
  }
  auto families = registry.Collect();
  for (auto& family : more) families.push_back(std::move(family));
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

// The lines of each family of `names` in a text exposition (from its
// `# HELP` to the next family's), sorted: the sample order within a family
// is prometheus-cpp's hash order.
std::map<std::string, std::multiset<std::string>> FamilyBlocks(
    const std::string& text, const std::set<std::string>& names) {
  std::map<std::string, std::multiset<std::string>> blocks;
  std::string current;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
    }
    if (names.contains(current)) blocks[current].insert(line);
  }
  return blocks;
}

// Our per-service families and the reference's, byte for byte (each
// family's lines together under its own HELP and TYPE).
void RequireSameFamilyBlocks(sse::Metrics& metrics, const std::string& ours,
                             const std::string& theirs) {
  std::set<std::string> names;
  for (const sse::SeriesFamily* family : metrics.families()) {
    names.insert(family->name());
  }
  const auto a = FamilyBlocks(ours, names);
  const auto b = FamilyBlocks(theirs, names);
  REQUIRE(a.size() == b.size());
  for (const auto& [name, lines] : b) {
    CAPTURE(name);
    REQUIRE(a.contains(name));
    REQUIRE(a.at(name) == lines);
  }
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

namespace {

// Label values that try to leave their quotes, their line or their sample.
std::vector<std::string> HostileValues() {
  const std::vector<std::string> tricks = {
      "\\",
      "\"",
      "\n",
      "\\\"",
      "\\n",
      "\"}",
      "\"} 1\nfake{a=\"b",
      "\n# HELP fake x\n",
      "{",
      "}",
      "=",
      ",",
      " ",
      "\t",
      "\r",
      "#",
      "\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80",
      "\\\\\"\"\n\n",
      "'",
      "",
      "x\"} 1 # {a=\"b\"} 2",
      "\\x41",
      "} 1\n"};
  std::vector<std::string> values;
  for (std::size_t i = 0; i < 50; ++i) {
    values.push_back("svc-" + std::to_string(i) + tricks[i % tricks.size()] +
                     tricks[(i * 7 + 3) % tricks.size()]);
  }
  return values;
}

}  // namespace

TEST_CASE(
    "own writer matches prometheus-cpp's TextSerializer sample for sample",
    "[exposition]") {
  sse::Metrics metrics("muster");
  const auto hostile = HostileValues();
  // Every per-service family gets a series for each hostile value, and the
  // test keeps the same (family, labels, value) for the reference.
  std::vector<Triple> triples;
  for (sse::SeriesFamily* family : metrics.families()) {
    for (std::size_t i = 0; i < hostile.size(); ++i) {
      const prometheus::Labels labels = {
          {"service_name", hostile[i]},
          {"service_type", hostile[(i + 1) % hostile.size()]},
          {"state", i % 2 ? "running" : hostile[(i + 7) % hostile.size()]}};
      const double value = family->type() == prometheus::MetricType::Counter
                               ? static_cast<double>(i * 3)
                               : (i % 3 ? 1700000000.5 + static_cast<double>(i)
                                        : -0.25 * static_cast<double>(i + 1));
      triples.push_back({family, labels, value});
    }
  }
  Apply(triples);
  metrics.poll_duration.Observe(0.003);
  metrics.poll_duration.Observe(7);

  const std::string ours = Render(metrics, sse::ExpositionFormat::kText004);
  const std::string theirs = Reference(triples, metrics.Collect());
  RequireSameExposition(ours, theirs);
  RequireSameFamilyBlocks(metrics, ours, Reference(triples));

  // Not vacuous: every hostile value is in our output, as itself.
  const auto samples = sse::test::ParseExposition(ours);
  REQUIRE(sse::test::FindSamples(samples, "fake").empty());
  std::size_t per_service = 0;
  for (const sse::SeriesFamily* family : metrics.families()) {
    per_service += sse::test::FindSamples(samples, family->name()).size();
  }
  REQUIRE(metrics.families().size() == 7);
  REQUIRE(per_service == triples.size());
  for (const auto& value : hostile) {
    CAPTURE(value);
    REQUIRE(sse::test::FindSamples(samples, "muster_service_up",
                                   {{"service_name", value}})
                .size() == 1);
  }
}

// The per-service families keep their own storage (Add with references,
// Remove by swapping with the last series); after a long random run of
// updates they must hold exactly what a plain model of the same calls holds,
// written as prometheus-cpp's own serializer writes it.
TEST_CASE("direct per-service families equal prometheus-cpp's output",
          "[exposition]") {
  sse::Metrics metrics("muster");
  std::vector<sse::SeriesFamily*> families(metrics.families().begin(),
                                           metrics.families().end());
  const auto hostile = HostileValues();
  struct Kept {
    sse::Series* series = nullptr;
    int refs = 0;
    double value = 0;
  };
  // The model: per family, labels -> references and value.
  std::map<sse::SeriesFamily*, std::map<prometheus::Labels, Kept>> model;
  std::mt19937 rng(20240611);
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  const std::vector<std::string> outcomes = {"ok", "timeout", "http_error"};
  std::size_t removed_series = 0;
  for (int step = 0; step < 20000; ++step) {
    sse::SeriesFamily* family = families[pick(families.size())];
    const bool counter = family->type() == prometheus::MetricType::Counter;
    auto& kept = model[family];
    const prometheus::Labels labels = {
        {"service_name", hostile[pick(hostile.size())]},
        {"outcome", outcomes[pick(outcomes.size())]}};
    switch (pick(4)) {
      case 0:
      case 1: {  // Add (again): the same series while it lives
        sse::Series& series = family->Add(labels);
        Kept& k = kept[labels];
        if (k.refs > 0) REQUIRE(k.series == &series);
        k.series = &series;
        ++k.refs;
        const double delta = static_cast<double>(pick(5)) - 1;  // -1..3
        if (counter) {
          series.Increment(delta);  // a counter ignores -1
          if (delta >= 0) k.value += delta;
        } else if (pick(2) == 0) {
          series.Increment(delta);
          k.value += delta;
        } else {
          series.Set(1700000000 + delta / 4);
          k.value = 1700000000 + delta / 4;
        }
        break;
      }
      case 2: {  // Remove one reference (of one that exists, if any)
        if (kept.empty()) break;
        auto it = std::next(kept.begin(),
                            static_cast<std::ptrdiff_t>(pick(kept.size())));
        REQUIRE(family->Find(it->first) == it->second.series);
        family->Remove(it->second.series);
        if (--it->second.refs == 0) {
          REQUIRE(family->Find(it->first) == nullptr);
          kept.erase(it);
          ++removed_series;
        }
        break;
      }
      default: {  // Find, and Remove of what is not there changes nothing
        auto it = kept.find(labels);
        sse::Series* found = family->Find(labels);
        REQUIRE(found == (it == kept.end() ? nullptr : it->second.series));
        if (found != nullptr) break;
        family->Remove(found);
        // Nor does Remove of another family's series.
        for (auto& [other, other_kept] : model) {
          if (other == family || other_kept.empty()) continue;
          family->Remove(other_kept.begin()->second.series);
          break;
        }
        break;
      }
    }
  }
  std::vector<Triple> triples;
  std::size_t series = 0;
  for (const auto& [family, kept] : model) {
    REQUIRE(family->size() == kept.size());
    series += kept.size();
    for (const auto& [labels, k] : kept) {
      REQUIRE(k.series->Value() == k.value);
      triples.push_back({family, labels, k.value});
    }
  }
  // Not vacuous: many series, many of them gone and moved.
  REQUIRE(series > 500);
  REQUIRE(removed_series > 500);
  REQUIRE(model.size() == families.size());
  const std::string ours = Render(metrics, sse::ExpositionFormat::kText004);
  RequireSameExposition(ours, Reference(triples, metrics.Collect()));
  RequireSameFamilyBlocks(metrics, ours, Reference(triples));

  // Removing every reference leaves no per-service series.
  for (auto& [family, kept] : model) {
    for (auto& [labels, k] : kept) {
      for (int i = 0; i < k.refs; ++i) {
        family->Remove(k.series);
      }
      REQUIRE(family->Find(labels) == nullptr);
    }
    REQUIRE(family->size() == 0);
  }
  const std::string after = Render(metrics, sse::ExpositionFormat::kText004);
  REQUIRE(after.find("muster_service") == std::string::npos);
  REQUIRE(after.find("service_state_exporter_polls_total") ==
          std::string::npos);
}

// What the tracker does to the families (hostile names and states,
// removals, restores, the state cap): no injected sample, and no series
// left once every service is gone.
TEST_CASE("tracker churn with hostile names injects nothing, leaves nothing",
          "[exposition]") {
  sse::Metrics metrics("muster");
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
    tracker.Add(name_of(i), i % 3 ? "MCPServer" : "api",
                i % 4 ? sse::TrackerOptions{} : capped, now);
  }
  for (int round = 0; round < 12; ++round) {
    now += 1.25;
    for (int i = 0; i < 60; ++i) {
      tracker.Observe(name_of(i),
                      states[(i * 7 + round * (i % 5)) % states.size()], now);
    }
  }
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
  const std::string ours = Render(metrics, sse::ExpositionFormat::kText004);
  const auto samples = sse::test::ParseExposition(ours);
  REQUIRE(sse::test::FindSamples(samples, "fake").empty());
  REQUIRE(sse::test::FindSamples(samples, "muster_service_up").size() ==
          tracker.size());

  for (const auto& name : tracker.Names()) tracker.Remove(name);
  const std::string after = Render(metrics, sse::ExpositionFormat::kText004);
  REQUIRE(after.find("muster_service") == std::string::npos);
}

TEST_CASE("every per-service family is rendered once it has a series",
          "[exposition]") {
  sse::Metrics metrics("muster");
  // The members, by hand: each is in the list Render writes.
  const std::vector<const sse::SeriesFamily*> members = {
      &metrics.transitions, &metrics.up,    &metrics.state,    &metrics.entered,
      &metrics.changes,     &metrics.polls, &metrics.last_poll};
  for (const sse::SeriesFamily* member : members) {
    CAPTURE(member->name());
    REQUIRE(std::count(metrics.families().begin(), metrics.families().end(),
                       member) == 1);
    REQUIRE(metrics.Family(member->name()) == member);
  }
  REQUIRE(metrics.families().size() >= members.size());
  for (const auto format : {sse::ExpositionFormat::kText004,
                            sse::ExpositionFormat::kOpenMetrics100}) {
    CAPTURE(static_cast<int>(format));
    const std::string empty = Render(metrics, format);
    for (const sse::SeriesFamily* family : metrics.families()) {
      REQUIRE(empty.find(family->name()) == std::string::npos);
    }
  }
  double value = 1;
  for (sse::SeriesFamily* family : metrics.families()) {
    family->Add({{"service_name", "svc"}}).Set(value++);
  }
  for (const auto format : {sse::ExpositionFormat::kText004,
                            sse::ExpositionFormat::kOpenMetrics100}) {
    CAPTURE(static_cast<int>(format));
    const std::string text = Render(metrics, format);
    const auto samples = sse::test::ParseExposition(text);
    value = 1;
    for (const sse::SeriesFamily* family : metrics.families()) {
      CAPTURE(family->name());
      REQUIRE(sse::test::FindSample(samples, family->name(),
                                    {{"service_name", "svc"}}) == value++);
      const std::string header =
          "# TYPE " +
          std::string(sse::FamilyName(family->name(), family->type(), format)) +
          (family->type() == prometheus::MetricType::Counter ? " counter\n"
                                                             : " gauge\n");
      REQUIRE(text.find(header) != std::string::npos);
    }
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
  sse::SeriesFamilyList list;
  REQUIRE_THROWS_AS(sse::SeriesFamily(list, "polls_count", "h",
                                      prometheus::MetricType::Counter),
                    std::invalid_argument);
  REQUIRE_THROWS_AS(
      sse::SeriesFamily(list, "h", "h", prometheus::MetricType::Histogram),
      std::invalid_argument);
  REQUIRE(list.size() == 0);
  sse::SeriesFamily counters(list, "x_total", "h",
                             prometheus::MetricType::Counter);
  sse::SeriesFamily gauges(list, "x", "h", prometheus::MetricType::Gauge);
  REQUIRE(list.size() == 2);
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

TEST_CASE("shard_info is one series: the assignment last set",
          "[exposition][shard]") {
  sse::Metrics metrics("muster");
  auto info_lines = [&] {
    std::string text = Render(metrics, sse::ExpositionFormat::kText004);
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while ((pos = text.find("\nservice_state_exporter_shard_info{", pos)) !=
           std::string::npos) {
      ++pos;
      lines.push_back(text.substr(pos, text.find('\n', pos) - pos));
    }
    return lines;
  };
  REQUIRE(info_lines() ==
          std::vector<std::string>{"service_state_exporter_shard_info{"
                                   "shard_count=\"1\",shard_index=\"0\"} 1"});
  metrics.SetShard(2, 4);
  REQUIRE(info_lines() ==
          std::vector<std::string>{"service_state_exporter_shard_info{"
                                   "shard_count=\"4\",shard_index=\"2\"} 1"});
  metrics.shard_services_owned.Set(12);
  metrics.shard_services_seen.Set(50);
  const std::string text = Render(metrics, sse::ExpositionFormat::kText004);
  REQUIRE(text.find("\nservice_state_exporter_shard_services_owned 12\n") !=
          std::string::npos);
  REQUIRE(text.find("\nservice_state_exporter_shard_services_seen 50\n") !=
          std::string::npos);
}
