#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sse/config/config.h"

namespace sse {

/// One service reported by a list.
struct ListItem {
  std::string name;
  std::string type;
  std::string state;  ///< normalised (state_map, case), or "unknown"
};

/// A parsed list document.
struct ServiceList {
  std::vector<ListItem> items;  ///< unique names, in document order
  /// Items skipped or degraded, one text each (bad name, duplicate, ...).
  std::vector<std::string> problems;
};

/// Parses a json_list document: the array at `list.items_pointer`, each
/// item an object with name, type and state fields. Items without a usable
/// name are skipped; a later duplicate of a name is skipped; an unusable
/// state becomes "unknown". Returns nullopt and sets `error` if the body is
/// not JSON, has no array at the pointer, or (then `too_many` is set, if
/// given) has more than `list.max_services` items. Never throws but
/// std::bad_alloc.
std::optional<ServiceList> ParseServiceList(std::string_view body,
                                            const ListConfig& list,
                                            std::string& error,
                                            bool* too_many = nullptr);

/// The same, for an already parsed document (the MCP source).
std::optional<ServiceList> ServiceListFromJson(const nlohmann::json& doc,
                                               const ListConfig& list,
                                               std::string& error,
                                               bool* too_many = nullptr);

}  // namespace sse
