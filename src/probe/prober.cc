#include "sse/probe/prober.h"

#include <array>
#include <new>

#include "sse/core/states.h"
#include "sse/probe/source.h"

namespace sse {
namespace {

Probe Failed(Outcome outcome, std::string state, std::string error) {
  Probe probe;
  probe.outcome = outcome;
  probe.state = std::move(state);
  probe.error = std::move(error);
  return probe;
}

// http_status: the status is the state (status_map, then the defaults).
Probe ReadStatus(const ProbeTarget& target, const HttpResult& http) {
  Probe probe;
  probe.state = StateFromStatus(http.status, target.poll.status_map);
  return probe;
}

// json: the string at state_pointer; without one, a non-2xx status still
// says what the service is.
Probe ReadJson(const ProbeTarget& target, const HttpResult& http) {
  const ServiceConfig& service = target.poll;
  std::string error;
  if (auto raw = ExtractJsonState(http.body, service.state_pointer, error)) {
    Probe probe;
    probe.state = NormalizeState(*raw, service.state_map, service.keep_case);
    if (std::string problem = CheckStateString(probe.state); !problem.empty())
      return Failed(Outcome::kInvalidBody, kStateUnknown, "mapped " + problem);
    return probe;
  }
  if (http.status < 200 || http.status >= 300) {
    // No state in the body: the status is what the service said.
    return Failed(
        Outcome::kHttpError, StateFromStatus(http.status, service.status_map),
        "HTTP status " + std::to_string(http.status) + " and " + error);
  }
  return Failed(Outcome::kInvalidBody, kStateUnknown, error);
}

// json_list and mcp (whose session hands over the tool's document): a 2xx
// answer holding the list.
Probe ReadList(const ProbeTarget& target, const HttpResult& http) {
  if (std::string error = StatusError(http); !error.empty())
    return Failed(Outcome::kHttpError, kStateUnknown, std::move(error));
  Probe probe;
  bool too_many = false;
  probe.list =
      ParseServiceList(http.body, *target.list, probe.error, &too_many);
  if (!probe.list) {
    probe.outcome = too_many ? Outcome::kTooLarge : Outcome::kInvalidBody;
    probe.state = kStateUnknown;
  }
  return probe;
}

constexpr std::array<Prober, kProbeKindCount> kProbers = {
    ReadStatus,  // kHttpStatus
    ReadJson,    // kJson
    ReadList,    // kJsonList
    ReadList,    // kMcp
};

}  // namespace

const char* ProbeKindName(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kHttpStatus:
      return "http_status";
    case ProbeKind::kJson:
      return "json";
    case ProbeKind::kJsonList:
      return "json_list";
    case ProbeKind::kMcp:
      return "mcp";
  }
  return "unknown";
}

ProbeKind KindOf(const ServiceConfig& service) {
  return service.source == SourceKind::kJson ? ProbeKind::kJson
                                             : ProbeKind::kHttpStatus;
}

ProbeKind KindOf(const ListConfig& list) {
  return list.kind == ListKind::kMcp ? ProbeKind::kMcp : ProbeKind::kJsonList;
}

Prober ProberFor(ProbeKind kind) {
  return kProbers[static_cast<std::size_t>(kind)];
}

std::optional<Probe> Classify(const HttpResult& http) {
  switch (http.outcome) {
    case Outcome::kOk:
      return std::nullopt;
    case Outcome::kTimeout:
    case Outcome::kConnectError:
    case Outcome::kTlsError:
      return Failed(http.outcome, kStateUnreachable, http.error);
    default:
      return Failed(http.outcome, kStateUnknown, http.error);
  }
}

Probe RunProbe(const ProbeTarget& target, const HttpResult& http) {
  if (auto failed = Classify(http)) return std::move(*failed);
  const ProbeKind kind =
      target.list ? KindOf(*target.list) : KindOf(target.poll);
  try {
    return ProberFor(kind)(target, http);
  } catch (const std::bad_alloc&) {
    // A body within max_body_bytes whose reading needs more memory than the
    // process may have: this poll fails, the exporter goes on.
    return Failed(Outcome::kTooLarge, kStateUnknown,
                  "out of memory reading the answer (" +
                      std::to_string(http.body.size()) + " bytes)");
  }
}

}  // namespace sse
