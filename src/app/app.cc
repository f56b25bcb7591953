#include "sse/app/app.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <limits>
#include <optional>

#include "sse/app/event_hub.h"
#include "sse/app/fleet.h"
#include "sse/app/recorder.h"
#include "sse/app/reloader.h"
#include "sse/app/routes.h"
#include "sse/app/state_keeper.h"
#include "sse/config/config.h"
#include "sse/config/web_config.h"
#include "sse/discovery/discovery.h"
#include "sse/http/client.h"
#include "sse/util/clock.h"
#include "sse/util/hash.h"
#include "sse/util/log.h"
#include "sse/util/process_metrics.h"
#include "sse/version.h"
#include "sse/web/server.h"

namespace sse {
namespace {

namespace net = boost::asio;

// Every kept-alive poll connection is a file descriptor: 10,000 services
// need more than the usual soft limit of 1024. Raises it to the hard limit,
// as the Go runtime does for Prometheus' own exporters, and caps the poll
// connections below it: a sixteenth of the limit (at least 32, at most
// 1024) stays for the web server, files, the resolver and the process.
void BudgetDescriptors() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
      Log(LogLevel::kDebug, "raised the open files limit",
          {{"from", std::to_string(before)},
           {"to", std::to_string(limit.rlim_cur)}});
    } else {
      limit.rlim_cur = before;
    }
  }
  const rlim_t n = limit.rlim_cur;
  if (n == 0 || n == RLIM_INFINITY) return;
  const auto reserved =
      std::clamp<std::size_t>(static_cast<std::size_t>(n / 16), 32, 1024);
  SetPollConnectionLimit(n > reserved + 8 ? n - reserved : 8);
}

// The StatefulSet ordinal at the end of the hostname ("sse-2" -> 2).
int HostnameOrdinal() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return -1;
  std::string name(host);
  std::size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 >= name.size()) return -1;
  try {
    std::size_t used = 0;
    int ordinal = std::stoi(name.substr(dash + 1), &used);
    return used == name.size() - dash - 1 ? ordinal : -1;
  } catch (const std::exception&) {
    return -1;
  }
}

// What a reload read and parsed on the file thread.
struct Loaded {
  std::optional<WebConfig> web;
  std::shared_ptr<const Config> config;
  std::string error;  // set when either file is bad
};

}  // namespace

struct App::Impl {
  Flags flags;
  net::io_context io{1};
  net::signal_set signals{io, SIGTERM, SIGINT, SIGHUP};
  // File reads, parses and writes that may take long (state file, config,
  // file_sd): off the I/O thread, one at a time, in order.
  net::thread_pool files{1};
  std::shared_ptr<const Config> config;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Tracker> tracker;
  std::unique_ptr<WebServer> web;
  std::optional<WebConfig> web_config;
  StateKeeper keeper{io.get_executor(), files, flags.state_file,
                     flags.state_retention, UnixNow};
  std::unique_ptr<PollRecorder> recorder;
  std::unique_ptr<EventHub> events;
  std::unique_ptr<Discovery> discovery;
  std::unique_ptr<Fleet> fleet;
  Reloader<Loaded> reloader{
      io.get_executor(), files, [this] { return Load(); },
      [this](Loaded l, std::string& e) { return Apply(std::move(l), e); },
      [this] { last_reload_attempt = UnixNow(); }};
  double started_at = UnixNow();
  double last_reload_attempt = 0;
  double last_reload_success = 0;
  std::string last_reload_error;  // empty while the last reload worked

  explicit Impl(Flags f) : flags(std::move(f)) {}

  bool InShard(const std::string& name) const {
    return flags.shard_count <= 1 ||
           ShardOf(name, flags.shard_count) == flags.shard_index;
  }

  // Reads the config file and the web config file; thread-safe (runs on
  // the file thread for a reload).
  Loaded Load() const {
    Loaded loaded;
    try {
      if (!flags.web_config_file.empty())
        loaded.web = LoadWebConfigFile(flags.web_config_file);
      loaded.config =
          std::make_shared<const Config>(LoadConfigFile(flags.config_file));
    } catch (const std::exception& e) {  // ConfigError, bad_alloc
      loaded.error = e.what();
      loaded.config.reset();
    }
    // Parsing takes several times a file's size for a moment (YAML nodes);
    // malloc keeps such memory unless told to give it back.
    ReleaseFreeMemory();
    return loaded;
  }

