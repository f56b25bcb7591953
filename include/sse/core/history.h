#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sse/core/outcome.h"

namespace sse {

/// Most entries a service's history may keep (global.history_size).
inline constexpr std::size_t kMaxHistorySize = 4096;
/// Longest error text kept with a history entry; a longer one is cut at a
/// UTF-8 character boundary and ends in "…".
inline constexpr std::size_t kMaxHistoryErrorLength = 256;

/// One committed change of a service's state (docs/api.md "Events").
struct HistoryEvent {
  double time = 0;  ///< Unix seconds of the commit
  std::string from;
  std::string to;
  Outcome outcome = Outcome::kOk;  ///< of the poll that committed it
  std::string error;               ///< that poll's error ("" when it was ok)
  /// False for a service's first observation, which replaces the `unknown`
  /// placeholder without counting as a transition.
  bool counted = true;
  bool operator==(const HistoryEvent&) const = default;
};

/// `text` cut to at most `max_bytes` bytes at a UTF-8 character boundary,
/// with "…" appended when it was cut.
std::string TruncateUtf8(std::string_view text, std::size_t max_bytes);

/// A history packed to be kept aside (the state file's copy of every
/// service): about 40 bytes an entry instead of 120 as HistoryEvents,
/// immutable and shared (copies are a pointer). Thread-safe to read.
class PackedHistory {
 public:
  PackedHistory() = default;
  static PackedHistory Pack(const std::vector<HistoryEvent>& events);
  /// The events, oldest first.
  std::vector<HistoryEvent> Unpack() const;
  bool empty() const { return bytes_ == nullptr; }
  /// Bytes of the packed form.
  std::size_t size_bytes() const { return bytes_ ? bytes_->size() : 0; }

 private:
  std::shared_ptr<const std::string> bytes_;  // null when empty
};

/// Strings shared by many history entries (states, error texts), stored
/// once and reference-counted, so that 10,000 services that failed with the
/// same error hold one copy of it. Id 0 is the empty string and is not
/// counted. Not thread-safe.
class SymbolTable {
 public:
  using Id = std::uint32_t;
  SymbolTable();
  SymbolTable(const SymbolTable&) = delete;
  SymbolTable& operator=(const SymbolTable&) = delete;

  /// The id of `text`, with one more reference.
  Id Intern(std::string_view text);
  /// Drops one reference; the string goes with the last one.
  void Release(Id id);
  const std::string& Text(Id id) const { return slots_[id].text; }
  /// Strings held now (without the empty one).
  std::size_t size() const { return index_.size(); }

 private:
  struct Slot {
    std::string text;
    std::uint32_t refs = 0;
  };
  std::deque<Slot> slots_;  // a deque: texts never move, the index views them
  std::vector<Id> free_;
  std::unordered_map<std::string_view, Id> index_;
};

/// The last `capacity` history entries of one service, oldest first, in
/// 24 bytes each (strings are ids into a SymbolTable). Not thread-safe;
/// every call that changes entries takes the table they were interned in.
class HistoryRing {
 public:
  HistoryRing() = default;
  HistoryRing(const HistoryRing&) = delete;
  HistoryRing& operator=(const HistoryRing&) = delete;

  /// Appends `event`, dropping the oldest entry when `capacity` are kept
  /// (capacity 0 keeps nothing).
  void Push(SymbolTable& symbols, const HistoryEvent& event,
            std::size_t capacity);
  /// Keeps only the newest `capacity` entries.
  void Shrink(SymbolTable& symbols, std::size_t capacity);
  /// Drops every entry (call before the ring is destroyed).
  void Clear(SymbolTable& symbols);

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  /// Entry `i`, 0 being the oldest.
  HistoryEvent At(const SymbolTable& symbols, std::size_t i) const;
  double TimeAt(std::size_t i) const { return Slot(i).time; }
  /// All entries, oldest first.
  std::vector<HistoryEvent> All(const SymbolTable& symbols) const;
  /// Bytes this ring holds on the heap (its entries' storage).
  std::size_t HeapBytes() const { return entries_.capacity() * sizeof(Entry); }

 private:
  struct Entry {
    double time;
    SymbolTable::Id from;
    SymbolTable::Id to;
    SymbolTable::Id error;
    std::uint8_t outcome;
    bool counted;
  };
  static_assert(sizeof(Entry) == 24);
  const Entry& Slot(std::size_t i) const {
    return entries_[(head_ + i) % entries_.size()];
  }
  void ReleaseEntry(SymbolTable& symbols, const Entry& e);

  std::vector<Entry> entries_;
  std::size_t head_ = 0;  // index of the oldest entry once the ring wrapped
};

}  // namespace sse
