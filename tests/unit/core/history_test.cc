// The bounded per-service history: the ring and its shared strings, and the
// tracker's use of it (commits, reloads, removal, fleet-wide events).
#include "sse/core/history.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sse/core/metrics.h"
#include "sse/core/tracker.h"

namespace {

sse::HistoryEvent Event(double time, std::string from, std::string to,
                        std::string error = "") {
  sse::HistoryEvent e;
  e.time = time;
  e.from = std::move(from);
  e.to = std::move(to);
  e.error = std::move(error);
  e.outcome = e.error.empty() ? sse::Outcome::kOk : sse::Outcome::kHttpError;
  return e;
}

std::vector<double> Times(const std::vector<sse::HistoryEvent>& events) {
  std::vector<double> out;
  for (const auto& e : events) out.push_back(e.time);
  return out;
}

}  // namespace

TEST_CASE("HistoryRing keeps the newest entries, oldest first", "[history]") {
  sse::SymbolTable symbols;
  sse::HistoryRing ring;
  for (int i = 1; i <= 10; ++i) {
    ring.Push(symbols,
              Event(i, "s" + std::to_string(i - 1), "s" + std::to_string(i)),
              4);
  }
  REQUIRE(ring.size() == 4);
  REQUIRE(Times(ring.All(symbols)) == std::vector<double>{7, 8, 9, 10});
  const auto all = ring.All(symbols);
  REQUIRE(all[0].from == "s6");
  REQUIRE(all[3].to == "s10");
  // Only the strings still referenced are held: s6..s10.
  REQUIRE(symbols.size() == 5);
  // Growing after a wrap keeps the order.
  ring.Push(symbols, Event(11, "s10", "s11"), 6);
  ring.Push(symbols, Event(12, "s11", "s12"), 6);
  REQUIRE(Times(ring.All(symbols)) == std::vector<double>{7, 8, 9, 10, 11, 12});
  ring.Push(symbols, Event(13, "s12", "s13"), 6);
  REQUIRE(Times(ring.All(symbols)) ==
          std::vector<double>{8, 9, 10, 11, 12, 13});
  // Shrinking keeps the newest.
  ring.Shrink(symbols, 2);
  REQUIRE(Times(ring.All(symbols)) == std::vector<double>{12, 13});
  REQUIRE(ring.HeapBytes() == 2 * 24);
  ring.Clear(symbols);
  REQUIRE(ring.empty());
  REQUIRE(symbols.size() == 0);
}

TEST_CASE("HistoryRing with capacity 0 keeps nothing", "[history]") {
  sse::SymbolTable symbols;
  sse::HistoryRing ring;
  ring.Push(symbols, Event(1, "a", "b", "boom"), 0);
  REQUIRE(ring.empty());
  REQUIRE(symbols.size() == 0);
  REQUIRE(ring.HeapBytes() == 0);
}

TEST_CASE("SymbolTable shares equal strings and frees the last one",
          "[history]") {
  sse::SymbolTable symbols;
  const auto a = symbols.Intern("connection refused");
  const auto b = symbols.Intern(std::string("connection ") + "refused");
  REQUIRE(a == b);
  REQUIRE(symbols.size() == 1);
  REQUIRE(symbols.Intern("") == 0);
  symbols.Release(a);
  REQUIRE(symbols.Text(b) == "connection refused");
  symbols.Release(b);
  REQUIRE(symbols.size() == 0);
  // Its slot is used again.
  REQUIRE(symbols.Intern("other") == a);
  REQUIRE(symbols.Text(a) == "other");
}

TEST_CASE("TruncateUtf8 cuts at a character boundary", "[history]") {
  REQUIRE(sse::TruncateUtf8("short", 10) == "short");
  const std::string cut = sse::TruncateUtf8("ab\xC3\xA9\xC3\xA9\xC3\xA9", 6);
  // 6 bytes: 3 for the ellipsis, so "ab" + one 2-byte 'é' would be 7.
  REQUIRE(cut == "ab\xE2\x80\xA6");
  REQUIRE(sse::TruncateUtf8(std::string(300, 'x'), 256).size() == 256);
}

