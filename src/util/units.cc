#include "sse/util/units.h"

#include <array>
#include <cctype>
#include <limits>
#include <utility>

namespace sse {
namespace {

struct Unit {
  std::string_view name;
  std::int64_t millis;
};

// Longest names first where one is a prefix of another ("ms" before "m").
constexpr std::array<Unit, 8> kDurationUnits{{
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"ms", 1},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"", 0},
}};

// Order in which units may appear (Prometheus requires decreasing order).
int UnitRank(std::string_view name) {
  static constexpr std::array<std::string_view, 7> kOrder{"y", "w", "d", "h",
                                                          "m", "s", "ms"};
  for (std::size_t i = 0; i < kOrder.size(); ++i) {
    if (kOrder[i] == name) return static_cast<int>(i);
  }
  return -1;
}

bool ReadNumber(std::string_view text, std::size_t& pos, std::uint64_t& out) {
  std::size_t start = pos;
  out = 0;
  while (pos < text.size() &&
         std::isdigit(static_cast<unsigned char>(text[pos]))) {
    std::uint64_t digit = static_cast<std::uint64_t>(text[pos] - '0');
    if (out > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      return false;
    }
    out = out * 10 + digit;
    ++pos;
  }
  return pos > start;
}

}  // namespace

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return Duration(0);
  std::size_t pos = 0;
  std::int64_t total = 0;
  int last_rank = -1;
  while (pos < text.size()) {
    std::uint64_t number = 0;
    if (!ReadNumber(text, pos, number)) return std::nullopt;
    const Unit* unit = nullptr;
    for (const Unit& u : kDurationUnits) {
      if (u.name.empty()) continue;
      if (text.substr(pos, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return std::nullopt;
    int rank = UnitRank(unit->name);
    if (rank <= last_rank) return std::nullopt;
    last_rank = rank;
    pos += unit->name.size();
    if (number > static_cast<std::uint64_t>(
                     std::numeric_limits<std::int64_t>::max() / unit->millis)) {
      return std::nullopt;
    }
    std::int64_t add = static_cast<std::int64_t>(number) * unit->millis;
    if (total > std::numeric_limits<std::int64_t>::max() - add) {
      return std::nullopt;
    }
    total += add;
  }
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 7>
      kParts{{{"y", 365LL * 24 * 3600 * 1000},
              {"w", 7LL * 24 * 3600 * 1000},
              {"d", 24LL * 3600 * 1000},
              {"h", 3600LL * 1000},
              {"m", 60LL * 1000},
              {"s", 1000},
              {"ms", 1}}};
  for (const auto& [name, size] : kParts) {
    if (ms >= size) {
      out += std::to_string(ms / size);
      out += name;
      ms %= size;
    }
  }
  return out;
}

std::optional<std::uint64_t> ParseBytes(std::string_view text) {
  std::size_t pos = 0;
  std::uint64_t number = 0;
  if (!ReadNumber(text, pos, number)) return std::nullopt;
  std::string_view unit = text.substr(pos);
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 8>
      kUnits{{{"", 1},
              {"B", 1},
              {"KB", 1000},
              {"MB", 1000ULL * 1000},
              {"GB", 1000ULL * 1000 * 1000},
              {"KiB", 1024},
              {"MiB", 1024ULL * 1024},
              {"GiB", 1024ULL * 1024 * 1024}}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) {
      if (number > std::numeric_limits<std::uint64_t>::max() / factor) {
        return std::nullopt;
      }
      return number * factor;
    }
  }
  return std::nullopt;
}

}  // namespace sse
