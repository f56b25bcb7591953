#include "sse/core/tracker.h"

#include <catch2/catch.hpp>
#include <optional>

namespace {

using Labels = std::map<std::string, std::string>;

// The value a scrape would show for one sample, by family name and labels.
std::optional<double> Value(const sse::Metrics& metrics,
                            const std::string& name, const Labels& labels) {
  const sse::SeriesFamily* family = metrics.Family(name);
  if (family == nullptr) return std::nullopt;
  const sse::Series* series = family->Find(labels);
  if (series == nullptr) return std::nullopt;
  return series->Value();
}

std::size_t SeriesCount(const sse::Metrics& metrics, const std::string& name) {
  const sse::SeriesFamily* family = metrics.Family(name);
  return family == nullptr ? 0 : family->size();
}

struct Fixture {
  sse::Metrics metrics{"muster"};
  sse::Tracker tracker{metrics};
  double now = 1000;

  explicit Fixture(sse::TrackerOptions options = {}) {
    tracker.Add("svc", "MCPServer", options, now);
  }
  sse::ObserveResult See(const std::string& state) {
    now += 1;
    return tracker.Observe("svc", state, now);
  }
  std::optional<double> Transitions(const std::string& from,
                                    const std::string& to) {
    return Value(metrics, "muster_service_state_transitions_total",
                 {{"service_name", "svc"},
                  {"service_type", "MCPServer"},
                  {"from_state", from},
                  {"to_state", to}});
  }
  double Up() {
    return *Value(metrics, "muster_service_up",
                  {{"service_name", "svc"}, {"service_type", "MCPServer"}});
  }
  double Changes() {
    return *Value(metrics, "muster_service_state_changes_total",
                  {{"service_name", "svc"}, {"service_type", "MCPServer"}});
  }
  std::optional<double> State(const std::string& state) {
    return Value(metrics, "muster_service_state",
                 {{"service_name", "svc"},
                  {"service_type", "MCPServer"},
                  {"state", state}});
  }
  double Entered() {
    return *Value(metrics, "muster_service_state_entered_timestamp_seconds",
                  {{"service_name", "svc"}, {"service_type", "MCPServer"}});
  }
};

const std::vector<std::string> kStates = {
    "running",       "connected", "starting", "failed", "unreachable",
    "auth_required", "stopped",   "error",    "unknown"};

bool IsUpState(const std::string& s) {
  return s == "running" || s == "connected";
}

}  // namespace

TEST_CASE("a new service is unknown, down, and has its change counter at 0",
          "[tracker]") {
  Fixture f;
  REQUIRE(f.Up() == 0);
  REQUIRE(f.State("unknown") == 1.0);
  REQUIRE(f.Changes() == 0);
  REQUIRE(f.Entered() == 1000);
  REQUIRE(SeriesCount(f.metrics, "muster_service_state_transitions_total") ==
          0);
}

TEST_CASE("the first observation replaces unknown without counting",
          "[tracker]") {
  Fixture f;
  auto r = f.See("running");
  REQUIRE(r.commit.has_value());
  REQUIRE_FALSE(r.commit->counted);
  REQUIRE(f.Up() == 1);
  REQUIRE(f.State("running") == 1.0);
  REQUIRE(f.State("unknown") == 0.0);
  REQUIRE(f.Changes() == 0);
  REQUIRE(f.Entered() == 1001);
  REQUIRE(SeriesCount(f.metrics, "muster_service_state_transitions_total") ==
          0);
}

TEST_CASE("an unknown first observation keeps the placeholder", "[tracker]") {
  Fixture f;
  REQUIRE_FALSE(f.See("unknown").commit.has_value());
  auto r = f.See("failed");
  REQUIRE(r.commit.has_value());
  REQUIRE_FALSE(r.commit->counted);
  REQUIRE(f.Changes() == 0);
}

