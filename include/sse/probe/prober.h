#pragma once

#include <optional>
#include <string>

#include "sse/config/config.h"
#include "sse/core/outcome.h"
#include "sse/http/result.h"
#include "sse/probe/list_source.h"

namespace sse {

/// The kinds of target, each read by its prober: a service's `source:`
/// (http_status, json) or a list's (json_list, mcp).
enum class ProbeKind { kHttpStatus, kJson, kJsonList, kMcp };
inline constexpr std::size_t kProbeKindCount = 4;

/// The kind's name as written in the config ("http_status", ...).
const char* ProbeKindName(ProbeKind kind);
ProbeKind KindOf(const ServiceConfig& service);
ProbeKind KindOf(const ListConfig& list);

/// What one poll of a target found.
struct Probe {
  Outcome outcome = Outcome::kOk;
  /// A service's state; on a failed poll the state it stands for
  /// (unreachable for a transport failure, else unknown or the state of the
  /// HTTP status).
  std::string state;
  std::string error;  ///< why the poll was not ok; empty when ok
  /// A list's services, when its poll was ok.
  std::optional<ServiceList> list;
};

/// A target as its prober sees it: a service, or a list (then `list` is
/// set and `poll` is its ServiceConfig::poll).
struct ProbeTarget {
  const ServiceConfig& poll;
  const ListConfig* list = nullptr;
};

/// Reads one answer of a target into a Probe. The answer's exchange has
/// been classified already (Classify): probers see only complete answers.
using Prober = Probe (*)(const ProbeTarget& target, const HttpResult& http);

/// The prober of each kind (blackbox_exporter's Probers map, by kind).
Prober ProberFor(ProbeKind kind);

/// The one outcome classifier of an exchange: nullopt for a complete
/// answer (its prober reads it), else the failed Probe: transport failures
/// (timeout, connect_error, tls_error) stand for `unreachable`, the others
/// (a malformed or oversized answer) for `unknown`.
std::optional<Probe> Classify(const HttpResult& http);

/// Classify, then the prober of the target's kind. Never throws: an
/// allocation failure while reading a body is a too_large poll.
Probe RunProbe(const ProbeTarget& target, const HttpResult& http);

/// One poll's reading for a service (RunProbe of the service).
inline Probe ObserveService(const ServiceConfig& service,
                            const HttpResult& http) {
  return RunProbe(ProbeTarget{service}, http);
}

}  // namespace sse
