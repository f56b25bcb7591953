#include "sse/state_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace sse {

std::string SerializeState(const PersistedState& state, double saved_at) {
  nlohmann::ordered_json services = nlohmann::ordered_json::object();
  for (const auto& [name, s] : state) {
    nlohmann::ordered_json transitions = nlohmann::ordered_json::array();
    for (const auto& [pair, count] : s.transitions) {
      transitions.push_back(
          {{"from", pair.first}, {"to", pair.second}, {"count", count}});
    }
    services[name] = {{"type", s.type},
                      {"state", s.state},
                      {"since", s.since},
                      {"transitions", std::move(transitions)}};
  }
  nlohmann::ordered_json doc;
  doc["format"] = kStateFormat;
  doc["saved_at"] = saved_at;
  doc["services"] = std::move(services);
  return doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

PersistedState ParseState(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw std::invalid_argument("not valid JSON");
  if (!doc.is_object() || doc.value("format", "") != kStateFormat) {
    throw std::invalid_argument(
        std::string("not a state file of this exporter (no \"format\": \"") +
        kStateFormat + "\")");
  }
  const auto& services = doc["services"];
  if (!services.is_object())
    throw std::invalid_argument("\"services\" is not an object");
  PersistedState out;
  try {
    for (const auto& [name, s] : services.items()) {
      PersistedService p;
      p.type = s.at("type").get<std::string>();
      p.state = s.at("state").get<std::string>();
      p.since = s.at("since").get<double>();
      for (const auto& t : s.at("transitions")) {
        double count = t.at("count").get<double>();
        if (!(count >= 0)) throw std::invalid_argument("negative count");
        p.transitions[{t.at("from").get<std::string>(),
                       t.at("to").get<std::string>()}] = count;
      }
      if (p.type.empty() || p.state.empty())
        throw std::invalid_argument("empty type or state");
      out.emplace(name, std::move(p));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("malformed service entry: ") +
                                e.what());
  }
  return out;
}

void WriteFileAtomic(const std::string& path, std::string_view content) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmp =
      (dir / ("." + target.filename().string() + ".tmp")).string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("fsync " + tmp + ": " + std::strerror(err));
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

PersistedState LoadStateFile(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (std::filesystem::exists(path)) error = "cannot read " + path;
    return {};
  }
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  try {
    return ParseState(text);
  } catch (const std::invalid_argument& e) {
    error = path + ": " + e.what();
    return {};
  }
}

}  // namespace sse
