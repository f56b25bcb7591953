#include "sse/list_source.h"

#include <nlohmann/json.hpp>
#include <set>

#include "sse/source.h"

namespace sse {

std::optional<ServiceList> ServiceListFromJson(const nlohmann::json& doc,
                                               const ListConfig& list,
                                               std::string& error,
                                               bool* too_many) {
  try {
    nlohmann::json::json_pointer pointer(list.items_pointer);
    if (!doc.contains(pointer)) {
      error = "JSON has no value at " + list.items_pointer;
      return std::nullopt;
    }
    const nlohmann::json& items = doc.at(pointer);
    if (!items.is_array()) {
      error = "value at " + list.items_pointer + " is a " + items.type_name() +
              ", not an array";
      return std::nullopt;
    }
    if (items.size() > static_cast<std::size_t>(list.max_services)) {
      error = "the list has " + std::to_string(items.size()) +
              " items, more than max_services (" +
              std::to_string(list.max_services) + ")";
      if (too_many != nullptr) *too_many = true;
      return std::nullopt;
    }
    ServiceList out;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const nlohmann::json& item = items[i];
      const std::string where = "item " + std::to_string(i);
      if (!item.is_object()) {
        out.problems.push_back(where + " is not an object");
        continue;
      }
      auto name_it = item.find(list.name_field);
      if (name_it == item.end() || !name_it->is_string()) {
        out.problems.push_back(where + " has no string \"" + list.name_field +
                               "\"");
        continue;
      }
      ListItem entry;
      entry.name = name_it->get<std::string>();
      if (std::string problem = CheckStateString(entry.name, kMaxNameLength);
          !problem.empty()) {
        out.problems.push_back(where + ": name unusable (" + problem.substr(6) +
                               ")");
        continue;
      }
      if (!seen.insert(entry.name).second) {
        out.problems.push_back(where + ": duplicate name \"" + entry.name +
                               "\" skipped");
        continue;
      }
      entry.type = list.default_type;
      if (auto t = item.find(list.type_field);
          t != item.end() && t->is_string() &&
          CheckStateString(t->get<std::string>(), kMaxNameLength).empty()) {
        entry.type = t->get<std::string>();
      }
      entry.state = kStateUnknown;
      auto state_it = item.find(list.state_field);
      if (state_it != item.end() && state_it->is_string()) {
        std::string state =
            NormalizeState(state_it->get<std::string>(), list.poll.state_map,
                           list.poll.keep_case);
        if (CheckStateString(state).empty()) {
          entry.state = std::move(state);
        } else {
          out.problems.push_back(where + " (" + entry.name +
                                 "): unusable state");
        }
      } else {
        out.problems.push_back(where + " (" + entry.name + "): no string \"" +
                               list.state_field + "\"");
      }
      out.items.push_back(std::move(entry));
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    error = std::string("JSON error: ") + e.what();
    return std::nullopt;
  }
}

std::optional<ServiceList> ParseServiceList(std::string_view body,
                                            const ListConfig& list,
                                            std::string& error,
                                            bool* too_many) {
  std::optional<nlohmann::json> doc = ParseUntrustedJson(body, error);
  if (!doc) return std::nullopt;
  return ServiceListFromJson(*doc, list, error, too_many);
}

}  // namespace sse
