// Soak test: the real exporter polls a fake fleet at a high rate for a long
// time while a share of the fleet flaps. Afterwards the exporter's
// transition counters are compared with the fleet's own log of changes,
// and its RSS and open fds (sampled from /proc) must have stayed flat.
//
//   sse_soak --exporter=PATH [--duration=600s] [--services=10000]
//            [--interval=1s] [--flapping=0.25] [--flap-period=5s..15s]
//            [--warmup=60s] [--sample=5s] [--max-rss-growth=2]
//            [--log=fleet-changes.log]
//
// The fleet is one Beast server on 127.0.0.1 serving /svc/<i> as
// {"state": ...}; flapping services cycle running -> degraded -> failed ->
// running, each on its own period. Prints a summary table; exits 1 if a
// check fails.

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "sse/util/units.h"
#include "support/test_util.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

const char* const kCycle[] = {"running", "degraded", "failed"};

double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string exporter;
  std::chrono::milliseconds duration{600000};
  int services = 10000;
  std::chrono::milliseconds interval{1000};
  double flapping = 0.25;
  std::chrono::milliseconds flap_min{5000};
  std::chrono::milliseconds flap_max{15000};
  std::chrono::milliseconds warmup{60000};
  std::chrono::milliseconds sample{5000};
  double max_rss_growth = 2.0;  // percent
  std::string log = "fleet-changes.log";
};

std::chrono::milliseconds Duration(const std::string& flag,
                                   const std::string& text) {
  auto d = sse::ParseDuration(text);
  if (!d) throw std::invalid_argument(flag + ": bad duration " + text);
  return *d;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--exporter") {
      o.exporter = value;
    } else if (name == "--duration") {
      o.duration = Duration(name, value);
    } else if (name == "--services") {
      o.services = std::stoi(value);
    } else if (name == "--interval") {
      o.interval = Duration(name, value);
    } else if (name == "--flapping") {
      o.flapping = std::stod(value);
    } else if (name == "--flap-period") {
      auto dots = value.find("..");
      o.flap_min = Duration(name, value.substr(0, dots));
      o.flap_max = dots == std::string::npos
                       ? o.flap_min
                       : Duration(name, value.substr(dots + 2));
    } else if (name == "--warmup") {
      o.warmup = Duration(name, value);
    } else if (name == "--sample") {
      o.sample = Duration(name, value);
    } else if (name == "--max-rss-growth") {
      o.max_rss_growth = std::stod(value);
    } else if (name == "--log") {
      o.log = value;
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  if (o.exporter.empty()) throw std::invalid_argument("--exporter is required");
  return o;
}

// One change of one service's state, as the fleet logs it.
struct Change {
  double unix_time;
  int service;
  int from;
  int to;
};

