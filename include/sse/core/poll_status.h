#pragma once

#include <string>

namespace sse {

/// What the exporter knows about one service's polling, beside the tracker.
struct PollStatus {
  bool polled = false;
  std::string outcome;     ///< label value of the last poll's outcome
  std::string error;       ///< last poll's error text (never a secret)
  std::string last_state;  ///< last observed state (after the cap)
  double last_poll = 0;    ///< Unix seconds
  double duration_seconds = 0;
  std::string url;  ///< the polled URL (credentials are never in URLs)
  double interval_seconds = 0;  ///< how often it is polled
};

}  // namespace sse