  // Applies a web config to the server; throws std::runtime_error for
  // unusable certificates, and then the running settings stay.
  void ConfigureWeb(WebConfig next) {
    web->Configure(next);
    Log(LogLevel::kInfo, "web config loaded",
        {{"file", next.file},
         {"tls", next.tls ? "true" : "false"},
         {"basic_auth_users", std::to_string(next.basic_auth_users.size())}});
    web_config = std::move(next);
  }

  // Applies what a load read; a bad file is rejected whole and the running
  // config stays. An unchanged config is a no-op for the pollers
  // (credential files are read by the clients as they change).
  bool Apply(Loaded loaded, std::string& error) {
    try {
      if (!loaded.error.empty()) throw ConfigError(loaded.error);
      if (config && loaded.config->global.metric_namespace !=
                        metrics->metric_namespace()) {
        throw ConfigError(flags.config_file +
                          ": global.metric_namespace: cannot change on reload "
                          "(restart the exporter)");
      }
      if (loaded.web) ConfigureWeb(std::move(*loaded.web));  // may throw
      last_reload_success = UnixNow();
      if (last_reload_attempt == 0) last_reload_attempt = last_reload_success;
      metrics->reload_successful.Set(1);
      metrics->reload_success_timestamp.Set(last_reload_success);
      last_reload_error.clear();
      if (config && *loaded.config == *config) {
        Log(LogLevel::kInfo, "config unchanged", {{"file", flags.config_file}});
        return true;
      }
      const bool initial = config == nullptr;
      config = loaded.config;
      tracker->SetHistorySize(
          static_cast<std::size_t>(config->global.history_size));
      discovery->Apply(*config);
      fleet->Apply(config, discovery->Targets());
      CheckConnectionBudget();
      if (!initial) {
        Log(LogLevel::kInfo, "config reloaded",
            {{"file", flags.config_file},
             {"services", std::to_string(fleet->services())},
             {"lists", std::to_string(fleet->lists())}});
      }
      // What the old config held goes back to the system; trimming a large
      // heap takes a while, so not on the I/O thread.
      net::post(files, [] { ReleaseFreeMemory(); });
      return true;
    } catch (const std::exception& e) {  // ConfigError, or TLS files unusable
      metrics->reload_successful.Set(0);
      error = e.what();
      last_reload_error = error;
      Log(LogLevel::kError, "config reload failed; keeping the running config",
          {{"err", error}});
      return false;
    }
  }

  ExporterStatus Status() const {
    auto [polled, total] = fleet->Readiness();
    ExporterStatus st;
    st.config_file = flags.config_file;
    st.web_config_file = flags.web_config_file;
    st.tls = web && web->tls();
    st.basic_auth = web_config && !web_config->basic_auth_users.empty();
    st.start_time = started_at;
    st.now = UnixNow();
    st.reload_successful = last_reload_error.empty();
    st.last_reload_success = last_reload_success;
    st.last_reload_attempt = last_reload_attempt;
    st.last_reload_error = last_reload_error;
    st.services = total;
    st.services_polled = polled;
    st.ready = config && polled >= total;
    st.lists = fleet->ListStatuses();
    return st;
  }

  // Warns when the poll connections the descriptor limit leaves cannot keep
  // one connection alive per target.
  void CheckConnectionBudget() {
    const std::size_t budget = PollConnectionLimit();
    const std::size_t targets =
        fleet->services() + fleet->lists() + discovery->size();
    if (budget == std::numeric_limits<std::size_t>::max() || targets <= budget)
      return;
    Log(LogLevel::kWarn,
        "the open files limit leaves fewer poll connections than targets: "
        "connections are closed between polls, the longest idle first "
        "(raise ulimit -n)",
        {{"poll_connections", std::to_string(budget)},
         {"targets", std::to_string(targets)}});
  }