// The fake fleet: one listening socket, every service at /svc/<i>. All of
// its state lives on its io thread.
class Fleet {
 public:
  Fleet(const Options& o)
      : options_(o), state_(o.services, 0), next_flip_(o.services) {
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    std::mt19937 rng(42);
    std::uniform_int_distribution<long> period(o.flap_min.count(),
                                               o.flap_max.count());
    const int flappers = static_cast<int>(o.services * o.flapping);
    for (int i = 0; i < flappers; ++i) {
      // Spread flappers over the fleet.
      int svc =
          static_cast<int>(static_cast<long long>(i) * o.services / flappers);
      flappers_.push_back({svc, std::chrono::milliseconds(period(rng))});
    }
    net::co_spawn(io_, Accept(), net::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Fleet() {
    net::post(io_, [this] { io_.stop(); });
    thread_.join();
  }

  std::uint16_t port() const { return port_; }
  std::uint64_t requests() const { return requests_.load(); }
  int flappers() const { return static_cast<int>(flappers_.size()); }

  // Starts (true) or stops (false) flapping; waits until the io thread did.
  void Flap(bool on) {
    std::promise<void> done;
    net::post(io_, [&] {
      if (on && !flapping_) {
        flapping_ = true;
        auto now = Clock::now();
        std::mt19937 rng(7);
        for (auto& f : flappers_) {
          // Random phase within the period.
          next_flip_[f.service] =
              now + std::chrono::milliseconds(
                        rng() % static_cast<unsigned>(f.period.count()));
        }
        net::co_spawn(io_, FlipLoop(), net::detached);
      } else if (!on) {
        flapping_ = false;
      }
      done.set_value();
    });
    done.get_future().wait();
  }

  // The change log (copy), taken on the io thread.
  std::vector<Change> Changes() {
    std::promise<std::vector<Change>> result;
    net::post(io_, [&] { result.set_value(changes_); });
    return result.get_future().get();
  }

 private:
  struct Flapper {
    int service;
    std::chrono::milliseconds period;
  };

  net::awaitable<void> FlipLoop() {
    net::steady_timer timer(io_);
    while (flapping_) {
      const auto now = Clock::now();
      for (const auto& f : flappers_) {
        if (now < next_flip_[f.service]) continue;
        const int from = state_[f.service];
        const int to = (from + 1) % 3;
        state_[f.service] = to;
        changes_.push_back({UnixNow(), f.service, from, to});
        next_flip_[f.service] += f.period;
      }
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(kUseTuple);
    }
  }

  net::awaitable<void> Serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::empty_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, kUseTuple);
      if (ec) break;
      ++requests_;
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "application/json");
      res.keep_alive(req.keep_alive());
      std::string_view target = req.target();
      int svc = -1;
      if (target.substr(0, 5) == "/svc/") {
        std::from_chars(target.data() + 5, target.data() + target.size(), svc);
      }
      if (svc >= 0 && svc < options_.services) {
        res.body() = std::string("{\"state\":\"") + kCycle[state_[svc]] + "\"}";
      } else {
        res.result(http::status::not_found);
      }
      res.prepare_payload();
      auto [wec, w] = co_await http::async_write(stream, res, kUseTuple);
      if (wec || !res.keep_alive()) break;
    }
  }

  net::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      net::co_spawn(io_, Serve(std::move(socket)), net::detached);
    }
  }

  const Options& options_;
  net::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<std::uint64_t> requests_{0};
  std::vector<int> state_;
  std::vector<Clock::time_point> next_flip_;
  std::vector<Flapper> flappers_;
  std::vector<Change> changes_;
  bool flapping_ = false;
};

struct SamplePoint {
  double t;  // seconds since flapping started
  std::uint64_t rss;
  int fds;
  std::uint64_t requests;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = ParseArgs(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "sse_soak: " << e.what() << "\n";
    return 2;
  }
  Fleet fleet(o);
  sse::test::TempDir dir;
  std::string yaml =
      "global:\n  poll_interval: " + sse::FormatDuration(o.interval) +
      "\n  poll_timeout: " + sse::FormatDuration(o.interval) + "\nservices:\n";
  for (int i = 0; i < o.services; ++i) {
    yaml += "  - {name: svc-" + std::to_string(i) +
            ", url: 'http://127.0.0.1:" + std::to_string(fleet.port()) +
            "/svc/" + std::to_string(i) + "', source: json}\n";
  }
  const std::string config = dir.Write("config.yaml", yaml);
  const std::string log = (dir.path() / "exporter.log").string();
  // Port 0 and the port from its start-up line (info level: the exporter
  // logs no more than start, reloads and stop there).
  sse::test::Process exporter(
      {o.exporter, "--config.file=" + config,
       "--web.listen-address=127.0.0.1:0", "--log.level=info"},
      log);
  const std::uint16_t port =
      sse::test::WaitListeningPort(exporter, std::chrono::seconds(60));
  if (port == 0) {
    std::cerr << "soak: exporter logged no port\n" << exporter.log() << "\n";
    return 1;
  }
  std::printf(
      "soak: %d services (%d flapping, period %s..%s), interval %s -> %.0f "
      "polls/s "
      "target, %s with %s warm-up\n",
      o.services, fleet.flappers(), sse::FormatDuration(o.flap_min).c_str(),
      sse::FormatDuration(o.flap_max).c_str(),
      sse::FormatDuration(o.interval).c_str(),
      o.services * 1000.0 / static_cast<double>(o.interval.count()),
      sse::FormatDuration(o.duration).c_str(),
      sse::FormatDuration(o.warmup).c_str());
  std::fflush(stdout);
  if (!sse::test::WaitFor(
          [&] { return sse::test::HttpGet(port, "/-/ready").status == 200; },
          std::chrono::seconds(60) + o.interval * 2)) {
    std::cerr << "soak: exporter not ready\n" << exporter.log() << "\n";
    return 1;
  }

