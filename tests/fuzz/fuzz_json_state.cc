// Fuzzes JSON state extraction (pointer + state_map) and the state string
// checks, i.e. everything a hostile body can reach in src/probe/source.cc.
//
// Input: first line = JSON pointer, the rest = body.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "sse/probe/prober.h"
#include "sse/probe/source.h"

namespace {

bool UsableLabel(std::string_view s) {
  if (s.empty() || s.size() > sse::kMaxStateLength) return false;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return sse::fuzz::StrictUtf8(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // CheckStateString against an independent oracle: whatever it accepts
  // becomes a label value, and Prometheus refuses a scrape with invalid
  // UTF-8 in one.
  const bool accepted = sse::CheckStateString(input).empty();
  if (accepted != UsableLabel(input)) {
    sse::fuzz::Fail(accepted
                        ? "CheckStateString accepted an unusable label value"
                        : "CheckStateString refused a usable label value");
  }

  const std::size_t newline = input.find('\n');
  const std::string pointer(
      input.substr(0, newline == std::string_view::npos ? 0 : newline));
  const std::string_view body =
      newline == std::string_view::npos ? input : input.substr(newline + 1);

  std::string error;
  auto state = sse::ExtractJsonState(body, pointer, error);
  if (state && (!error.empty() || !UsableLabel(*state))) {
    sse::fuzz::Fail("ExtractJsonState returned an unusable state");
  }
  if (!state && error.empty())
    sse::fuzz::Fail("ExtractJsonState failed without a reason");

  // The whole observation path of a json service with a state_map.
  sse::ServiceConfig service;
  service.name = "fuzz";
  service.source = sse::SourceKind::kJson;
  service.state_pointer =
      pointer.empty() || pointer[0] == '/' ? pointer : "/state";
  service.state_map = {{"UP", "running"}, {"DOWN", "Failed"}, {"X", "\x01"}};
  for (unsigned status : {200u, 503u}) {
    sse::HttpResult http;
    http.status = status;
    http.body = std::string(body);
    const sse::Probe obs = sse::ObserveService(service, http);
    if (obs.outcome == sse::Outcome::kOk) {
      if (!UsableLabel(obs.state))
        sse::fuzz::Fail("ok observation with an unusable state");
      if (!obs.error.empty()) sse::fuzz::Fail("ok observation with an error");
    } else if (obs.state != "unknown" && obs.state != "error") {
      sse::fuzz::Fail("failed observation with an unexpected state");
    }
  }
  return 0;
}
