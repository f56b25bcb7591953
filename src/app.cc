#include "sse/app.h"

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <map>

#include "sse/config.h"
#include "sse/handlers.h"
#include "sse/log.h"
#include "sse/metrics.h"
#include "sse/poller.h"
#include "sse/tracker.h"
#include "sse/version.h"
#include "sse/web.h"

namespace sse {
namespace {

namespace net = boost::asio;

double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every kept-alive poll connection is a file descriptor: 10,000 services
// need more than the usual soft limit of 1024. Raise it to the hard limit,
// as the Go runtime does for Prometheus' own exporters.
void RaiseOpenFilesLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    Log(LogLevel::kDebug, "raised the open files limit",
        {{"from", std::to_string(before)}, {"to", std::to_string(limit.rlim_cur)}});
  }
}

TrackerOptions OptionsFor(const ServiceConfig& s) {
  return TrackerOptions{s.up_states, s.transition_after, s.max_states};
}

}  // namespace

struct App::Impl {
  // Series of one service that the exporter (not the tracker) owns.
  struct PollSeries {
    std::map<Outcome, prometheus::Counter*> polls;
    prometheus::Gauge* last_poll = nullptr;
  };

  Flags flags;
  net::io_context io{1};
  net::signal_set signals{io, SIGTERM, SIGINT, SIGHUP};
  std::shared_ptr<const Config> config;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Tracker> tracker;
  std::unique_ptr<WebServer> web;
  std::map<std::string, std::shared_ptr<Poller>> pollers;
  std::map<std::string, PollStatus> status;
  std::map<std::string, PollSeries> series;
  bool stopping = false;

  explicit Impl(Flags f) : flags(std::move(f)) {}

  void OnPoll(const ServiceConfig& service, const PollResult& result) {
    if (stopping) return;
    const Observation& obs = result.observation;
    PollSeries& s = series[service.name];
    prometheus::Counter*& counter = s.polls[obs.outcome];
    if (counter == nullptr) {
      counter = &metrics->polls.Add(
          {{"service_name", service.name}, {"outcome", OutcomeName(obs.outcome)}});
    }
    counter->Increment();
    if (s.last_poll == nullptr) {
      s.last_poll = &metrics->last_poll.Add({{"service_name", service.name}});
    }
    s.last_poll->Set(result.finished_at);
    metrics->poll_duration.Observe(result.duration_seconds);

    PollStatus& st = status[service.name];
    const bool was_ok = !st.polled || st.outcome == OutcomeName(Outcome::kOk);
    st.polled = true;
    st.outcome = OutcomeName(obs.outcome);
    st.error = obs.error;
    st.last_poll = result.finished_at;
    st.duration_seconds = result.duration_seconds;

    ObserveResult observed = tracker->Observe(service.name, obs.state, result.finished_at);
    st.last_state = observed.state;
    if (obs.outcome != Outcome::kOk) {
      // The first failure after a success is a warning; repeats are debug
      // so that a dead target does not flood the log.
      Log(was_ok ? LogLevel::kWarn : LogLevel::kDebug, "poll failed",
          {{"service", service.name},
           {"outcome", OutcomeName(obs.outcome)},
           {"state", observed.state},
           {"err", obs.error}});
    } else {
      Log(LogLevel::kDebug, "poll", {{"service", service.name}, {"state", observed.state}});
    }
    if (observed.cap_reached) {
      Log(LogLevel::kWarn, "service reports more distinct states than allowed; "
          "extra states are reported as 'other'",
          {{"service", service.name},
           {"max_states_per_service", std::to_string(service.max_states)}});
    }
    if (observed.commit) {
      Log(LogLevel::kInfo, observed.commit->counted ? "state change" : "initial state",
          {{"service", service.name},
           {"type", service.type},
           {"from", observed.commit->from},
           {"to", observed.commit->to}});
    }
  }