namespace {

struct Fleet {
  sse::Metrics metrics{"muster"};
  sse::Tracker tracker{metrics};
};

}  // namespace

TEST_CASE("the tracker records each commit with the poll that made it",
          "[history][tracker]") {
  Fleet f;
  f.tracker.Add("svc", "MCPServer", {}, 100);
  f.tracker.Observe("svc", "running", 101);
  f.tracker.Observe("svc", "running", 102);  // no change: no entry
  f.tracker.Observe("svc", "unreachable", 103,
                    {sse::Outcome::kConnectError, "connection refused"});
  f.tracker.Observe("svc", "running", 104);
  const auto view = f.tracker.View("svc");
  REQUIRE(view);
  const auto& h = view->history;
  REQUIRE(h.size() == 3);
  REQUIRE(h[0] == sse::HistoryEvent{101, "unknown", "running",
                                    sse::Outcome::kOk, "", false});
  REQUIRE(h[1] == sse::HistoryEvent{103, "running", "unreachable",
                                    sse::Outcome::kConnectError,
                                    "connection refused", true});
  REQUIRE(h[2] == sse::HistoryEvent{104, "unreachable", "running",
                                    sse::Outcome::kOk, "", true});
  REQUIRE(view->history.front().time == 101);
  REQUIRE(view->up_states == std::vector<std::string>{"running", "connected"});
  // The persisted form carries it too.
  REQUIRE(f.tracker.Persist("svc")->history.Unpack() == h);
  // ViewAll does not copy histories.
  REQUIRE(f.tracker.ViewAll()[0].history.empty());
}

TEST_CASE("history: hysteresis commits once, with the committing poll",
          "[history][tracker]") {
  Fleet f;
  f.tracker.Add("svc", "t", sse::TrackerOptions{{"running"}, 2, 16}, 0);
  f.tracker.Observe("svc", "running", 1);
  f.tracker.Observe("svc", "failed", 2, {sse::Outcome::kHttpError, "first"});
  f.tracker.Observe("svc", "failed", 3, {sse::Outcome::kHttpError, "second"});
  const auto h = f.tracker.View("svc")->history;
  REQUIRE(h.size() == 2);
  REQUIRE(h[1].time == 3);
  REQUIRE(h[1].error == "second");
}

TEST_CASE("history survives a reload, goes with the service, obeys the size",
          "[history][tracker]") {
  Fleet f;
  f.tracker.SetHistorySize(3);
  f.tracker.Add("svc", "t", {}, 0);
  const char* states[] = {"running", "failed", "running", "failed", "running"};
  double t = 1;
  for (const char* s : states) f.tracker.Observe("svc", s, t++);
  REQUIRE(Times(f.tracker.View("svc")->history) ==
          std::vector<double>{3, 4, 5});
  // A reload that keeps the service (same type) keeps its history.
  f.tracker.Add("svc", "t", sse::TrackerOptions{{"running"}, 1, 16}, 10);
  REQUIRE(f.tracker.View("svc")->history.size() == 3);
  // A smaller size drops the oldest; 0 turns it off.
  f.tracker.SetHistorySize(1);
  REQUIRE(Times(f.tracker.View("svc")->history) == std::vector<double>{5});
  f.tracker.SetHistorySize(0);
  f.tracker.Observe("svc", "failed", 20);
  REQUIRE(f.tracker.View("svc")->history.empty());
  REQUIRE(f.tracker.HistoryBytes() == 0);
  // Another type starts anew; a removed service loses it.
  f.tracker.SetHistorySize(8);
  f.tracker.Observe("svc", "running", 21);
  REQUIRE(f.tracker.View("svc")->history.size() == 1);
  f.tracker.Add("svc", "other-type", {}, 30);
  REQUIRE(f.tracker.View("svc")->history.empty());
  f.tracker.Observe("svc", "running", 31);
  f.tracker.Remove("svc");
  f.tracker.Add("svc", "other-type", {}, 40);
  REQUIRE(f.tracker.View("svc")->history.empty());
}

