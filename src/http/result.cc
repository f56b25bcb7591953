#include "sse/http/result.h"

namespace sse {

std::string StatusError(const HttpResult& http, std::string_view what,
                        bool only_200) {
  if (http.outcome != Outcome::kOk) return "";
  const bool success =
      only_200 ? http.status == 200 : http.status >= 200 && http.status < 300;
  if (success) return "";
  std::string error = "HTTP status " + std::to_string(http.status);
  return what.empty() ? error : std::string(what) + ": " + error;
}

}  // namespace sse
