#include "sse/core/history.h"

#include <algorithm>
#include <cstring>

namespace sse {

std::string TruncateUtf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // …
  std::size_t cut =
      max_bytes > kEllipsis.size() ? max_bytes - kEllipsis.size() : 0;
  // Back to the start of a character: continuation bytes are 10xxxxxx.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  std::string out(text.substr(0, cut));
  out += kEllipsis;
  return out;
}

namespace {

void PutString(std::string& out, std::string_view text) {
  std::size_t n = text.size();
  do {  // LEB128 length
    out += static_cast<char>((n & 0x7F) | (n > 0x7F ? 0x80 : 0));
    n >>= 7;
  } while (n != 0);
  out += text;
}

std::string GetString(std::string_view in, std::size_t& pos) {
  std::size_t n = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<unsigned char>(in[pos++]);
    n |= static_cast<std::size_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) break;
  }
  std::string out(in.substr(pos, n));
  pos += n;
  return out;
}

}  // namespace

PackedHistory PackedHistory::Pack(const std::vector<HistoryEvent>& events) {
  PackedHistory packed;
  if (events.empty()) return packed;
  std::string out;
  out.reserve(events.size() * 40);
  for (const HistoryEvent& e : events) {
    char time[sizeof e.time];
    std::memcpy(time, &e.time, sizeof time);
    out.append(time, sizeof time);
    out += static_cast<char>(e.outcome);
    out += static_cast<char>(e.counted ? 1 : 0);
    PutString(out, e.from);
    PutString(out, e.to);
    PutString(out, e.error);
  }
  out.shrink_to_fit();
  packed.bytes_ = std::make_shared<const std::string>(std::move(out));
  return packed;
}

std::vector<HistoryEvent> PackedHistory::Unpack() const {
  std::vector<HistoryEvent> events;
  if (!bytes_) return events;
  const std::string_view in = *bytes_;
  std::size_t pos = 0;
  while (pos < in.size()) {
    HistoryEvent e;
    std::memcpy(&e.time, in.data() + pos, sizeof e.time);
    pos += sizeof e.time;
    e.outcome = static_cast<Outcome>(in[pos++]);
    e.counted = in[pos++] != 0;
    e.from = GetString(in, pos);
    e.to = GetString(in, pos);
    e.error = GetString(in, pos);
    events.push_back(std::move(e));
  }
  return events;
}

SymbolTable::SymbolTable() { slots_.push_back(Slot{}); }

SymbolTable::Id SymbolTable::Intern(std::string_view text) {
  if (text.empty()) return 0;
  if (auto it = index_.find(text); it != index_.end()) {
    ++slots_[it->second].refs;
    return it->second;
  }
  Id id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<Id>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[id];
  slot.text.assign(text);
  slot.refs = 1;
  index_.emplace(slot.text, id);
  return id;
}

void SymbolTable::Release(Id id) {
  if (id == 0) return;
  Slot& slot = slots_[id];
  if (--slot.refs != 0) return;
  index_.erase(slot.text);
  std::string().swap(slot.text);
  free_.push_back(id);
}

void HistoryRing::ReleaseEntry(SymbolTable& symbols, const Entry& e) {
  symbols.Release(e.from);
  symbols.Release(e.to);
  symbols.Release(e.error);
}

void HistoryRing::Push(SymbolTable& symbols, const HistoryEvent& event,
                       std::size_t capacity) {
  if (capacity == 0) {
    Clear(symbols);
    return;
  }
  if (entries_.size() > capacity) Shrink(symbols, capacity);
  if (entries_.size() < capacity && head_ != 0) {
    // Wrapped under a smaller capacity: oldest first again before growing.
    std::rotate(entries_.begin(),
                entries_.begin() + static_cast<std::ptrdiff_t>(head_),
                entries_.end());
    head_ = 0;
  }
  Entry e{event.time,
          symbols.Intern(event.from),
          symbols.Intern(event.to),
          symbols.Intern(TruncateUtf8(event.error, kMaxHistoryErrorLength)),
          static_cast<std::uint8_t>(event.outcome),
          event.counted};
  if (entries_.size() < capacity) {
    // Not wrapped yet (head_ is 0): grow, by doubling up to the capacity.
    if (entries_.size() == entries_.capacity()) {
      entries_.reserve(std::min(
          capacity, std::max<std::size_t>(4, entries_.capacity() * 2)));
    }
    entries_.push_back(e);
    return;
  }
  ReleaseEntry(symbols, entries_[head_]);
  entries_[head_] = e;
  head_ = (head_ + 1) % entries_.size();
}

void HistoryRing::Shrink(SymbolTable& symbols, std::size_t capacity) {
  if (entries_.size() <= capacity) return;
  if (capacity == 0) {
    Clear(symbols);
    return;
  }
  std::vector<Entry> kept;
  kept.reserve(capacity);
  const std::size_t drop = entries_.size() - capacity;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = Slot(i);
    if (i < drop) {
      ReleaseEntry(symbols, e);
    } else {
      kept.push_back(e);
    }
  }
  entries_ = std::move(kept);
  head_ = 0;
}

void HistoryRing::Clear(SymbolTable& symbols) {
  for (const Entry& e : entries_) ReleaseEntry(symbols, e);
  std::vector<Entry>().swap(entries_);
  head_ = 0;
}

HistoryEvent HistoryRing::At(const SymbolTable& symbols, std::size_t i) const {
  const Entry& e = Slot(i);
  HistoryEvent out;
  out.time = e.time;
  out.from = symbols.Text(e.from);
  out.to = symbols.Text(e.to);
  out.outcome = static_cast<Outcome>(e.outcome);
  out.error = symbols.Text(e.error);
  out.counted = e.counted;
  return out;
}

std::vector<HistoryEvent> HistoryRing::All(const SymbolTable& symbols) const {
  std::vector<HistoryEvent> out;
  out.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i)
    out.push_back(At(symbols, i));
  return out;
}

}  // namespace sse
