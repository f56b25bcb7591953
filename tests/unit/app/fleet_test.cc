// The fleet's reconciliation, name claiming, list membership (absent_after)
// and state retention, driven without sockets: a poller factory that makes
// stand-in poll loops the test polls by hand, and a hand-moved clock.
#include "sse/app/fleet.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sse/app/recorder.h"
#include "sse/app/state_keeper.h"
#include "support/test_util.h"

using namespace std::chrono_literals;

namespace {

// A poll loop that polls only when the test says so.
struct HandLoop : sse::PollLoop {
  std::shared_ptr<const sse::ServiceConfig> config;
  sse::PollCallback callback;
  bool has_fetch = false;
  bool started = false;
  bool stopped = false;
  int rebinds = 0;

  void Start() override { started = true; }
  void Stop() override { stopped = true; }
  void Rebind(std::shared_ptr<const sse::ServiceConfig> s) override {
    config = std::move(s);
    ++rebinds;
  }
  const sse::ServiceConfig& service() const override { return *config; }

  void Answer(unsigned status, std::string body, double when) {
    sse::PollResult r;
    r.http.status = status;
    r.http.body = std::move(body);
    r.finished_at = when;
    r.duration_seconds = 0.01;
    callback(*config, r);
  }
  void Fail(sse::Outcome outcome, double when) {
    sse::PollResult r;
    r.http.outcome = outcome;
    r.http.error = "connection refused";
    r.finished_at = when;
    callback(*config, r);
  }
};

sse::ServiceConfig Service(const std::string& name,
                           const std::string& url = "http://127.0.0.1:1/") {
  sse::ServiceConfig s;
  s.name = name;
  s.type = "svc";
  s.url = sse::ParseUrl(url);
  s.interval = 1000ms;
  s.timeout = 500ms;
  s.up_states = {"running"};
  return s;
}

sse::ListConfig List(const std::string& name, int absent_after = 3) {
  sse::ListConfig l;
  l.name = name;
  l.absent_after = absent_after;
  l.poll = Service(name, "http://127.0.0.1:2/" + name);
  return l;
}

std::string Items(std::initializer_list<std::string> names,
                  const std::string& state = "running") {
  std::string body = R"({"services":[)";
  bool first = true;
  for (const auto& n : names) {
    if (!first) body += ",";
    first = false;
    body += R"({"name":")" + n + R"(","service_type":"mcp","state":")" + state +
            R"("})";
  }
  return body + "]}";
}

struct Rig {
  boost::asio::io_context io;
  boost::asio::thread_pool files{1};
  double now = 1'000'000;
  sse::Metrics metrics{"muster"};
  sse::Tracker tracker{metrics};
  // A state file that is never written: the I/O loop does not run.
  sse::test::TempDir state_dir;
  sse::StateKeeper keeper{io.get_executor(), files,
                          (state_dir.path() / "state.json").string(),
                          std::chrono::hours(1), [this] { return now; }};
  sse::PollRecorder recorder{metrics, tracker, keeper, [this] { return now; }};
  std::map<std::string, std::shared_ptr<HandLoop>> loops;  // newest by name
  std::vector<std::shared_ptr<HandLoop>> made;
  std::function<bool(const std::string&)> in_shard = [](const std::string&) {
    return true;
  };
  sse::Fleet fleet{io.get_executor(), recorder,
                   [this](std::shared_ptr<const sse::ServiceConfig> s,
                          sse::PollCallback cb, sse::PollFetch fetch) {
                     auto loop = std::make_shared<HandLoop>();
                     loop->config = std::move(s);
                     loop->callback = std::move(cb);
                     loop->has_fetch = static_cast<bool>(fetch);
                     loops[loop->config->name] = loop;
                     made.push_back(loop);
                     return loop;
                   },
                   [this](const std::string& n) { return in_shard(n); }};

  ~Rig() {
    fleet.Stop();
    files.join();
  }

  void Apply(std::vector<sse::ServiceConfig> services,
             std::vector<sse::ListConfig> lists = {}) {
    auto c = std::make_shared<sse::Config>();
    c->services = std::move(services);
    c->lists = std::move(lists);
    fleet.Apply(c, {});
  }
  std::string Metrics() const {
    std::string out;
    metrics.Render(sse::ExpositionFormat::kText004, out);
    return out;
  }
  std::string State(const std::string& name) const {
    auto view = tracker.View(name);
    return view ? view->state : "(untracked)";
  }
};

}  // namespace