TEST_CASE("every state pair counts exactly once with its reverse at 0",
          "[tracker]") {
  for (const auto& from : kStates) {
    for (const auto& to : kStates) {
      if (from == to || from == "unknown") continue;
      DYNAMIC_SECTION(from << " -> " << to) {
        Fixture f;
        f.See(from);
        auto r = f.See(to);
        REQUIRE(r.commit.has_value());
        REQUIRE(r.commit->counted);
        REQUIRE(r.commit->from == from);
        REQUIRE(r.commit->to == to);
        REQUIRE(f.Transitions(from, to) == 1.0);
        REQUIRE(f.Transitions(to, from) == 0.0);
        REQUIRE(f.Changes() == 1);
        REQUIRE(f.Up() == (IsUpState(to) ? 1 : 0));
        REQUIRE(f.State(to) == 1.0);
        REQUIRE(f.State(from) == 0.0);
        REQUIRE(f.Entered() == f.now);
        REQUIRE(SeriesCount(f.metrics,
                            "muster_service_state_transitions_total") == 2);
      }
    }
  }
}

TEST_CASE("repeated identical observations change nothing", "[tracker]") {
  Fixture f;
  f.See("running");
  double entered = f.Entered();
  for (int i = 0; i < 10; ++i)
    REQUIRE_FALSE(f.See("running").commit.has_value());
  REQUIRE(f.Changes() == 0);
  REQUIRE(f.Entered() == entered);
}

TEST_CASE("a flapping service counts every flip", "[tracker]") {
  Fixture f;
  f.See("running");
  for (int i = 0; i < 5; ++i) {
    f.See("failed");
    f.See("running");
  }
  REQUIRE(f.Transitions("running", "failed") == 5.0);
  REQUIRE(f.Transitions("failed", "running") == 5.0);
  REQUIRE(f.Changes() == 10);
}

TEST_CASE("hysteresis commits after N consecutive identical observations",
          "[tracker]") {
  struct Case {
    std::vector<std::string> observations;
    std::string committed;
    double changes;
  };
  // transition_after = 3; every case starts from a committed `running`.
  auto c = GENERATE(
      Case{{"failed", "failed"}, "running", 0},
      Case{{"failed", "failed", "failed"}, "failed", 1},
      // An observation equal to the committed state resets the streak.
      Case{{"failed", "failed", "running", "failed", "failed"}, "running", 0},
      // A different candidate restarts the streak.
      Case{{"failed", "failed", "stopped", "failed", "failed"}, "running", 0},
      Case{{"failed", "stopped", "stopped", "stopped"}, "stopped", 1},
      Case{{"failed", "failed", "failed", "running", "running", "running"},
           "running",
           2});
  sse::TrackerOptions options;
  options.transition_after = 3;
  Fixture f(options);
  REQUIRE_FALSE(f.See("running").commit->counted);  // first: immediate
  for (const auto& s : c.observations) f.See(s);
  REQUIRE(f.tracker.View("svc")->state == c.committed);
  REQUIRE(f.Changes() == c.changes);
}

TEST_CASE("hysteresis pending state is visible in the view", "[tracker]") {
  sse::TrackerOptions options;
  options.transition_after = 2;
  Fixture f(options);
  f.See("running");
  f.See("failed");
  auto v = f.tracker.View("svc");
  REQUIRE(v->state == "running");
  REQUIRE(v->candidate == "failed");
  REQUIRE(v->streak == 1);
}

TEST_CASE("the state cap maps extra states to other and reports once",
          "[tracker]") {
  sse::TrackerOptions options;
  options.max_states = 3;
  Fixture f(options);
  REQUIRE(f.See("a").state == "a");
  REQUIRE(f.See("b").state == "b");
  REQUIRE(f.See("c").state == "c");
  auto r = f.See("d");
  REQUIRE(r.state == "other");
  REQUIRE(r.cap_reached);
  auto r2 = f.See("e");
  REQUIRE(r2.state == "other");
  REQUIRE_FALSE(r2.cap_reached);  // warned once only
  // Known states still pass; unknown and other are not counted.
  REQUIRE(f.See("a").state == "a");
  REQUIRE(f.See("unknown").state == "unknown");
  REQUIRE(f.See("other").state == "other");
  REQUIRE(f.Transitions("c", "other") == 1.0);
  // Label cardinality stays bounded no matter how many raw states arrive.
  for (int i = 0; i < 100; ++i) f.See("random-" + std::to_string(i));
  REQUIRE(SeriesCount(f.metrics, "muster_service_state") ==
          5u);  // unknown a b c other
}