  fleet.Flap(true);
  const auto start = Clock::now();
  std::vector<SamplePoint> samples;
  auto take = [&] {
    samples.push_back(
        {std::chrono::duration<double>(Clock::now() - start).count(),
         sse::test::ReadRssBytes(exporter.pid()),
         sse::test::CountOpenFds(exporter.pid()), fleet.requests()});
    const auto& s = samples.back();
    std::printf("  t=%6.0fs rss=%7.1f MiB fds=%6d polls/s=%8.0f\n", s.t,
                s.rss / 1048576.0, s.fds,
                samples.size() < 2
                    ? 0.0
                    : (s.requests - samples[samples.size() - 2].requests) /
                          (s.t - samples[samples.size() - 2].t));
    std::fflush(stdout);
  };
  take();
  while (Clock::now() - start < o.duration) {
    std::this_thread::sleep_for(std::min<Clock::duration>(
        o.sample, o.duration - (Clock::now() - start)));
    take();
    if (!exporter.running() || exporter.Wait(std::chrono::milliseconds(0))) {
      std::cerr << "soak: exporter died\n" << exporter.log() << "\n";
      return 1;
    }
  }
  fleet.Flap(false);
  // Let the last changes be polled.
  std::this_thread::sleep_for(o.interval * 3 + std::chrono::seconds(1));
  const std::vector<Change> changes = fleet.Changes();
  {
    std::ofstream out(o.log);
    out << "# unix_time service from to\n";
    for (const auto& c : changes) {
      char line[128];
      std::snprintf(line, sizeof line, "%.3f svc-%d %s %s\n", c.unix_time,
                    c.service, kCycle[c.from], kCycle[c.to]);
      out << line;
    }
  }

  // Compare the exporter's counters with the fleet's log.
  const auto scrape_start = Clock::now();
  auto reply = sse::test::HttpRequest(port, "GET", "/metrics", {},
                                      std::chrono::seconds(60));
  const double scrape_seconds =
      std::chrono::duration<double>(Clock::now() - scrape_start).count();
  if (reply.status != 200) {
    std::cerr << "soak: scrape failed: " << reply.error << "\n";
    return 1;
  }
  std::map<std::tuple<std::string, std::string, std::string>, double> want;
  std::map<std::string, double> want_changes;
  for (const auto& c : changes) {
    const std::string name = "svc-" + std::to_string(c.service);
    want[{name, kCycle[c.from], kCycle[c.to]}] += 1;
    want_changes[name] += 1;
  }
  std::map<std::tuple<std::string, std::string, std::string>, double> got;
  std::map<std::string, double> got_changes;
  double not_ok_polls = 0;
  double ok_polls = 0;
  for (const auto& s : sse::test::ParseExposition(reply.body)) {
    if (s.name == "muster_service_state_transitions_total") {
      got[{s.labels.at("service_name"), s.labels.at("from_state"),
           s.labels.at("to_state")}] = s.value;
    } else if (s.name == "muster_service_state_changes_total") {
      got_changes[s.labels.at("service_name")] = s.value;
    } else if (s.name == "service_state_exporter_polls_total") {
      (s.labels.at("outcome") == "ok" ? ok_polls : not_ok_polls) += s.value;
    }
  }
  double missed = 0;
  double extra = 0;
  for (const auto& [key, n] : want) {
    auto it = got.find(key);
    missed += std::max(0.0, n - (it == got.end() ? 0 : it->second));
  }
  for (const auto& [key, n] : got) {
    auto it = want.find(key);
    extra += std::max(0.0, n - (it == want.end() ? 0 : it->second));
  }
  int services_off = 0;
  for (int i = 0; i < o.services; ++i) {
    const std::string name = "svc-" + std::to_string(i);
    if (want_changes[name] != got_changes[name]) ++services_off;
  }
  const double exporter_total =
      std::accumulate(got_changes.begin(), got_changes.end(), 0.0,
                      [](double a, const auto& kv) { return a + kv.second; });