  void RemoveService(const std::string& name) {
    if (auto it = pollers.find(name); it != pollers.end()) {
      it->second->Stop();
      pollers.erase(it);
    }
    tracker->Remove(name);
    if (auto it = series.find(name); it != series.end()) {
      for (auto& [outcome, counter] : it->second.polls) metrics->polls.Remove(counter);
      if (it->second.last_poll) metrics->last_poll.Remove(it->second.last_poll);
      series.erase(it);
    }
    status.erase(name);
  }

  // Swaps in a validated config: unchanged services keep polling and keep
  // their state, changed ones restart polling (state kept if the type is the
  // same), removed ones lose their series, new ones start.
  void ApplyConfig(std::shared_ptr<const Config> next) {
    const double now = UnixNow();
    std::map<std::string, const ServiceConfig*> wanted;
    for (const auto& s : next->services) wanted.emplace(s.name, &s);
    std::vector<std::string> removed;
    for (const auto& [name, poller] : pollers) {
      if (!wanted.contains(name)) removed.push_back(name);
    }
    for (const auto& name : removed) {
      Log(LogLevel::kInfo, "service removed", {{"service", name}});
      RemoveService(name);
    }
    for (const auto& service : next->services) {
      auto it = pollers.find(service.name);
      if (it != pollers.end() && it->second->service().SamePolling(service)) continue;
      if (it != pollers.end()) {
        it->second->Stop();
        pollers.erase(it);
      }
      tracker->Add(service.name, service.type, OptionsFor(service), now);
      status[service.name].url = service.url.text;
      auto poller = std::make_shared<Poller>(
          io.get_executor(), std::make_shared<ServiceConfig>(service),
          [this](const ServiceConfig& s, const PollResult& r) { OnPoll(s, r); });
      poller->Start();
      pollers.emplace(service.name, std::move(poller));
    }
    config = std::move(next);
  }

  // Loads the config file again; a bad one is rejected whole.
  bool Reload(std::string& error) {
    try {
      auto next = std::make_shared<const Config>(LoadConfigFile(flags.config_file));
      if (next->global.metric_namespace != metrics->metric_namespace()) {
        throw ConfigError(flags.config_file +
                          ": global.metric_namespace: cannot change on reload "
                          "(restart the exporter)");
      }
      ApplyConfig(std::move(next));
      metrics->reload_successful.Set(1);
      metrics->reload_success_timestamp.Set(UnixNow());
      Log(LogLevel::kInfo, "config reloaded",
          {{"file", flags.config_file},
           {"services", std::to_string(config->services.size())}});
      return true;
    } catch (const ConfigError& e) {
      metrics->reload_successful.Set(0);
      error = e.what();
      Log(LogLevel::kError, "config reload failed; keeping the running config",
          {{"err", error}});
      return false;
    }
  }

  std::vector<ServiceRow> Rows(const std::string& name_filter,
                               const std::string& state_filter) const {
    std::vector<ServiceRow> rows;
    for (auto& view : tracker->ViewAll()) {
      if (!name_filter.empty() && view.name != name_filter) continue;
      if (!state_filter.empty() && view.state != state_filter) continue;
      ServiceRow row;
      if (auto it = status.find(view.name); it != status.end()) row.poll = it->second;
      row.view = std::move(view);
      rows.push_back(std::move(row));
    }
    return rows;
  }

  std::size_t PolledCount() const {
    std::size_t polled = 0;
    for (const auto& [name, st] : status) polled += st.polled ? 1 : 0;
    return polled;
  }