  void WaitForSignal() {
    signals.async_wait([this](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        Log(LogLevel::kInfo, "SIGHUP received, reloading config");
        reloader.Reload([](bool, const std::string&) {});
        WaitForSignal();
        return;
      }
      Log(LogLevel::kInfo, "stopping", {{"signal", std::to_string(signo)}});
      reloader.Stop();
      fleet->Stop();
      discovery->Stop();
      keeper.Stop();
      events->Stop();
      web->Stop();
      signals.cancel();
    });
  }

  // Everything up to serving; false (logged) if the exporter cannot start.
  bool Start() {
    BudgetDescriptors();
    if (flags.shard_count > 1 && flags.shard_index < 0) {
      flags.shard_index = HostnameOrdinal();
      if (flags.shard_index < 0 || flags.shard_index >= flags.shard_count) {
        Log(LogLevel::kError,
            "--shard.count given without --shard.index, and the hostname has "
            "no usable StatefulSet ordinal");
        return false;
      }
    }
    Loaded initial;
    try {
      initial.config =
          std::make_shared<const Config>(LoadConfigFile(flags.config_file));
    } catch (const ConfigError& e) {
      Log(LogLevel::kError, "cannot load config", {{"err", e.what()}});
      return false;
    }
    keeper.Load();
    try {
      if (!flags.web_config_file.empty())
        initial.web = LoadWebConfigFile(flags.web_config_file);
    } catch (const ConfigError& e) {
      Log(LogLevel::kError, "cannot load web config", {{"err", e.what()}});
      return false;
    }
    metrics =
        std::make_unique<Metrics>(initial.config->global.metric_namespace);
    metrics->SetShard(std::max(flags.shard_index, 0), flags.shard_count);
    tracker = std::make_unique<Tracker>(*metrics);
    tracker->SetHistorySize(
        static_cast<std::size_t>(initial.config->global.history_size));
    recorder =
        std::make_unique<PollRecorder>(*metrics, *tracker, keeper, UnixNow);
    events = std::make_unique<EventHub>(io.get_executor(), metrics.get());
    recorder->SetCommitListener(
        [hub = events.get()](const FleetEvent& e) { hub->Publish(e); });
    fleet = std::make_unique<Fleet>(
        io.get_executor(), *recorder, MakePollerFactory(io.get_executor()),
        [this](const std::string& name) { return InShard(name); });
    discovery = std::make_unique<Discovery>(io.get_executor(), files, [this] {
      fleet->ApplyDiscovered(discovery->Targets());
    });
    WebServerOptions web_options;
    web_options.listen_address = flags.listen_address;
    web_options.read_timeout = flags.web_read_timeout;
    web_options.write_timeout = flags.web_write_timeout;
    web_options.max_connections = flags.web_max_connections;
    RouteSources routes;
    routes.telemetry_path = flags.telemetry_path;
    routes.enable_lifecycle = flags.enable_lifecycle;
    routes.metrics = metrics.get();
    routes.recorder = recorder.get();
    routes.events = events.get();
    routes.status = [this] { return Status(); };
    routes.reload = [this](auto done) { reloader.Reload(std::move(done)); };
    routes.now = UnixNow;
    web = std::make_unique<WebServer>(io.get_executor(), web_options,
                                      MakeRoutes(std::move(routes)));
    try {
      if (initial.web) ConfigureWeb(std::move(*initial.web));
      initial.web.reset();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "cannot use web config", {{"err", e.what()}});
      return false;
    }
    try {
      web->Start();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "cannot start web server", {{"err", e.what()}});
      return false;
    }
    Log(LogLevel::kInfo, "starting service_state_exporter",
        {{"version", kVersion},
         {"revision", kRevision},
         {"config", flags.config_file},
         {"services", std::to_string(initial.config->services.size())},
         {"lists", std::to_string(initial.config->lists.size())},
         {"shard", std::to_string(std::max(flags.shard_index, 0)) + "/" +
                       std::to_string(flags.shard_count)}});
    Log(LogLevel::kInfo, "listening",
        {{"address", flags.listen_address},
         {"port", std::to_string(web->port())},
         {"tls", web->tls() ? "true" : "false"}});
    std::string error;
    return Apply(std::move(initial), error);
  }

  int Run() {
    if (!Start()) return 1;
    WaitForSignal();
    keeper.Start();
    io.run();
    files.join();
    keeper.SaveAtExit();
    Log(LogLevel::kInfo, "stopped");
    return 0;
  }
};

App::App(Flags flags) : impl_(std::make_unique<Impl>(std::move(flags))) {}
App::~App() = default;
int App::Run() { return impl_->Run(); }

}  // namespace sse