  // RSS and fds after warm-up.
  const double warmup = std::chrono::duration<double>(o.warmup).count();
  std::uint64_t rss_base = 0, rss_max = 0, rss_final = samples.back().rss;
  int fds_min = 1 << 30, fds_max = 0;
  for (const auto& s : samples) {
    if (s.t + 1e-9 < warmup) continue;
    if (rss_base == 0) rss_base = s.rss;
    rss_max = std::max(rss_max, s.rss);
    fds_min = std::min(fds_min, s.fds);
    fds_max = std::max(fds_max, s.fds);
  }
  const double growth_final =
      rss_base ? 100.0 * (double(rss_final) - rss_base) / rss_base : 0;
  const double growth_max =
      rss_base ? 100.0 * (double(rss_max) - rss_base) / rss_base : 0;
  const double seconds = samples.back().t;
  const double rate =
      (samples.back().requests - samples.front().requests) / seconds;
  const double target =
      o.services * 1000.0 / static_cast<double>(o.interval.count());
  const int fds_slack = std::max(5, o.services / 1000);

  const bool rss_ok = growth_max < o.max_rss_growth;
  const bool fds_ok = fds_max - fds_min <= fds_slack;
  const bool transitions_ok = missed == 0 && extra == 0 && services_off == 0;
  const bool rate_ok = rate >= 0.9 * target;
  auto verdict = [](bool ok) { return ok ? "ok" : "FAIL"; };
  std::printf("\n%-34s %s\n", "measure", "value");
  std::printf("%-34s %.0f s (warm-up %.0f s)\n", "duration", seconds, warmup);
  std::printf("%-34s %.0f (target %.0f)  %s\n", "polls/s (fleet requests)",
              rate, target, verdict(rate_ok));
  std::printf("%-34s ok %.0f, failed %.0f\n", "exporter polls", ok_polls,
              not_ok_polls);
  std::printf("%-34s %.1f -> %.1f MiB (max %.1f)\n", "RSS after warm-up -> end",
              rss_base / 1048576.0, rss_final / 1048576.0, rss_max / 1048576.0);
  std::printf("%-34s %+.2f%% at end, %+.2f%% max (limit %.1f%%)  %s\n",
              "RSS growth", growth_final, growth_max, o.max_rss_growth,
              verdict(rss_ok));
  std::printf("%-34s %d..%d (slack %d)  %s\n", "open fds after warm-up",
              fds_min, fds_max, fds_slack, verdict(fds_ok));
  std::printf("%-34s %zu (%d flapping services)\n", "fleet changes logged",
              changes.size(), fleet.flappers());
  std::printf("%-34s %.0f\n", "exporter transitions counted", exporter_total);
  std::printf("%-34s missed %.0f, extra %.0f, services off %d  %s\n",
              "vs the fleet's log", missed, extra, services_off,
              verdict(transitions_ok));
  std::printf("%-34s %.3f s (%zu bytes)\n", "final /metrics scrape",
              scrape_seconds, reply.body.size());
  std::printf("%-34s %s\n", "fleet change log", o.log.c_str());
  if (exporter.Stop() != 0) {
    std::printf("exporter did not exit cleanly\n");
    return 1;
  }
  const bool ok = rss_ok && fds_ok && transitions_ok && rate_ok;
  std::printf("soak: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
