// Fuzzes the fleet documents a hostile target can send: a json_list body,
// an MCP answer (JSON or an SSE stream, then the tools/call result inside
// it), and a file_sd / http_sd target document (JSON or YAML).
//
// Input: the first byte picks the document kind (mod 5), the rest is the
// document.

#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "sse/discovery/target_groups.h"
#include "sse/probe/list_source.h"
#include "sse/probe/mcp.h"

namespace {

bool UsableLabel(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return sse::fuzz::StrictUtf8(s);
}

// What the exporter relies on from a parsed list: usable, unique names,
// usable types and states, and a reason for every failure.
void CheckList(const std::optional<sse::ServiceList>& list,
               const std::string& error) {
  if (!list) {
    if (error.empty()) sse::fuzz::Fail("list refused without a reason");
    return;
  }
  std::set<std::string> names;
  for (const auto& item : list->items) {
    if (!UsableLabel(item.name, sse::kMaxNameLength))
      sse::fuzz::Fail("unusable service name");
    if (!names.insert(item.name).second)
      sse::fuzz::Fail("duplicate service name");
    if (!UsableLabel(item.type, sse::kMaxNameLength))
      sse::fuzz::Fail("unusable service type");
    if (!UsableLabel(item.state, sse::kMaxStateLength))
      sse::fuzz::Fail("unusable state");
  }
}

void FuzzMcp(std::string_view body, const char* content_type,
             const sse::ListConfig& list) {
  sse::HttpResult http;
  http.status = 200;
  http.headers.emplace_back("content-type", content_type);
  http.body = std::string(body);
  std::string error;
  auto response = sse::FindJsonRpcResponse(http, 2, error);
  if (!response) {
    if (error.empty()) sse::fuzz::Fail("MCP response refused without a reason");
    return;
  }
  if (!response->contains("result")) return;
  // Both ways a list comes back: called directly, and through muster's
  // call_tool envelope.
  for (bool meta : {false, true}) {
    sse::ToolDocument read =
        meta ? sse::MetaToolResultDocument((*response)["result"])
             : sse::ToolResultDocument((*response)["result"]);
    if (!read.doc) {
      if (read.error.empty())
        sse::fuzz::Fail("tool result refused without a reason");
      continue;
    }
    if (read.tool_error) sse::fuzz::Fail("a tool error with a document");
    error.clear();
    CheckList(sse::ServiceListFromJson(*read.doc, list, error), error);
  }
}

void FuzzTargets(std::string_view text, bool yaml) {
  std::vector<sse::TargetGroup> groups;
  try {
    groups = sse::ParseTargetGroups(text, yaml);
  } catch (const std::invalid_argument& e) {
    if (std::string_view(e.what()).empty())
      sse::fuzz::Fail("targets refused without a reason");
    return;
  }
  sse::ServiceConfig tmpl;
  tmpl.type = "Discovered";
  std::vector<std::string> problems;
  auto services =
      sse::ServicesFromTargets(groups, tmpl, "http", "/health", problems);
  std::set<std::string> names;
  for (const auto& s : services) {
    if (!UsableLabel(s.name, sse::kMaxNameLength))
      sse::fuzz::Fail("unusable discovered name");
    if (!UsableLabel(s.type, sse::kMaxNameLength))
      sse::fuzz::Fail("unusable discovered type");
    if (!names.insert(s.name).second)
      sse::fuzz::Fail("duplicate discovered name");
    if (s.url.host.empty())
      sse::fuzz::Fail("discovered service without a host");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return 0;
  const std::string_view doc(reinterpret_cast<const char*>(data) + 1, size - 1);
  sse::ListConfig list;  // the aggregator's field names, the defaults
  list.default_type = "Service";
  switch (data[0] % 5) {
    case 0: {
      std::string error;
      CheckList(sse::ParseServiceList(doc, list, error), error);
      break;
    }
    case 1:
      FuzzMcp(doc, "text/event-stream", list);
      break;
    case 2:
      FuzzMcp(doc, "application/json", list);
      break;
    case 3:
      FuzzTargets(doc, false);
      break;
    case 4:
      FuzzTargets(doc, true);
      break;
  }
  return 0;
}
