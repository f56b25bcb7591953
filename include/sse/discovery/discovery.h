#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sse/config/config.h"

namespace sse {

/// The targets one discovery block found last: shared with the pollers of
/// its services, never changed (a new find replaces the vector).
struct DiscoveredTargets {
  std::string id;  ///< "file_sd[0]", "http_sd[1]": the block's position
  std::shared_ptr<const std::vector<ServiceConfig>> targets;
};

/// One file_sd or http_sd block (Prometheus' discovery.Discoverer): finds
/// its targets again and again, keeps the last good ones when a file or an
/// answer is bad, and calls back when they change.
class Discoverer {
 public:
  virtual ~Discoverer() = default;
  /// Starts finding: the first find at once, then every refresh_interval.
  virtual void Start() = 0;
  /// Stops finding; a find under way is dropped.
  virtual void Stop() = 0;

  const std::string& id() const { return id_; }
  void set_id(std::string id) { id_ = std::move(id); }
  std::shared_ptr<const std::vector<ServiceConfig>> targets() const {
    return targets_;
  }

 protected:
  std::string id_;
  std::shared_ptr<const std::vector<ServiceConfig>> targets_ =
      std::make_shared<const std::vector<ServiceConfig>>();
};

/// The file_sd and http_sd blocks of the config. Not thread-safe: call from
/// the I/O thread; the changed callback runs there too.
class Discovery {
 public:
  /// `files` is the file thread (file_sd reads); `changed` is called when
  /// a block's targets change.
  Discovery(boost::asio::any_io_executor io, boost::asio::thread_pool& files,
            std::function<void()> changed);
  ~Discovery();

  /// Takes the blocks of `next`: an unchanged block keeps running and its
  /// targets; a changed http_sd block keeps the targets of the block it
  /// replaces at its position until its first answer; the others start.
  void Apply(const Config& next);
  /// Stops every block.
  void Stop();

  /// Every block's targets, in config order (file_sd, then http_sd).
  std::vector<DiscoveredTargets> Targets() const;
  std::size_t size() const { return blocks_.size(); }

 private:
  boost::asio::any_io_executor io_;
  boost::asio::thread_pool& files_;
  std::function<void()> changed_;
  std::vector<std::shared_ptr<Discoverer>> blocks_;
};

}  // namespace sse
