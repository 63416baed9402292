#include "net/http/prometheus_text.h"

#include <cstdio>

namespace strata::net::http {

namespace {

constexpr std::string_view kPrefix = "strata_";

void append_help_and_type(std::string& out, std::string_view name, std::string_view type, std::string_view help,
                          std::string_view prefix = kPrefix) {
  out += "# HELP ";
  out += prefix;
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += prefix;
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// "strata_<name><labels> <value>\n"; `labels` is "" or "{k=\"v\"}".
void append_sample(std::string& out, std::string_view name, std::string_view labels, double value,
                   std::string_view prefix = kPrefix) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  out += prefix;
  out += name;
  out += labels;
  out += ' ';
  out += buf;
  out += '\n';
}

}  // namespace

void append_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, double value,
                   std::string_view labels) {
  append_help_and_type(out, name, type, help);
  append_sample(out, name, labels, value);
}

void append_unprefixed_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
                              double value) {
  append_help_and_type(out, name, type, help, "");
  append_sample(out, name, "", value, "");
}

void append_metric_family(std::string& out, std::string_view name, std::string_view type, std::string_view help,
                          std::string_view label, std::span<const std::pair<std::string_view, double>> samples) {
  append_help_and_type(out, name, type, help);
  for (const auto& [value_of_label, v] : samples) {
    append_sample(out, name, std::string("{") + std::string(label) + "=\"" + std::string(value_of_label) + "\"}", v);
  }
}

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void append_histogram_family(std::string& out, std::string_view name, std::string_view help, std::string_view label,
                             std::span<const std::pair<std::string_view, HistogramSnapshot>> samples) {
  append_help_and_type(out, name, "histogram", help);
  const std::string base(name);
  for (const auto& [value_of_label, h] : samples) {
    std::string prefix =
        label.empty() ? std::string("{") : "{" + std::string(label) + "=\"" + label_value(value_of_label) + "\",";
    std::string plain =
        label.empty() ? std::string() : "{" + std::string(label) + "=\"" + label_value(value_of_label) + "\"}";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < HistogramSnapshot::kBuckets; ++i) {
      cumulative += h.counts[i];
      uint64_t bound = HistogramSnapshot::kUpperBoundsMicros[i];
      char le[32];
      if (bound == UINT64_MAX) {
        std::snprintf(le, sizeof le, "+Inf");
      } else {
        std::snprintf(le, sizeof le, "%g", static_cast<double>(bound) / 1e6);
      }
      append_sample(out, base + "_bucket", prefix + "le=\"" + le + "\"}", static_cast<double>(cumulative));
    }
    append_sample(out, base + "_sum", plain, static_cast<double>(h.sum_micros) / 1e6);
    append_sample(out, base + "_count", plain, static_cast<double>(h.count));
  }
}

}  // namespace strata::net::http
