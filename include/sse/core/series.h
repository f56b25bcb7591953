#pragma once

#include <prometheus/labels.h>
#include <prometheus/metric_type.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sse/core/exposition.h"

namespace sse {

class SeriesFamily;

/// The SeriesFamily objects constructed with it, in the order they were
/// constructed. It keeps their addresses: it must outlive them.
class SeriesFamilyList {
 public:
  SeriesFamilyList() = default;
  SeriesFamilyList(const SeriesFamilyList&) = delete;
  SeriesFamilyList& operator=(const SeriesFamilyList&) = delete;

  auto begin() const { return families_.begin(); }
  auto end() const { return families_.end(); }
  std::size_t size() const { return families_.size(); }

 private:
  friend class SeriesFamily;
  std::vector<SeriesFamily*> families_;
};

/// One sample of a SeriesFamily: a counter or gauge value with its labels
/// already rendered for the exposition.
class Series {
 public:
  void Set(double value);
  /// Adds `delta`; in a counter a negative delta is ignored (as
  /// prometheus-cpp does).
  void Increment(double delta = 1);
  double Value() const { return value_; }

 private:
  friend class SeriesFamily;
  // Kept small: a series per service and family adds up (7 per service).
  // The sample line after the family name up to its value: `{a="x",b="y"} `
  // (label names sorted, values escaped); the same in both exposition
  // formats.
  std::string labels_;
  double value_ = 0;
  std::uint32_t index_ : 31 = 0;   // position in the family's vector
  std::uint32_t counter_ : 1 = 0;  // a counter (else a gauge)
  int refs_ = 0;  // Add() calls with these labels not yet removed
};

/// A counter or gauge family that the exposition writes straight from its
/// own storage, without prometheus-cpp's Registry::Collect() copy of every
/// series (which made a scrape of 10,000 services cost 40–120 ms and 22 MiB
/// of transient memory; bench/README.md). Same contract as
/// prometheus::Family: Add() with the same labels returns the same series,
/// Remove() drops it. Add and Remove are O(1). Not thread-safe: the exporter
/// updates and renders it on its one I/O thread.
///
/// Every family is listed in a SeriesFamilyList from its construction on:
/// whoever writes the families (Metrics::Render) writes that list, and a
/// family cannot be made without being in one.
class SeriesFamily {
 public:
  /// A counter (its name ends in _total) or gauge family; adds itself to
  /// `list`, which must outlive it. Throws std::invalid_argument otherwise.
  SeriesFamily(SeriesFamilyList& list, std::string name, std::string help,
               prometheus::MetricType type);
  SeriesFamily(const SeriesFamily&) = delete;
  SeriesFamily& operator=(const SeriesFamily&) = delete;

  /// The series with these labels, created at 0 if new. Each Add() needs a
  /// Remove() before the series goes away.
  Series& Add(const prometheus::Labels& labels);
  /// Drops one reference to `series`, and the series with the last one.
  void Remove(Series* series);
  /// The series with these labels, or nullptr.
  Series* Find(const prometheus::Labels& labels) const;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  prometheus::MetricType type() const { return type_; }
  std::size_t size() const { return series_.size(); }

  /// Appends HELP, TYPE (and UNIT) and every sample; nothing if empty.
  void Write(ExpositionFormat format, std::string& out) const;

 private:
  std::string_view LabelsOf(const Series& series) const;

  std::string name_;
  std::string help_;
  prometheus::MetricType type_;
  std::vector<std::unique_ptr<Series>> series_;
  // Keyed by the labels part of each series' line_.
  std::unordered_map<std::string_view, Series*> by_labels_;
};

/// Renders labels as the exposition writes them: `{a="x",b="y"}` in the
/// map's (sorted) order, values escaped; empty for no labels.
std::string RenderLabels(const prometheus::Labels& labels);

}  // namespace sse