  WebResponse Handle(const WebRequest& req) {
    const bool get = req.method == "GET" || req.method == "HEAD";
    auto not_allowed = [](const char* allow) {
      WebResponse r{405, "text/plain; charset=utf-8", "Method Not Allowed\n", {}};
      r.headers.emplace_back("Allow", allow);
      return r;
    };
    if (req.path == "/-/reload") {
      if (!flags.enable_lifecycle) {
        return {403, "text/plain; charset=utf-8",
                "Lifecycle API is not enabled (--web.enable-lifecycle).\n", {}};
      }
      if (req.method != "POST" && req.method != "PUT") return not_allowed("POST, PUT");
      std::string error;
      if (!Reload(error)) {
        return {500, "text/plain; charset=utf-8", "failed to reload config: " + error + "\n", {}};
      }
      return {200, "text/plain; charset=utf-8", "", {}};
    }
    const bool known = req.path == flags.telemetry_path || req.path == "/" ||
                       req.path == "/api/v1/services" || req.path == "/-/healthy" ||
                       req.path == "/-/ready";
    if (!known) return {404, "text/plain; charset=utf-8", "404 page not found\n", {}};
    if (!get) return not_allowed("GET, HEAD");
    if (req.path == flags.telemetry_path) return RenderMetrics(*metrics, req);
    if (req.path == "/-/healthy") {
      return {200, "text/plain; charset=utf-8", "Service State Exporter is Healthy.\n", {}};
    }
    if (req.path == "/-/ready") {
      const std::size_t total = pollers.size();
      const std::size_t polled = PolledCount();
      if (config && polled >= total) {
        return {200, "text/plain; charset=utf-8", "Service State Exporter is Ready.\n", {}};
      }
      return {503, "text/plain; charset=utf-8",
              "Not ready: " + std::to_string(polled) + " of " +
                  std::to_string(total) + " services polled.\n",
              {}};
    }
    if (req.path == "/api/v1/services") {
      return {200, "application/json",
              RenderServicesJson(Rows(QueryParam(req.query, "name"),
                                      QueryParam(req.query, "state"))),
              {}};
    }
    return {200, "text/html; charset=utf-8",
            RenderLandingPage(Rows("", ""), flags.telemetry_path, UnixNow()), {}};
  }

  void WaitForSignal() {
    signals.async_wait([this](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        Log(LogLevel::kInfo, "SIGHUP received, reloading config");
        std::string error;
        Reload(error);
        WaitForSignal();
        return;
      }
      Log(LogLevel::kInfo, "stopping", {{"signal", std::to_string(signo)}});
      Stop();
    });
  }

  void Stop() {
    stopping = true;
    for (auto& [name, poller] : pollers) poller->Stop();
    if (web) web->Stop();
    signals.cancel();
  }

  int Run() {
    RaiseOpenFilesLimit();
    std::shared_ptr<const Config> initial;
    try {
      initial = std::make_shared<const Config>(LoadConfigFile(flags.config_file));
    } catch (const ConfigError& e) {
      Log(LogLevel::kError, "cannot load config", {{"err", e.what()}});
      return 1;
    }
    metrics = std::make_unique<Metrics>(initial->global.metric_namespace);
    tracker = std::make_unique<Tracker>(*metrics);
    WebServerOptions web_options;
    web_options.listen_address = flags.listen_address;
    web_options.read_timeout = flags.web_read_timeout;
    web_options.write_timeout = flags.web_write_timeout;
    web_options.max_connections = flags.web_max_connections;
    web = std::make_unique<WebServer>(io.get_executor(), web_options,
                                      [this](const WebRequest& r) { return Handle(r); });
    try {
      web->Start();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "cannot start web server", {{"err", e.what()}});
      return 1;
    }
    Log(LogLevel::kInfo, "starting service_state_exporter",
        {{"version", kVersion},
         {"revision", kRevision},
         {"config", flags.config_file},
         {"services", std::to_string(initial->services.size())}});
    Log(LogLevel::kInfo, "listening",
        {{"address", flags.listen_address}, {"port", std::to_string(web->port())}});
    ApplyConfig(std::move(initial));
    metrics->reload_successful.Set(1);
    metrics->reload_success_timestamp.Set(UnixNow());
    WaitForSignal();
    io.run();
    Log(LogLevel::kInfo, "stopped");
    return 0;
  }
};

App::App(Flags flags) : impl_(std::make_unique<Impl>(std::move(flags))) {}
App::~App() = default;
int App::Run() { return impl_->Run(); }

}  // namespace sse