TEST_CASE(
    "services are reconciled: unchanged poll on, changed restart, "
    "removed go with their series",
    "[fleet]") {
  Rig rig;
  rig.Apply({Service("a"), Service("b")});
  REQUIRE(rig.made.size() == 2);
  auto a = rig.loops.at("a");
  auto b = rig.loops.at("b");
  REQUIRE(a->started);
  REQUIRE_FALSE(a->has_fetch);
  a->Answer(200, "", rig.now);
  b->Answer(503, "", rig.now);
  CHECK(rig.State("a") == "running");
  CHECK(rig.State("b") == "error");
  CHECK(rig.fleet.Readiness() == std::pair<std::size_t, std::size_t>{2, 2});
  CHECK(
      rig.Metrics().find(
          R"(service_state_exporter_polls_total{outcome="ok",service_name="a"} 1)") !=
      std::string::npos);

  // a unchanged, b polls another URL, c is new.
  rig.Apply({Service("a"), Service("b", "http://127.0.0.1:3/"), Service("c")});
  CHECK(rig.loops.at("a") == a);
  CHECK(a->rebinds == 1);
  CHECK_FALSE(a->stopped);
  CHECK(b->stopped);
  CHECK(rig.loops.at("b") != b);
  CHECK(rig.State("b") == "error");  // kept: same service, polled anew
  CHECK(rig.loops.at("c")->started);
  CHECK(rig.fleet.Readiness() == std::pair<std::size_t, std::size_t>{2, 3});

  // b goes: its loop stops, its series and tracker entry go.
  auto b2 = rig.loops.at("b");
  rig.Apply({Service("a"), Service("c")});
  CHECK(b2->stopped);
  CHECK(rig.State("b") == "(untracked)");
  CHECK_FALSE(rig.fleet.Polls("b"));
  const std::string text = rig.Metrics();
  CHECK(text.find(R"(service_name="b")") == std::string::npos);
  CHECK(text.find(R"(service_name="a")") != std::string::npos);
  // A late answer of the stopped loop records nothing.
  b2->Answer(200, "", rig.now);
  CHECK(rig.State("b") == "(untracked)");
  CHECK(rig.Metrics().find(R"(service_name="b")") == std::string::npos);
}

TEST_CASE(
    "a service name is polled once: the config's first, then lists' "
    "names are reserved",
    "[fleet]") {
  Rig rig;
  rig.Apply({Service("dup"), Service("dup", "http://127.0.0.1:9/"),
             Service("inventory")},
            {List("inventory")});
  // One poller for dup (the first), none for the service named like the
  // list, one for the list.
  CHECK(rig.fleet.services() == 1);
  CHECK(rig.fleet.Polls("dup"));
  CHECK(rig.loops.at("dup")->config->url.text == "http://127.0.0.1:1/");
  CHECK(rig.fleet.lists() == 1);
  CHECK(rig.loops.at("inventory")->config->url.text ==
        "http://127.0.0.1:2/inventory");
}

TEST_CASE("list members: services and earlier lists win a name", "[fleet]") {
  Rig rig;
  rig.Apply({Service("svc")}, {List("first"), List("second")});
  auto first = rig.loops.at("first");
  auto second = rig.loops.at("second");

  // The second list reports a service's name, the first list's name and y.
  second->Answer(200, Items({"svc", "first", "y"}), rig.now);
  CHECK(rig.fleet.Members("second") == std::set<std::string>{"y"});
  CHECK(rig.State("y") == "running");

  // The first list reports y too: the earlier list takes it.
  first->Answer(200, Items({"y"}, "stopped"), rig.now);
  CHECK(rig.fleet.Members("first") == std::set<std::string>{"y"});
  CHECK(rig.fleet.Members("second").empty());
  CHECK(rig.State("y") == "stopped");
  // and keeps it when the later list reports it again.
  second->Answer(200, Items({"y"}), rig.now);
  CHECK(rig.fleet.Members("second").empty());
  CHECK(rig.State("y") == "stopped");

  // A reload that adds y as a service: the service takes it from the list.
  rig.Apply({Service("svc"), Service("y")}, {List("first"), List("second")});
  CHECK(rig.fleet.Polls("y"));
  CHECK(rig.fleet.Members("first").empty());
  first->Answer(200, Items({"y"}), rig.now);
  CHECK(rig.fleet.Members("first").empty());
  rig.loops.at("y")->Answer(200, "", rig.now);
  CHECK(rig.State("y") == "running");
}