TEST_CASE("custom up states decide up", "[tracker]") {
  sse::TrackerOptions options;
  options.up_states = {"ok"};
  Fixture f(options);
  f.See("running");
  REQUIRE(f.Up() == 0);
  f.See("ok");
  REQUIRE(f.Up() == 1);
}

TEST_CASE("re-adding with the same type keeps state and counters",
          "[tracker]") {
  Fixture f;
  f.See("running");
  f.See("failed");
  sse::TrackerOptions options;
  options.up_states = {"failed"};
  f.tracker.Add("svc", "MCPServer", options, 5000);
  REQUIRE(f.Changes() == 1);
  REQUIRE(f.Up() == 1);  // new options apply at once
  REQUIRE(f.tracker.View("svc")->state == "failed");
}

TEST_CASE("re-adding with another type starts anew", "[tracker]") {
  Fixture f;
  f.See("running");
  f.See("failed");
  f.tracker.Add("svc", "Other", {}, 5000);
  REQUIRE(SeriesCount(f.metrics, "muster_service_state_transitions_total") ==
          0);
  REQUIRE(f.tracker.View("svc")->state == "unknown");
}

TEST_CASE("removing a service removes all its series", "[tracker]") {
  Fixture f;
  f.tracker.Add("keep", "x", {}, 1);
  f.See("running");
  f.See("failed");
  f.tracker.Remove("svc");
  REQUIRE_FALSE(f.tracker.Has("svc"));
  REQUIRE(SeriesCount(f.metrics, "muster_service_state_transitions_total") ==
          0);
  REQUIRE(SeriesCount(f.metrics, "muster_service_up") == 1);
  REQUIRE(SeriesCount(f.metrics, "muster_service_state") == 1);
  REQUIRE(SeriesCount(f.metrics, "muster_service_state_changes_total") == 1);
  REQUIRE(SeriesCount(f.metrics,
                      "muster_service_state_entered_timestamp_seconds") == 1);
  // Observations of a removed service are ignored.
  REQUIRE_FALSE(f.See("running").commit.has_value());
}

TEST_CASE("restored state counts a change that happened meanwhile once",
          "[tracker]") {
  sse::Metrics metrics("muster");
  sse::Tracker tracker(metrics);
  sse::PersistedService saved;
  saved.type = "MCPServer";
  saved.state = "running";
  saved.since = 500;
  saved.transitions[{"running", "failed"}] = 2;
  saved.transitions[{"failed", "running"}] = 2;
  tracker.Restore("svc", saved, {});
  auto v = tracker.View("svc");
  REQUIRE(v->state == "running");
  REQUIRE(v->up);
  REQUIRE(v->changes == 4);
  auto r = tracker.Observe("svc", "failed", 1000);
  REQUIRE(r.commit->counted);
  REQUIRE(tracker.View("svc")->transitions.at({"running", "failed"}) == 3);
  REQUIRE(tracker.View("svc")->changes == 5);
  auto p = tracker.Persist("svc");
  REQUIRE(p->state == "failed");
  REQUIRE(p->transitions.at({"running", "failed"}) == 3);
}

TEST_CASE("an unobserved service is not persisted", "[tracker]") {
  Fixture f;
  REQUIRE_FALSE(f.tracker.Persist("svc").has_value());
  f.See("running");
  REQUIRE(f.tracker.Persist("svc")->state == "running");
}

TEST_CASE("ViewAll is sorted by name", "[tracker]") {
  sse::Metrics metrics("muster");
  sse::Tracker tracker(metrics);
  tracker.Add("b", "t", {}, 0);
  tracker.Add("a", "t", {}, 0);
  tracker.Add("c", "t", {}, 0);
  auto all = tracker.ViewAll();
  REQUIRE(all.size() == 3);
  REQUIRE(all[0].name == "a");
  REQUIRE(all[2].name == "c");
}

TEST_CASE("the namespace only changes the prefix", "[tracker]") {
  sse::Metrics metrics("acme");
  sse::Tracker tracker(metrics);
  tracker.Add("svc", "t", {}, 0);
  tracker.Observe("svc", "running", 1);
  REQUIRE(Value(metrics, "acme_service_up",
                {{"service_name", "svc"}, {"service_type", "t"}}) == 1.0);
  REQUIRE(SeriesCount(metrics, "muster_service_up") == 0);
}