TEST_CASE("Restore continues a saved history (newest kept)",
          "[history][tracker]") {
  Fleet f;
  f.tracker.SetHistorySize(2);
  sse::PersistedService saved;
  saved.type = "t";
  saved.state = "running";
  saved.since = 30;
  saved.history = sse::PackedHistory::Pack({Event(10, "unknown", "running"),
                                            Event(20, "running", "failed", "e"),
                                            Event(30, "failed", "running")});
  f.tracker.Restore("svc", saved, {});
  REQUIRE(Times(f.tracker.View("svc")->history) == std::vector<double>{20, 30});
  f.tracker.Observe("svc", "failed", 40);
  REQUIRE(Times(f.tracker.View("svc")->history) == std::vector<double>{30, 40});
}

TEST_CASE("Events merges the fleet's histories newest first",
          "[history][tracker]") {
  Fleet f;
  f.tracker.Add("a", "db", {}, 0);
  f.tracker.Add("b", "mcp", {}, 0);
  f.tracker.Add("c", "mcp", {}, 0);
  f.tracker.Observe("a", "running", 1);
  f.tracker.Observe("b", "running", 2);
  f.tracker.Observe("a", "failed", 3);
  f.tracker.Observe("c", "running", 3);  // same time as a: by name
  f.tracker.Observe("b", "failed", 5);
  auto names = [](const std::vector<sse::FleetEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events)
      out.push_back(e.service + "@" + std::to_string(int(e.event.time)));
    return out;
  };
  sse::EventQuery all;
  REQUIRE(names(f.tracker.Events(all)) ==
          std::vector<std::string>{"b@5", "a@3", "c@3", "b@2", "a@1"});
  sse::EventQuery limited;
  limited.limit = 2;
  REQUIRE(names(f.tracker.Events(limited)) ==
          std::vector<std::string>{"b@5", "a@3"});
  sse::EventQuery by_type;
  by_type.type = "mcp";
  REQUIRE(names(f.tracker.Events(by_type)) ==
          std::vector<std::string>{"b@5", "c@3", "b@2"});
  sse::EventQuery by_service;
  by_service.service = "a";
  REQUIRE(names(f.tracker.Events(by_service)) ==
          std::vector<std::string>{"a@3", "a@1"});
  sse::EventQuery since;
  since.since = 3;
  REQUIRE(names(f.tracker.Events(since)) ==
          std::vector<std::string>{"b@5", "a@3", "c@3"});
  sse::EventQuery nobody;
  nobody.service = "zz";
  REQUIRE(f.tracker.Events(nobody).empty());
  const auto first = f.tracker.Events(all)[0];
  REQUIRE(first.type == "mcp");
  REQUIRE(first.event.from == "running");
  REQUIRE(first.event.to == "failed");
}

TEST_CASE("PackedHistory keeps every field, long strings too", "[history]") {
  std::vector<sse::HistoryEvent> events = {
      Event(1.25, "unknown", "running"),
      Event(2.5, "running", std::string(300, 's'), std::string(200, 'e')),
      {3, "a", "b", sse::Outcome::kTooLarge, "", false}};
  const auto packed = sse::PackedHistory::Pack(events);
  REQUIRE(packed.Unpack() == events);
  REQUIRE(packed.size_bytes() < 600);
  REQUIRE(sse::PackedHistory::Pack({}).empty());
  REQUIRE(sse::PackedHistory().Unpack().empty());
}

TEST_CASE("a full history costs 24 bytes an entry", "[history][tracker]") {
  Fleet f;
  f.tracker.Add("svc", "t", {}, 0);
  for (int i = 0; i < 200; ++i)
    f.tracker.Observe("svc", i % 2 ? "running" : "failed", i + 1,
                      {sse::Outcome::kHttpError, "HTTP status 503"});
  REQUIRE(f.tracker.View("svc")->history.size() == 64);
  REQUIRE(f.tracker.HistoryBytes() == 64 * 24);
}
