// Fuzzes config loading: YAML parsing, validation and every value parser
// behind it. Input: the YAML text. Secret and TLS files resolve against an
// empty directory holding a token and a password file, so a fuzzed config
// never reads anything but those.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_util.h"
#include "sse/config/config.h"

namespace {

const char kToken[] = "t0ken-9d2c";
const char kPassword[] = "passw0rd-41f7";

const std::filesystem::path& BaseDir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() /
             ("sse-fuzz-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::ofstream(d / "token") << kToken << "\n";
    std::ofstream(d / "password") << kPassword << "\n";
    return d;
  }();
  return dir;
}

bool UsableLabel(const std::string& s) {
  for (char c : s) {
    if (c == '\0') return false;
  }
  return !s.empty() && sse::fuzz::StrictUtf8(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  // Absolute paths could name anything on this machine (a FIFO, a device):
  // the loader bounds those, but the fuzzer should not wander there.
  if (yaml.find("_file") != std::string::npos &&
      yaml.find('/') != std::string::npos) {
    return -1;
  }
  sse::Config config;
  try {
    config = sse::ParseConfig(yaml, "fuzz.yaml", BaseDir());
  } catch (const sse::ConfigError& e) {
    const std::string message = e.what();
    if (message.rfind("fuzz.yaml", 0) != 0)
      sse::fuzz::Fail("error does not name the file");
    // Secrets read from files never show up in messages (unless the YAML
    // itself has the same text, which messages may quote).
    if ((message.find(kToken) != std::string::npos &&
         yaml.find(kToken) == std::string::npos) ||
        (message.find(kPassword) != std::string::npos &&
         yaml.find(kPassword) == std::string::npos)) {
      sse::fuzz::Fail("secret in an error message");
    }
    return 0;
  }
  // What a valid config promises the rest of the exporter.
  if (!sse::IsValidMetricName(config.global.metric_namespace)) {
    sse::fuzz::Fail("invalid namespace accepted");
  }
  for (const auto& s : config.services) {
    if (!UsableLabel(s.name) || !UsableLabel(s.type)) {
      sse::fuzz::Fail("service name or type is not a usable label value");
    }
    if (s.url.scheme != "http" && s.url.scheme != "https")
      sse::fuzz::Fail("bad scheme");
    if (s.url.host.empty() || s.url.target.empty() || s.url.target[0] != '/') {
      sse::fuzz::Fail("bad URL parts");
    }
    if (s.interval.count() <= 0 || s.timeout.count() <= 0 ||
        s.timeout > s.interval) {
      sse::fuzz::Fail("bad interval or timeout");
    }
    if (s.max_body_bytes == 0 || s.max_states < 1 || s.transition_after < 1) {
      sse::fuzz::Fail("bad limits");
    }
    for (const auto& [name, value] : s.headers) {
      if (name.empty() || value.find_first_of("\r\n") != std::string::npos) {
        sse::fuzz::Fail("bad header");
      }
    }
    // A valid URL parses again to the same parts.
    if (!(sse::ParseUrl(s.url.text) == s.url))
      sse::fuzz::Fail("URL does not round-trip");
  }
  return 0;
}
