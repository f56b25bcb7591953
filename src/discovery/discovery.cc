#include "sse/discovery/discovery.h"

#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <optional>
#include <set>

#include "sse/discovery/target_groups.h"
#include "sse/http/client.h"
#include "sse/util/file_read.h"
#include "sse/util/log.h"

namespace sse {
namespace {

namespace net = boost::asio;

// What a scan of a file_sd block's files found.
struct FileSdScan {
  std::set<std::string> seen;  // every file its globs match now
  // Files whose version changed: the new version, and its targets (nullopt
  // for an invalid file: its last good targets stay).
  std::map<std::string,
           std::pair<std::int64_t, std::optional<std::vector<ServiceConfig>>>>
      changed;
};

// Reads the files of a file_sd block whose version (mtime, size) is not
// `known`. Runs on the file thread: only regular files of at most
// kMaxConfigFileBytes are read, without blocking (a FIFO or a link to
// /dev/zero under a glob is reported, never waited on).
FileSdScan ScanFileSd(const FileSdConfig& f,
                      const std::map<std::string, std::int64_t>& known) {
  FileSdScan scan;
  for (const auto& pattern : f.files) {
    for (const auto& path : ExpandGlob(pattern)) {
      scan.seen.insert(path);
      struct stat st {};
      if (stat(path.c_str(), &st) != 0) continue;
      const std::int64_t version =
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 +
          st.st_mtim.tv_nsec + st.st_size;
      if (auto k = known.find(path); k != known.end() && k->second == version)
        continue;
      auto& slot = scan.changed[path];
      slot.first = version;
      FileRead read = ReadRegularFile(path, kMaxConfigFileBytes);
      if (!read.ok()) {
        Log(LogLevel::kError,
            "file_sd file cannot be read; keeping its last good targets",
            {{"file", path}, {"err", read.message}});
        continue;
      }
      const bool yaml = path.ends_with(".yml") || path.ends_with(".yaml");
      try {
        std::vector<std::string> problems;
        auto services =
            ServicesFromTargets(ParseTargetGroups(read.data, yaml), f.service,
                                f.scheme, f.path, problems);
        for (const auto& p : problems) {
          Log(LogLevel::kWarn, "file_sd target skipped",
              {{"file", path}, {"problem", p}});
        }
        Log(LogLevel::kInfo, "file_sd file loaded",
            {{"file", path}, {"targets", std::to_string(services.size())}});
        slot.second = std::move(services);
      } catch (const std::exception& e) {  // invalid_argument, bad_alloc
        // The version is remembered, so the error is reported once per
        // change.
        Log(LogLevel::kError,
            "file_sd file is invalid; keeping its last good targets",
            {{"file", path}, {"err", e.what()}});
      }
    }
  }
  return scan;
}

// A file_sd block: scans its globs on the file thread every
// refresh_interval and reads the files whose version changed.
class FileSd final : public Discoverer,
                     public std::enable_shared_from_this<FileSd> {
 public:
  FileSd(net::any_io_executor io, net::thread_pool& files, FileSdConfig config,
         std::function<void()> changed)
      : config_(std::move(config)),
        io_(io),
        files_(files),
        changed_(std::move(changed)),
        timer_(io) {}

  const FileSdConfig& config() const { return config_; }
  void Start() override { Schedule(Duration(0)); }
  void Stop() override {
    stopped_ = true;
    timer_.cancel();
  }

 private:
  void Schedule(Duration delay) {
    timer_.expires_after(delay);
    timer_.async_wait(
        [self = shared_from_this()](boost::system::error_code ec) {
          if (!ec && !self->stopped_) self->Refresh();
        });
  }

  // Scans on the file thread, then takes the result in on the I/O thread
  // and schedules the next scan.
  void Refresh() {
    std::map<std::string, std::int64_t> known;
    for (const auto& [path, entry] : per_file_) known[path] = entry.first;
    net::post(files_, [self = shared_from_this(), known = std::move(known)] {
      auto scan =
          std::make_shared<FileSdScan>(ScanFileSd(self->config_, known));
      net::post(self->io_, [self, scan] {
        if (self->stopped_) return;
        if (self->Take(std::move(*scan))) self->changed_();
        self->Schedule(self->config_.refresh_interval);
      });
    });
  }

  // Takes a scan in; true if the targets changed.
  bool Take(FileSdScan scan) {
    bool changed = false;
    for (auto& [path, found] : scan.changed) {
      auto& slot = per_file_[path];
      slot.first = found.first;
      if (found.second) {
        slot.second = std::move(*found.second);
        changed = true;
      }
    }
    for (auto it = per_file_.begin(); it != per_file_.end();) {
      if (!scan.seen.contains(it->first)) {
        it = per_file_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    if (changed) {
      auto targets = std::make_shared<std::vector<ServiceConfig>>();
      for (const auto& [path, entry] : per_file_) {
        targets->insert(targets->end(), entry.second.begin(),
                        entry.second.end());
      }
      targets_ = std::move(targets);
    }
    return changed;
  }

  FileSdConfig config_;
  net::any_io_executor io_;
  net::thread_pool& files_;
  std::function<void()> changed_;
  net::steady_timer timer_;
  bool stopped_ = false;
  // By file: its version (mtime, size) and its last good targets.
  std::map<std::string, std::pair<std::int64_t, std::vector<ServiceConfig>>>
      per_file_;
};

// An http_sd block: fetches its URL every refresh_interval.
class HttpSd final : public Discoverer,
                     public std::enable_shared_from_this<HttpSd> {
 public:
  HttpSd(net::any_io_executor io, HttpSdConfig config,
         std::function<void()> changed)
      : config_(std::move(config)),
        io_(io),
        changed_(std::move(changed)),
        timer_(io) {
    ServiceConfig poll = config_.service;
    poll.url = config_.url;
    client_ =
        std::make_shared<HttpClient>(io, config_.url, ClientOptionsFor(poll));
  }

  const HttpSdConfig& config() const { return config_; }
  // A changed block's first targets: those of the block it replaces.
  void Inherit(const Discoverer& previous) { targets_ = previous.targets(); }
  void Start() override { Schedule(Duration(0)); }
  void Stop() override {
    stopped_ = true;
    timer_.cancel();
    client_->Close();
  }

 private:
  void Schedule(Duration delay) {
    timer_.expires_after(delay);
    timer_.async_wait(
        [self = shared_from_this()](boost::system::error_code ec) {
          if (!ec && !self->stopped_) self->Fetch();
        });
  }

  void Fetch() {
    auto self = shared_from_this();
    net::co_spawn(
        io_,
        [self]() -> net::awaitable<void> {
          HttpResult http = co_await self->client_->Get();
          if (self->stopped_) co_return;
          self->Take(http);
          self->Schedule(self->config_.refresh_interval);
        },
        [self](std::exception_ptr e) {
          // A refresh that threw must not end refreshing for good.
          if (LogEscaped(e, "http_sd refresh failed; trying again") &&
              !self->stopped_)
            self->Schedule(self->config_.refresh_interval);
        });
  }

  void Take(const HttpResult& http) {
    std::string error = http.error;
    bool invalid = false;  // a 200 answer that is not a target list
    if (http.outcome == Outcome::kOk) {
      error = StatusError(http, {}, /*only_200=*/true);
    }
    if (http.outcome == Outcome::kOk && error.empty()) {
      try {
        std::vector<std::string> problems;
        auto targets = ServicesFromTargets(ParseTargetGroups(http.body, false),
                                           config_.service, config_.scheme,
                                           config_.path, problems);
        for (const auto& p : problems) {
          Log(LogLevel::kWarn, "http_sd target skipped",
              {{"sd", id_}, {"problem", p}});
        }
        if (targets != *targets_) {
          targets_ = std::make_shared<const std::vector<ServiceConfig>>(
              std::move(targets));
          Log(LogLevel::kInfo, "http_sd targets changed",
              {{"sd", id_}, {"targets", std::to_string(targets_->size())}});
          changed_();
        }
      } catch (const std::exception& e) {  // invalid_argument, bad_alloc
        error = e.what();
        invalid = true;
      }
    }
    if (invalid) {
      Log(LogLevel::kError,
          "http_sd answer invalid; keeping the last good targets",
          {{"sd", id_}, {"err", error}});
    } else if (!error.empty()) {
      Log(LogLevel::kWarn,
          "http_sd fetch failed; keeping the last good targets",
          {{"sd", id_}, {"err", error}});
    }
  }

  HttpSdConfig config_;
  net::any_io_executor io_;
  std::function<void()> changed_;
  net::steady_timer timer_;
  std::shared_ptr<HttpClient> client_;
  bool stopped_ = false;
};

}  // namespace

Discovery::Discovery(net::any_io_executor io, net::thread_pool& files,
                     std::function<void()> changed)
    : io_(io), files_(files), changed_(std::move(changed)) {}

Discovery::~Discovery() { Stop(); }

void Discovery::Apply(const Config& next) {
  std::vector<std::shared_ptr<Discoverer>> fresh;
  // Takes the first running block that `pred` accepts out of blocks_.
  auto reuse = [&](auto pred) -> std::shared_ptr<Discoverer> {
    for (auto& old : blocks_) {
      if (old && pred(*old)) {
        auto kept = old;
        old.reset();
        return kept;
      }
    }
    return nullptr;
  };
  for (std::size_t i = 0; i < next.file_sd.size(); ++i) {
    const auto& f = next.file_sd[i];
    auto block = reuse([&](const Discoverer& d) {
      auto* file = dynamic_cast<const FileSd*>(&d);
      return file != nullptr && file->config() == f;
    });
    if (!block) {
      block = std::make_shared<FileSd>(io_, files_, f, changed_);
      block->Start();
    }
    block->set_id("file_sd[" + std::to_string(i) + "]");
    fresh.push_back(std::move(block));
  }
  for (std::size_t i = 0; i < next.http_sd.size(); ++i) {
    const auto& h = next.http_sd[i];
    const std::string id = "http_sd[" + std::to_string(i) + "]";
    auto block = reuse([&](const Discoverer& d) {
      auto* http = dynamic_cast<const HttpSd*>(&d);
      return http != nullptr && http->config() == h;
    });
    if (!block) {
      auto created = std::make_shared<HttpSd>(io_, h, changed_);
      // A changed block keeps the targets of the block it replaces at the
      // same position until its first answer.
      if (auto previous = reuse([&](const Discoverer& d) {
            return dynamic_cast<const HttpSd*>(&d) != nullptr && d.id() == id;
          })) {
        created->Inherit(*previous);
        previous->Stop();
      }
      created->Start();
      block = std::move(created);
    }
    block->set_id(id);
    fresh.push_back(std::move(block));
  }
  for (auto& old : blocks_) {
    if (old) old->Stop();
  }
  blocks_ = std::move(fresh);
}

void Discovery::Stop() {
  for (auto& block : blocks_) block->Stop();
}

std::vector<DiscoveredTargets> Discovery::Targets() const {
  std::vector<DiscoveredTargets> out;
  out.reserve(blocks_.size());
  for (const auto& block : blocks_)
    out.push_back({block->id(), block->targets()});
  return out;
}

}  // namespace sse
