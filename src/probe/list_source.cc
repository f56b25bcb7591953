#include "sse/probe/list_source.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "sse/probe/source.h"

namespace sse {

namespace {

// One item of a list as read from the document: only what the list's
// fields name (nested values are never kept).
struct RawItem {
  bool object = false;
  std::optional<std::string> name, type, state;  // when strings
};

// Validates the items into a list: unusable ones skipped (with a problem),
// later duplicates skipped, unusable types and states defaulted.
ServiceList BuildList(std::vector<RawItem>& raw, const ListConfig& list) {
  ServiceList out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    RawItem& item = raw[i];
    const std::string where = "item " + std::to_string(i);
    if (!item.object) {
      out.problems.push_back(where + " is not an object");
      continue;
    }
    if (!item.name) {
      out.problems.push_back(where + " has no string \"" + list.name_field +
                             "\"");
      continue;
    }
    ListItem entry;
    entry.name = std::move(*item.name);
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
    if (item.type && CheckStateString(*item.type, kMaxNameLength).empty()) {
      entry.type = std::move(*item.type);
    }
    entry.state = kStateUnknown;
    if (item.state) {
      std::string state =
          NormalizeState(*item.state, list.poll.state_map, list.poll.keep_case);
      if (CheckStateString(state).empty()) {
        entry.state = std::move(state);
      } else {
        out.problems.push_back(where + " (" + entry.name + "): unusable state");
      }
    } else {
      out.problems.push_back(where + " (" + entry.name + "): no string \"" +
                             list.state_field + "\"");
    }
    out.items.push_back(std::move(entry));
  }
  return out;
}

std::string TooMany(std::size_t count, const ListConfig& list, bool more) {
  return "the list has " + std::string(more ? "more than " : "") +
         std::to_string(count) + " items, more than max_services (" +
         std::to_string(list.max_services) + ")";
}

// The tokens of an RFC 6901 pointer ("" is the whole document).
std::vector<std::string> PointerTokens(const std::string& pointer) {
  std::vector<std::string> tokens;
  std::size_t at = 0;
  while (at < pointer.size()) {
    std::size_t next = pointer.find('/', at + 1);
    std::string token = pointer.substr(
        at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    std::string plain;
    for (std::size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        plain += token[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        plain += token[i];
      }
    }
    tokens.push_back(std::move(plain));
    if (next == std::string::npos) break;
    at = next;
  }
  return tokens;
}

// Reads the items of a list straight from the text, without building the
// document: a body of many megabytes costs only its items' few fields, and
// counting stops at max_services + 1. nlohmann's DOM would take several
// times the body, and running out of memory while it is destroyed
// terminates the process (its destructor allocates).
class ListSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  ListSax(const ListConfig& list)
      : list_(list), tokens_(PointerTokens(list.items_pointer)) {}

  bool null() override { return Value("null"); }
  bool boolean(bool) override { return Value("boolean"); }
  bool number_integer(number_integer_t) override { return Value("number"); }
  bool number_unsigned(number_unsigned_t) override { return Value("number"); }
  bool number_float(number_float_t, const string_t&) override {
    return Value("number");
  }
  bool binary(binary_t&) override { return Value("binary"); }
  bool string(string_t& val) override {
    if (!Value("string")) return false;
    // A field of an item: its parent is the item.
    if (item_depth_ > 0 && frames_.size() == item_depth_) {
      const std::string& key = frames_.back().key;
      RawItem& item = items_.back();
      if (key == list_.name_field) item.name = val;
      if (key == list_.type_field) item.type = val;
      if (key == list_.state_field) item.state = val;
    }
    return true;
  }
  bool start_object(std::size_t) override { return Open(false); }
  bool key(string_t& val) override {
    Frame& f = frames_.back();
    f.key = val;
    // A later duplicate of a field replaces it, as in the document.
    if (item_depth_ > 0 && frames_.size() == item_depth_) {
      RawItem& item = items_.back();
      if (val == list_.name_field) item.name.reset();
      if (val == list_.type_field) item.type.reset();
      if (val == list_.state_field) item.state.reset();
    }
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(true); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    error_ = "body is not valid JSON";
    return false;
  }

  bool found() const { return found_; }
  bool too_many() const { return too_many_; }
  const std::string& error() const { return error_; }
  std::vector<RawItem>& items() { return items_; }

 private:
  struct Frame {
    bool array = false;
    std::size_t index = 0;  // of the next element (arrays)
    std::string key;        // of the current member (objects)
    int match = -1;         // its path's length if a prefix of the pointer
  };

  // A value begins: where it is against the pointer, and what it is to
  // the list. False stops the parse.
  bool Begin(const char* type, bool container, bool array, int& match) {
    match = -1;
    if (frames_.empty()) {
      match = 0;
    } else {
      Frame& parent = frames_.back();
      if (parent.match >= 0 &&
          parent.match < static_cast<int>(tokens_.size()) &&
          (parent.array ? std::to_string(parent.index) : parent.key) ==
              tokens_[static_cast<std::size_t>(parent.match)]) {
        match = parent.match + 1;
      }
      // An element of the target array is an item.
      if (target_depth_ > 0 && frames_.size() == target_depth_) {
        if (items_.size() >= static_cast<std::size_t>(list_.max_services)) {
          too_many_ = true;
          error_ = TooMany(items_.size(), list_, true);
          return false;
        }
        items_.emplace_back();
        items_.back().object = container && !array;
        if (items_.back().object) item_depth_ = frames_.size() + 1;
      }
      if (parent.array) ++parent.index;
    }
    if (match == static_cast<int>(tokens_.size()) && !found_) {
      found_ = true;
      if (!array) {
        error_ = "value at " + list_.items_pointer + " is a " + type +
                 ", not an array";
        return false;
      }
      target_depth_ = frames_.size() + 1;
    }
    return true;
  }
  bool Value(const char* type) {
    int match;
    return Begin(type, false, false, match);
  }
  bool Open(bool array) {
    int match;
    if (!Begin(array ? "array" : "object", true, array, match)) return false;
    frames_.push_back(Frame{array, 0, {}, match});
    return true;
  }
  bool Close() {
    if (frames_.size() == item_depth_) item_depth_ = 0;
    if (frames_.size() == target_depth_) target_depth_ = 0;
    frames_.pop_back();
    return true;
  }

  const ListConfig& list_;
  std::vector<std::string> tokens_;
  std::vector<Frame> frames_;
  std::size_t target_depth_ = 0;  // frames when inside the target array
  std::size_t item_depth_ = 0;    // frames when inside an item object
  bool found_ = false;
  bool too_many_ = false;
  std::string error_;
  std::vector<RawItem> items_;
};

}  // namespace

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
      error = TooMany(items.size(), list, false);
      if (too_many != nullptr) *too_many = true;
      return std::nullopt;
    }
    std::vector<RawItem> raw(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      const nlohmann::json& item = items[i];
      if (!item.is_object()) continue;
      raw[i].object = true;
      auto field =
          [&item](const std::string& name) -> std::optional<std::string> {
        auto it = item.find(name);
        if (it == item.end() || !it->is_string()) return std::nullopt;
        return it->get<std::string>();
      };
      raw[i].name = field(list.name_field);
      raw[i].type = field(list.type_field);
      raw[i].state = field(list.state_field);
    }
    return BuildList(raw, list);
  } catch (const nlohmann::json::exception& e) {
    error = std::string("JSON error: ") + e.what();
    return std::nullopt;
  }
}

std::optional<ServiceList> ParseServiceList(std::string_view body,
                                            const ListConfig& list,
                                            std::string& error,
                                            bool* too_many) {
  if (JsonTooDeep(body, kMaxJsonDepth)) {
    error =
        "JSON nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return std::nullopt;
  }
  ListSax sax(list);
  const bool parsed = nlohmann::json::sax_parse(body, &sax);
  if (!parsed || !sax.error().empty()) {
    if (sax.too_many() && too_many != nullptr) *too_many = true;
    error = sax.error().empty() ? "body is not valid JSON" : sax.error();
    return std::nullopt;
  }
  if (!sax.found()) {
    error = "JSON has no value at " + list.items_pointer;
    return std::nullopt;
  }
  return BuildList(sax.items(), list);
}

}  // namespace sse
