#include "sse/core/exposition.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace sse {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

void AppendHelp(std::string_view help, bool open_metrics, std::string& out) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && open_metrics) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Summary:
      return "summary";
    case MetricType::Untyped:
      return "untyped";
  }
  return "untyped";
}

// Writes `name{labels,extra="value"} value\n`.
void AppendSample(std::string_view name, std::string_view suffix,
                  const ClientMetric& metric, std::string_view extra_name,
                  double extra_value, double value, std::string& out) {
  out.append(name);
  out.append(suffix);
  if (!metric.label.empty() || !extra_name.empty()) {
    out += '{';
    bool first = true;
    for (const auto& label : metric.label) {
      if (!first) out += ',';
      first = false;
      AppendLabel(label.name, label.value, out);
    }
    if (!extra_name.empty()) {
      if (!first) out += ',';
      out.append(extra_name);
      out += "=\"";
      AppendValue(extra_value, out);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendValue(value, out);
  out += '\n';
}

}  // namespace

const char* ContentType(ExpositionFormat format) {
  return format == ExpositionFormat::kOpenMetrics100
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

ExpositionFormat NegotiateFormat(std::string_view accept) {
  std::size_t pos = 0;
  while (pos < accept.size()) {
    std::size_t end = accept.find(',', pos);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = accept.substr(pos, end - pos);
    pos = end + 1;
    if (item.find("application/openmetrics-text") == std::string_view::npos) {
      continue;
    }
    std::size_t q = item.find("q=");
    if (q != std::string_view::npos) {
      std::string_view qv = item.substr(q + 2);
      double quality = 1;
      std::from_chars(qv.data(), qv.data() + qv.size(), quality);
      if (quality <= 0) continue;
    }
    std::size_t v = item.find("version=");
    if (v != std::string_view::npos && item.substr(v + 8, 5) != "1.0.0") {
      continue;
    }
    return ExpositionFormat::kOpenMetrics100;
  }
  return ExpositionFormat::kText004;
}

void AppendValue(double value, std::string& out) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buf[32];
    auto [end, ec] =
        std::to_chars(buf, buf + sizeof buf, static_cast<long long>(value));
    out.append(buf, end);
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, end);
  }
}

void AppendLabel(std::string_view name, std::string_view value,
                 std::string& out) {
  out.append(name);
  out += "=\"";
  AppendEscapedLabelValue(value, out);
  out += '"';
}

void AppendEscapedLabelValue(std::string_view value, std::string& out) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

std::string_view FamilyName(std::string_view name, MetricType type,
                            ExpositionFormat format) {
  if (format == ExpositionFormat::kOpenMetrics100 &&
      type == MetricType::Counter && EndsWith(name, "_total")) {
    name.remove_suffix(6);
  }
  return name;
}

void AppendFamilyHeader(std::string_view name, std::string_view help,
                        MetricType type, ExpositionFormat format,
                        std::string& out) {
  const bool om = format == ExpositionFormat::kOpenMetrics100;
  out += "# HELP ";
  out.append(name);
  out += ' ';
  AppendHelp(help, om, out);
  out += "\n# TYPE ";
  out.append(name);
  out += ' ';
  out += om && type == MetricType::Untyped ? "unknown" : TypeName(type);
  out += '\n';
  if (om) {
    for (std::string_view unit : {"_seconds", "_bytes"}) {
      if (EndsWith(name, unit)) {
        out += "# UNIT ";
        out.append(name);
        out += ' ';
        out.append(unit.substr(1));  // the unit without its '_'
        out += '\n';
      }
    }
  }
}

void WriteExposition(const std::vector<MetricFamily>& families,
                     ExpositionFormat format, std::string& out) {
  const bool om = format == ExpositionFormat::kOpenMetrics100;
  for (const MetricFamily& family : families) {
    if (family.metric.empty()) continue;
    std::string_view name = FamilyName(family.name, family.type, format);
    AppendFamilyHeader(name, family.help, family.type, format, out);
    for (const ClientMetric& m : family.metric) {
      switch (family.type) {
        case MetricType::Counter:
          AppendSample(name, om ? "_total" : "", m, {}, 0, m.counter.value,
                       out);
          break;
        case MetricType::Gauge:
          AppendSample(name, "", m, {}, 0, m.gauge.value, out);
          break;
        case MetricType::Untyped:
          AppendSample(name, "", m, {}, 0, m.untyped.value, out);
          break;
        case MetricType::Histogram: {
          bool has_inf = false;
          for (const auto& b : m.histogram.bucket) {
            AppendSample(name, "_bucket", m, "le", b.upper_bound,
                         static_cast<double>(b.cumulative_count), out);
            has_inf = has_inf || std::isinf(b.upper_bound);
          }
          if (!has_inf) {
            AppendSample(name, "_bucket", m, "le",
                         std::numeric_limits<double>::infinity(),
                         static_cast<double>(m.histogram.sample_count), out);
          }
          AppendSample(name, "_sum", m, {}, 0, m.histogram.sample_sum, out);
          AppendSample(name, "_count", m, {}, 0,
                       static_cast<double>(m.histogram.sample_count), out);
          break;
        }
        case MetricType::Summary:
          break;  // not used by this exporter
      }
    }
  }
  if (om) out += "# EOF\n";
}

}  // namespace sse
