// The Prometheus text exposition format (version 0.0.4) for GET /metrics: every name is prefixed
// with "strata_", each family gets its HELP and TYPE lines once, and label values are escaped.
// Naming rules the families follow (checked by the metrics lint test and by promtool): counters
// end in _total, histograms in a base unit (_seconds), no name ends in _count, _sum or _bucket
// except a histogram's own series.
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "strata/histogram.h"

namespace strata::net::http {

// Appends one Prometheus sample strata_<name><labels> (with its HELP and TYPE lines) to `out`.
void append_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, double value,
                   std::string_view labels = {});
// As append_metric, without the "strata_" prefix (the standard process_* families).
void append_unprefixed_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
                              double value);
// Appends a family strata_<name>{<label>="..."}: HELP and TYPE once, then one sample per pair.
void append_metric_family(std::string& out, std::string_view name, std::string_view type, std::string_view help,
                          std::string_view label, std::span<const std::pair<std::string_view, double>> samples);

// Appends a histogram family strata_<name> in seconds: HELP and TYPE once, then for each
// (label value, snapshot) its cumulative _bucket{<label>="...",le="..."} series (le from
// HistogramSnapshot::kUpperBoundsMicros, then "+Inf"), _sum (seconds) and _count. An empty
// `label` names no label (then `samples` holds one entry).
void append_histogram_family(std::string& out, std::string_view name, std::string_view help, std::string_view label,
                             std::span<const std::pair<std::string_view, HistogramSnapshot>> samples);

// A label value escaped for the exposition format (backslash, double quote, newline).
std::string label_value(std::string_view v);

}  // namespace strata::net::http
