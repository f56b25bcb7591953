#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <string_view>
#include <vector>

namespace sse {

enum class ExpositionFormat { kText004, kOpenMetrics100 };

/// Content-Type header value of a format.
const char* ContentType(ExpositionFormat format);

/// Picks the format for an Accept header: OpenMetrics 1.0 when the scraper
/// asks for application/openmetrics-text (with q > 0), else text 0.0.4.
ExpositionFormat NegotiateFormat(std::string_view accept);

/// Appends families in the given format to `out`. Label values and help
/// texts are escaped so no value can start a new line or sample. In
/// OpenMetrics, counters lose `_total` in the family name, `# UNIT` is
/// written for names ending in a known unit, and `# EOF` ends the output.
/// Thread-safe.
void WriteExposition(const std::vector<prometheus::MetricFamily>& families,
                     ExpositionFormat format, std::string& out);

/// The family name as written in `format`: OpenMetrics drops a counter's
/// `_total` (its samples keep it).
std::string_view FamilyName(std::string_view name, prometheus::MetricType type,
                            ExpositionFormat format);

/// Appends the `# HELP` and `# TYPE` lines (and in OpenMetrics `# UNIT` for
/// names ending in a known unit) of family `name`, as FamilyName gives it.
void AppendFamilyHeader(std::string_view name, std::string_view help,
                        prometheus::MetricType type, ExpositionFormat format,
                        std::string& out);

/// Appends a sample value: shortest round-trip decimal, "+Inf", "-Inf",
/// "NaN".
void AppendValue(double value, std::string& out);

/// Appends `name="value"`, the value escaped.
void AppendLabel(std::string_view name, std::string_view value,
                 std::string& out);

/// Appends a label value escaped for the exposition formats (\\, \", \n).
void AppendEscapedLabelValue(std::string_view value, std::string& out);

}  // namespace sse
