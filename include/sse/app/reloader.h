#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sse {

/// Runs reloads (SIGHUP, POST /-/reload): `load` reads and parses on the
/// file thread, so that a large file never holds up polls, scrapes or
/// health checks; `apply` takes the result on the I/O thread; then every
/// request that waited is answered. One reload runs at a time; those asked
/// for meanwhile are served together by the next one, which reads the files
/// after they were asked for. Not thread-safe: I/O thread.
template <typename Loaded>
class Reloader {
 public:
  using Done = std::function<void(bool ok, const std::string& error)>;
  /// Returns false and sets the error when the reload is rejected.
  using Apply = std::function<bool(Loaded loaded, std::string& error)>;

  /// `started` is called on the I/O thread as each reload starts.
  Reloader(boost::asio::any_io_executor io, boost::asio::thread_pool& files,
           std::function<Loaded()> load, Apply apply,
           std::function<void()> started)
      : io_(io),
        files_(files),
        load_(std::move(load)),
        apply_(std::move(apply)),
        started_(std::move(started)) {}

  /// Asks for a reload; `done` is called on the I/O thread once it is
  /// applied or rejected.
  void Reload(Done done) {
    waiting_.push_back(std::move(done));
    if (!running_) Run();
  }

  /// From now on every reload fails with "the exporter is stopping".
  void Stop() { stopping_ = true; }

 private:
  void Run() {
    running_ = true;
    started_();
    auto waiting = std::make_shared<std::vector<Done>>(std::move(waiting_));
    waiting_.clear();
    boost::asio::post(files_, [this, waiting] {
      auto loaded = std::make_shared<Loaded>(load_());
      boost::asio::post(io_, [this, waiting, loaded] {
        std::string error;
        const bool ok = !stopping_ && apply_(std::move(*loaded), error);
        if (stopping_ && error.empty()) error = "the exporter is stopping";
        for (auto& done : *waiting) done(ok, error);
        running_ = false;
        if (waiting_.empty()) return;
        if (stopping_) {
          for (auto& done : waiting_) done(false, error);
          waiting_.clear();
        } else {
          Run();
        }
      });
    });
  }

  boost::asio::any_io_executor io_;
  boost::asio::thread_pool& files_;
  std::function<Loaded()> load_;
  Apply apply_;
  std::function<void()> started_;
  std::vector<Done> waiting_;
  bool running_ = false;
  bool stopping_ = false;
};

}  // namespace sse