TEST_CASE(
    "a list member goes after absent_after polls without it; a failed "
    "list poll removes nothing",
    "[fleet]") {
  Rig rig;
  rig.Apply({}, {List("inventory", 3)});
  auto list = rig.loops.at("inventory");
  list->Answer(200, Items({"a", "b"}), rig.now);
  CHECK(rig.fleet.Members("inventory") == std::set<std::string>{"a", "b"});

  // A transport failure: every member is unreachable, none removed, and
  // absent counts do not move.
  list->Fail(sse::Outcome::kConnectError, rig.now);
  CHECK(rig.State("a") == "unreachable");
  CHECK(rig.State("b") == "unreachable");
  // A bad answer: unknown.
  list->Answer(200, "not json", rig.now);
  CHECK(rig.State("a") == "unknown");
  CHECK(rig.fleet.Members("inventory").size() == 2);

  list->Answer(200, Items({"a"}), rig.now);
  list->Answer(200, Items({"a"}), rig.now);
  CHECK(rig.fleet.Members("inventory") == std::set<std::string>{"a", "b"});
  list->Answer(200, Items({"a"}), rig.now);
  CHECK(rig.fleet.Members("inventory") == std::set<std::string>{"a"});
  CHECK(rig.State("b") == "(untracked)");

  // Back before absent_after: the count starts again.
  list->Answer(200, Items({}), rig.now);
  list->Answer(200, Items({"a"}), rig.now);
  list->Answer(200, Items({}), rig.now);
  list->Answer(200, Items({}), rig.now);
  CHECK(rig.fleet.Members("inventory") == std::set<std::string>{"a"});
  list->Answer(200, Items({}), rig.now);
  CHECK(rig.fleet.Members("inventory").empty());
}

TEST_CASE("a removed list's members go; its name is free for a service",
          "[fleet]") {
  Rig rig;
  rig.Apply({}, {List("inventory")});
  rig.loops.at("inventory")->Answer(200, Items({"a"}), rig.now);
  CHECK(rig.Metrics().find(
            R"(polls_total{outcome="ok",service_name="inventory"} 1)") !=
        std::string::npos);
  rig.Apply({Service("inventory")});
  CHECK(rig.loops.at("inventory")->config->url.text == "http://127.0.0.1:1/");
  CHECK(rig.State("a") == "(untracked)");
  CHECK(rig.fleet.lists() == 0);
  // The list's poll series went; the service's come with its polls.
  CHECK(rig.Metrics().find(
            R"(polls_total{outcome="ok",service_name="inventory"})") ==
        std::string::npos);
  rig.loops.at("inventory")->Answer(200, "", rig.now);
  CHECK(rig.State("inventory") == "running");
}

TEST_CASE("only this shard's services and members are polled", "[fleet]") {
  Rig rig;
  rig.in_shard = [](const std::string& n) { return n.find("other") == 0; };
  rig.Apply({Service("mine"), Service("other-1")}, {List("other-list")});
  CHECK(rig.fleet.Polls("other-1"));
  CHECK_FALSE(rig.fleet.Polls("mine"));
  rig.loops.at("other-list")
      ->Answer(200, Items({"mine-2", "other-2"}), rig.now);
  CHECK(rig.fleet.Members("other-list") == std::set<std::string>{"other-2"});
}

TEST_CASE("a shard counts the services it owns and the services it sees",
          "[fleet][shard]") {
  Rig rig;
  rig.in_shard = [](const std::string& n) { return n.find("other") == 0; };
  rig.Apply({Service("mine"), Service("other-1"), Service("mine-3")},
            {List("other-list")});
  auto gauges = [&] {
    return std::pair{rig.metrics.shard_services_owned.Value(),
                     rig.metrics.shard_services_seen.Value()};
  };
  // Lists are polled by every shard, and count in neither.
  CHECK(rig.fleet.Shard().owned == 1);
  CHECK(rig.fleet.Shard().seen == 3);
  CHECK(gauges() == std::pair{1.0, 3.0});
  rig.loops.at("other-list")
      ->Answer(200, Items({"mine-2", "other-2", "other-3"}), rig.now);
  CHECK(gauges() == std::pair{3.0, 6.0});
  // A failed poll of the list keeps its members and its last good count.
  rig.loops.at("other-list")->Answer(503, "", rig.now);
  CHECK(gauges() == std::pair{3.0, 6.0});
  rig.loops.at("other-list")->Answer(200, Items({"other-2"}), rig.now);
  CHECK(gauges().second == 4.0);
  rig.Apply({Service("other-1")});  // the list is gone
  CHECK(gauges() == std::pair{1.0, 1.0});
}

TEST_CASE(
    "a service dropped for less than the retention continues its "
    "counters; after it, it starts anew",
    "[fleet][state]") {
  Rig rig;
  rig.Apply({Service("a")});
  auto poll = [&](unsigned status) {
    rig.now += 1;
    rig.loops.at("a")->Answer(status, "", rig.now);
  };
  poll(200);
  poll(503);
  poll(200);
  REQUIRE(rig.tracker.View("a")->changes == 2);
  REQUIRE(rig.keeper.persisted().contains("a"));

  rig.Apply({});
  rig.now += 1800;  // half the retention
  rig.keeper.Prune();
  rig.Apply({Service("a")});
  CHECK(rig.tracker.View("a")->changes == 2);
  CHECK(rig.tracker.View("a")->state == "running");

  rig.Apply({});
  rig.now += 3601;
  rig.keeper.Prune();
  CHECK_FALSE(rig.keeper.persisted().contains("a"));
  rig.Apply({Service("a")});
  CHECK(rig.tracker.View("a")->changes == 0);
  CHECK(rig.tracker.View("a")->state == "unknown");
}
