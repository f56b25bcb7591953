#pragma once

#include <memory>

#include "sse/config/flags.h"

namespace sse {

/// The exporter: loads the config, polls services, serves HTTP, reloads on
/// SIGHUP or POST /-/reload, stops on SIGTERM/SIGINT. One io_context thread
/// runs everything.
class App {
 public:
  explicit App(Flags flags);
  ~App();

  /// Runs until SIGTERM or SIGINT. Returns the process exit code: 0 after
  /// a signal, 1 if the config cannot be loaded or the address bound.
  int Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sse
