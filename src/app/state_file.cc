#include "sse/app/state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "sse/core/history.h"
#include "sse/core/outcome.h"
#include "sse/core/states.h"
#include "sse/util/file_read.h"
#include "sse/util/json.h"
#include "sse/util/text.h"

namespace sse {
namespace {

// Most transitions one saved service may have (a service has at most
// max_states_per_service states, so far fewer pairs in practice).
constexpr std::size_t kMaxSavedTransitions = 65536;

void AppendJsonString(std::string& out, const std::string& text) {
  out += nlohmann::json(text).dump(-1, ' ', false,
                                   nlohmann::json::error_handler_t::replace);
}

void AppendNumber(std::string& out, double value) {
  out += nlohmann::json(value).dump();
}

// A string of a saved entry, checked as a label value from a target.
std::string LabelString(const nlohmann::json& entry, const char* key,
                        std::size_t max_length, const std::string& service) {
  auto it = entry.find(key);
  if (it == entry.end() || !it->is_string()) {
    throw std::invalid_argument("service \"" + service + "\": \"" + key +
                                "\" is not a string");
  }
  const auto& text = it->get_ref<const std::string&>();
  if (std::string problem = CheckStateString(text, max_length);
      !problem.empty()) {
    throw std::invalid_argument("service \"" + service + "\": " + key + ": " +
                                problem);
  }
  return text;
}

double Number(const nlohmann::json& entry, const char* key,
              const std::string& service) {
  auto it = entry.find(key);
  if (it == entry.end() || !it->is_number() ||
      !std::isfinite(it->get<double>())) {
    throw std::invalid_argument("service \"" + service + "\": \"" + key +
                                "\" is not a finite number");
  }
  return it->get<double>();
}

// A saved history: entries oldest first, each as the tracker would have
// made it.
PackedHistory ParseHistory(const nlohmann::json& history,
                           const std::string& service, double now) {
  auto bad = [&](const std::string& what) {
    return std::invalid_argument("service \"" + service +
                                 "\": history: " + what);
  };
  if (!history.is_array()) throw bad("not an array");
  if (history.empty()) return {};
  const std::size_t skip =
      history.size() > kMaxHistorySize ? history.size() - kMaxHistorySize : 0;
  auto events = std::make_unique<std::vector<HistoryEvent>>();
  events->reserve(history.size() - skip);
  for (std::size_t i = skip; i < history.size(); ++i) {
    const nlohmann::json& e = history[i];
    if (!e.is_object()) throw bad("an entry is not an object");
    HistoryEvent event;
    event.time = Number(e, "time", service);
    if (event.time < 0 || event.time > now + kMaxStateFutureSeconds)
      throw bad("\"time\" is not a plausible time");
    if (!events->empty() && event.time < events->back().time)
      throw bad("entries are not in time order");
    event.from = LabelString(e, "from", kMaxStateLength, service);
    event.to = LabelString(e, "to", kMaxStateLength, service);
    auto outcome = e.find("outcome");
    std::optional<Outcome> known;
    if (outcome != e.end() && outcome->is_string())
      known = OutcomeFromName(outcome->get_ref<const std::string&>());
    if (!known) throw bad("\"outcome\" is not a poll outcome");
    event.outcome = *known;
    auto error = e.find("error");
    if (error == e.end() || !error->is_string())
      throw bad("\"error\" is not a string");
    const auto& text = error->get_ref<const std::string&>();
    if (!IsValidUtf8(text)) throw bad("\"error\" is not valid UTF-8");
    event.error = TruncateUtf8(text, kMaxHistoryErrorLength);
    auto counted = e.find("counted");
    if (counted == e.end() || !counted->is_boolean())
      throw bad("\"counted\" is not a boolean");
    event.counted = counted->get<bool>();
    events->push_back(std::move(event));
  }
  return PackedHistory::Pack(*events);
}

}  // namespace

std::string SerializeState(const PersistedState& state, double saved_at) {
  std::string out;
  out.reserve(64 + state.size() * 160);
  out += "{\n \"format\": ";
  AppendJsonString(out, kStateFormat);
  out += ",\n \"saved_at\": ";
  AppendNumber(out, saved_at);
  out += ",\n \"services\": {";
  bool first = true;
  for (const auto& [name, s] : state) {
    out += first ? "\n  " : ",\n  ";
    first = false;
    AppendJsonString(out, name);
    out += ": {\"type\": ";
    AppendJsonString(out, s.type);
    out += ", \"state\": ";
    AppendJsonString(out, s.state);
    out += ", \"since\": ";
    AppendNumber(out, s.since);
    out += ", \"transitions\": [";
    bool first_pair = true;
    for (const auto& [pair, count] : s.transitions) {
      out += first_pair ? "{\"from\": " : ", {\"from\": ";
      first_pair = false;
      AppendJsonString(out, pair.first);
      out += ", \"to\": ";
      AppendJsonString(out, pair.second);
      out += ", \"count\": ";
      AppendNumber(out, count);
      out += "}";
    }
    out += "]";
    if (!s.history.empty()) {
      out += ", \"history\": [";
      bool first_event = true;
      for (const HistoryEvent& e : s.history.Unpack()) {
        out += first_event ? "\n   {\"time\": " : ",\n   {\"time\": ";
        first_event = false;
        AppendNumber(out, e.time);
        out += ", \"from\": ";
        AppendJsonString(out, e.from);
        out += ", \"to\": ";
        AppendJsonString(out, e.to);
        out += ", \"outcome\": \"";
        out += OutcomeName(e.outcome);
        out += "\", \"error\": ";
        AppendJsonString(out, e.error);
        out += e.counted ? ", \"counted\": true}" : ", \"counted\": false}";
      }
      out += "]";
    }
    out += "}";
  }
  out += first ? "}\n}\n" : "\n }\n}\n";
  return out;
}

PersistedState ParseState(std::string_view text, double now) {
  std::string error;
  std::optional<nlohmann::json> parsed = ParseUntrustedJson(text, error);
  if (!parsed) throw std::invalid_argument("not valid JSON (" + error + ")");
  const nlohmann::json& doc = *parsed;
  auto format = doc.is_object() ? doc.find("format") : doc.end();
  if (!doc.is_object() || format == doc.end() || !format->is_string() ||
      (*format != kStateFormat && *format != kStateFormatV1)) {
    throw std::invalid_argument(
        std::string("not a state file of this exporter (no \"format\": \"") +
        kStateFormat + "\")");
  }
  auto services = doc.find("services");
  if (services == doc.end() || !services->is_object())
    throw std::invalid_argument("\"services\" is not an object");
  PersistedState out;
  for (const auto& [name, s] : services->items()) {
    if (std::string problem = CheckStateString(name, kMaxNameLength);
        !problem.empty()) {
      throw std::invalid_argument("a service name: " + problem);
    }
    if (!s.is_object())
      throw std::invalid_argument("service \"" + name + "\" is not an object");
    PersistedService p;
    p.type = LabelString(s, "type", kMaxNameLength, name);
    p.state = LabelString(s, "state", kMaxStateLength, name);
    p.since = Number(s, "since", name);
    if (p.since < 0 || p.since > now + kMaxStateFutureSeconds) {
      throw std::invalid_argument("service \"" + name +
                                  "\": \"since\" is not a plausible time");
    }
    auto transitions = s.find("transitions");
    if (transitions == s.end() || !transitions->is_array())
      throw std::invalid_argument("service \"" + name +
                                  "\": \"transitions\" is not an array");
    if (transitions->size() > kMaxSavedTransitions)
      throw std::invalid_argument("service \"" + name +
                                  "\": too many transitions");
    for (const auto& t : *transitions) {
      if (!t.is_object())
        throw std::invalid_argument("service \"" + name +
                                    "\": a transition is not an object");
      const double count = Number(t, "count", name);
      if (count < 0)
        throw std::invalid_argument("service \"" + name + "\": negative count");
      p.transitions[{LabelString(t, "from", kMaxStateLength, name),
                     LabelString(t, "to", kMaxStateLength, name)}] = count;
    }
    if (auto history = s.find("history"); history != s.end()) {
      p.history = ParseHistory(*history, name, now);
    }
    out.emplace(name, std::move(p));
  }
  return out;
}

void WriteFileAtomic(const std::string& path, std::string_view content) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  // Appended, not "." + name + ".tmp": GCC 12 at -O3 warns falsely
  // (-Wrestrict) on operator+(const char*, std::string&&).
  std::string name = ".";
  name += target.filename().string();
  name += ".tmp";
  std::string tmp = (dir / name).string();
  // A leftover (or planted) temp file goes first; then ours is made new.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    throw std::runtime_error("remove " + tmp + ": " + std::strerror(errno));
  }
  int fd = ::open(tmp.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("open " + tmp + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error("write " + tmp + ": " + std::strerror(err));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw std::runtime_error("fsync " + tmp + ": " + std::strerror(err));
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("close " + tmp + ": " + std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("rename to " + path + ": " + std::strerror(err));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

PersistedState LoadStateFile(const std::string& path, double now,
                             std::string& error) {
  FileRead read = ReadRegularFile(path, kMaxStateFileBytes);
  if (read.error == FileReadError::kMissing) return {};
  if (!read.ok()) {
    error = read.message;
    return {};
  }
  try {
    return ParseState(read.data, now);
  } catch (const std::invalid_argument& e) {
    error = path + ": " + e.what();
  } catch (const std::exception& e) {  // bad_alloc, or a bug
    error = path + ": cannot be loaded: " + e.what();
  }
  return {};
}

}  // namespace sse
