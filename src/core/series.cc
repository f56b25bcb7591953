#include "sse/core/series.h"

#include <stdexcept>
#include <utility>

namespace sse {

void Series::Set(double value) {
  value_ = value;
  if (mirror_ != nullptr && !counter_) {
    static_cast<prometheus::Gauge*>(mirror_)->Set(value);
  }
}

void Series::Increment(double delta) {
  if (counter_ && !(delta >= 0)) return;
  value_ += delta;
  if (mirror_ == nullptr) return;
  if (counter_) {
    static_cast<prometheus::Counter*>(mirror_)->Increment(delta);
  } else {
    static_cast<prometheus::Gauge*>(mirror_)->Increment(delta);
  }
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

SeriesFamily::SeriesFamily(std::string name, std::string help,
                           prometheus::MetricType type,
                           prometheus::Registry* mirror)
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
  if (mirror == nullptr) return;
  if (type_ == prometheus::MetricType::Counter) {
    mirror_counters_ =
        &prometheus::BuildCounter().Name(name_).Help(help_).Register(*mirror);
  } else {
    mirror_gauges_ =
        &prometheus::BuildGauge().Name(name_).Help(help_).Register(*mirror);
  }
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
  if (mirror_counters_ != nullptr) ref.mirror_ = &mirror_counters_->Add(labels);
  if (mirror_gauges_ != nullptr) ref.mirror_ = &mirror_gauges_->Add(labels);
  return ref;
}

void SeriesFamily::Remove(Series* series) {
  if (series == nullptr || series->index_ >= series_.size() ||
      series_[series->index_].get() != series) {
    return;
  }
  if (--series->refs_ > 0) return;
  if (series->mirror_ != nullptr) {
    if (series->counter_) {
      mirror_counters_->Remove(
          static_cast<prometheus::Counter*>(series->mirror_));
    } else {
      mirror_gauges_->Remove(static_cast<prometheus::Gauge*>(series->mirror_));
    }
  }
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
