#include "sse/core/states.h"

#include "sse/util/text.h"

namespace sse {

std::string CheckStateString(std::string_view state, std::size_t max_length) {
  if (state.empty()) return "state is an empty string";
  if (state.size() > max_length) {
    return "state is longer than " + std::to_string(max_length) + " bytes";
  }
  if (HasControlCharacter(state)) return "state contains a control character";
  // Prometheus refuses a whole scrape with invalid UTF-8 in a label value.
  if (!IsValidUtf8(state)) return "state is not valid UTF-8";
  return "";
}

}  // namespace sse
