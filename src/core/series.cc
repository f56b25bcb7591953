#include "sse/core/series.h"

#include <stdexcept>
#include <utility>

namespace sse {

void Series::Set(double value) { value_ = value; }

void Series::Increment(double delta) {
  if (counter_ && !(delta >= 0)) return;
  value_ += delta;
}

std::string RenderLabels(const prometheus::Labels& labels) {
  std::string out;
  if (labels.empty()) return out;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    AppendLabel(name, value, out);
  }
  out += '}';
  return out;
}

SeriesFamily::SeriesFamily(SeriesFamilyList& list, std::string name,
                           std::string help, prometheus::MetricType type)
    : name_(std::move(name)), help_(std::move(help)), type_(type) {
  if (type_ != prometheus::MetricType::Counter &&
      type_ != prometheus::MetricType::Gauge) {
    throw std::invalid_argument("SeriesFamily holds counters and gauges only");
  }
  // The sample line is the same in both formats only if a counter's name
  // ends in _total (OpenMetrics writes the family name without it).
  if (type_ == prometheus::MetricType::Counter &&
      (name_.size() < 6 || name_.compare(name_.size() - 6, 6, "_total") != 0)) {
    throw std::invalid_argument("counter name must end in _total: " + name_);
  }
  list.families_.push_back(this);
}

Series& SeriesFamily::Add(const prometheus::Labels& labels) {
  const std::string rendered = RenderLabels(labels);
  if (auto it = by_labels_.find(rendered); it != by_labels_.end()) {
    ++it->second->refs_;
    return *it->second;
  }
  if (series_.size() >= (std::size_t{1} << 31)) {
    throw std::length_error("too many series in " + name_);
  }
  auto series = std::make_unique<Series>();
  series->labels_.reserve(rendered.size() + 1);
  series->labels_ = rendered;
  series->labels_ += ' ';
  series->index_ = static_cast<std::uint32_t>(series_.size());
  series->refs_ = 1;
  series->counter_ = type_ == prometheus::MetricType::Counter;
  Series& ref = *series;
  // Index first, then store: if either throws, nothing is left behind.
  auto it = by_labels_.emplace(LabelsOf(ref), &ref).first;
  try {
    series_.push_back(std::move(series));
  } catch (...) {
    by_labels_.erase(it);
    throw;
  }
  return ref;
}

void SeriesFamily::Remove(Series* series) {
  if (series == nullptr || series->index_ >= series_.size() ||
      series_[series->index_].get() != series) {
    return;
  }
  if (--series->refs_ > 0) return;
  by_labels_.erase(LabelsOf(*series));
  const std::size_t index = series->index_;
  if (index + 1 != series_.size()) {
    series_[index] = std::move(series_.back());
    series_[index]->index_ = static_cast<std::uint32_t>(index);
  }
  series_.pop_back();
}

Series* SeriesFamily::Find(const prometheus::Labels& labels) const {
  auto it = by_labels_.find(RenderLabels(labels));
  return it == by_labels_.end() ? nullptr : it->second;
}

std::string_view SeriesFamily::LabelsOf(const Series& series) const {
  return std::string_view(series.labels_).substr(0, series.labels_.size() - 1);
}

void SeriesFamily::Write(ExpositionFormat format, std::string& out) const {
  if (series_.empty()) return;
  AppendFamilyHeader(FamilyName(name_, type_, format), help_, type_, format,
                     out);
  for (const auto& series : series_) {
    out += name_;
    out += series->labels_;
    AppendValue(series->value_, out);
    out += '\n';
  }
}

}  // namespace sse
