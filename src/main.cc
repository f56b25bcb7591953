#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "sse/app/app.h"
#include "sse/config/config.h"
#include "sse/config/flags.h"
#include "sse/config/web_config.h"
#include "sse/util/log.h"
#include "sse/version.h"
#include "sse/web/server.h"

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // Large blocks (a scrape's body and its gzip, megabytes each) come from
  // mmap and go back to the system when freed. glibc raises this threshold
  // to the largest block freed so far, after which every scrape's buffers
  // stay in the heap for good.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
  sse::Flags flags;
  try {
    flags = sse::ParseFlags(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::invalid_argument& e) {
    std::cerr << "service_state_exporter: error: " << e.what()
              << ", try --help\n";
    return 2;
  }
  if (flags.help) {
    std::cout << sse::HelpText();
    return 0;
  }
  if (flags.version) {
    std::cout << "service_state_exporter, version " << sse::kVersion
              << " (revision: " << sse::kRevision << ")\n";
    return 0;
  }
  if (flags.config_check) {
    // One verdict per file, like promtool: the config, then the web config
    // when one is given; the exit code is 1 when either is invalid.
    int code = 0;
    try {
      sse::Config config = sse::LoadConfigFile(flags.config_file);
      std::cout << "SUCCESS: " << flags.config_file << " is valid ("
                << config.services.size() << " services, "
                << config.lists.size() << " lists, " << config.file_sd.size()
                << " file_sd and " << config.http_sd.size()
                << " http_sd blocks)" << std::endl;
    } catch (const std::exception& e) {  // ConfigError
      std::cerr << "FAILED: " << e.what() << "\n";
      code = 1;
    }
    if (!flags.web_config_file.empty()) {
      try {
        sse::WebConfig web = sse::LoadWebConfigFile(flags.web_config_file);
        if (web.tls) sse::CheckWebTls(*web.tls);
        std::cout << "SUCCESS: " << flags.web_config_file << " is valid"
                  << std::endl;
      } catch (const std::exception& e) {  // ConfigError or unusable TLS
        std::cerr << "FAILED: " << e.what() << "\n";
        code = 1;
      }
    }
    return code;
  }
  sse::InitLogging(flags.log_level, flags.log_format);
  try {
    return sse::App(flags).Run();
  } catch (const std::exception& e) {
    sse::Log(sse::LogLevel::kError, "fatal", {{"err", e.what()}});
    return 1;
  }
}
