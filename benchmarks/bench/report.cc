#include "benchmarks/bench/report.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace strata::bench {

RunRecord make_record(const std::string& engine, const std::string& benchmark, int run, const Measurement& m) {
  RunRecord r;
  r.engine = engine;
  r.benchmark = benchmark;
  r.run = run;
  r.ops_per_sec = m.ops_per_sec();
  r.p50_us = m.latency.percentile_nanos(0.50) / 1000;
  r.p99_us = m.latency.percentile_nanos(0.99) / 1000;
  r.p999_us = m.latency.percentile_nanos(0.999) / 1000;
  r.cpu_us_per_op = m.cpu_us_per_op();
  r.seconds = m.seconds;
  r.ops = m.ops;
  r.found = m.found;
  r.errors = m.errors;
  r.background_writes = m.background_writes;
  return r;
}

namespace {

template <class T>
T median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  if (n % 2 == 1) return v[n / 2];
  return static_cast<T>((v[n / 2 - 1] + v[n / 2]) / 2);
}

template <class F>
auto median_field(const std::vector<RunRecord>& runs, F field) {
  std::vector<decltype(field(runs[0]))> values;
  for (const auto& r : runs) values.push_back(field(r));
  return median(std::move(values));
}

}  // namespace

RunRecord median_of(const std::vector<RunRecord>& runs) {
  RunRecord m;
  m.engine = runs[0].engine;
  m.benchmark = runs[0].benchmark;
  m.run = 0;
  m.ops_per_sec = median_field(runs, [](const RunRecord& r) { return r.ops_per_sec; });
  m.p50_us = median_field(runs, [](const RunRecord& r) { return r.p50_us; });
  m.p99_us = median_field(runs, [](const RunRecord& r) { return r.p99_us; });
  m.p999_us = median_field(runs, [](const RunRecord& r) { return r.p999_us; });
  m.cpu_us_per_op = median_field(runs, [](const RunRecord& r) { return r.cpu_us_per_op; });
  m.seconds = median_field(runs, [](const RunRecord& r) { return r.seconds; });
  m.ops = median_field(runs, [](const RunRecord& r) { return r.ops; });
  m.found = median_field(runs, [](const RunRecord& r) { return r.found; });
  m.background_writes = median_field(runs, [](const RunRecord& r) { return r.background_writes; });
  // Errors are summed, not averaged away: one failed run must show.
  for (const auto& r : runs) m.errors += r.errors;
  return m;
}

std::string to_json(const RunRecord& r) {
  char buf[512];
  std::string run = r.run == 0 ? "\"median\"" : std::to_string(r.run);
  std::snprintf(buf, sizeof buf,
                "{\"engine\":\"%s\",\"benchmark\":\"%s\",\"run\":%s,\"ops_per_sec\":%.1f,\"p50_us\":%.2f,"
                "\"p99_us\":%.2f,\"p999_us\":%.2f,\"cpu_us_per_op\":%.3f,\"ops\":%llu,\"found\":%llu,"
                "\"errors\":%llu,\"seconds\":%.3f,\"background_writes\":%llu}",
                r.engine.c_str(), r.benchmark.c_str(), run.c_str(), r.ops_per_sec, r.p50_us, r.p99_us, r.p999_us,
                r.cpu_us_per_op, static_cast<unsigned long long>(r.ops), static_cast<unsigned long long>(r.found),
                static_cast<unsigned long long>(r.errors), r.seconds,
                static_cast<unsigned long long>(r.background_writes));
  return buf;
}

std::string with_commas(double v) {
  auto n = static_cast<long long>(std::llround(v));
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string to_text(const RunRecord& r) {
  char buf[512];
  std::string run = r.run == 0 ? "median" : "run " + std::to_string(r.run);
  std::snprintf(
      buf, sizeof buf,
      "%-8s %-17s %-7s %11s ops/s  p50 %8.1f us  p99 %8.1f us  p99.9 %8.1f us  cpu %6.2f us/op  "
      "found %llu  errors %llu%s",
      r.engine.c_str(), r.benchmark.c_str(), run.c_str(), with_commas(r.ops_per_sec).c_str(), r.p50_us, r.p99_us,
      r.p999_us, r.cpu_us_per_op, static_cast<unsigned long long>(r.found), static_cast<unsigned long long>(r.errors),
      r.background_writes > 0 ? ("  writer puts " + with_commas(static_cast<double>(r.background_writes))).c_str()
                              : "");
  return buf;
}

std::string summary_table(const std::vector<RunRecord>& medians, const std::vector<std::string>& engines,
                          const std::vector<std::string>& benchmarks) {
  auto find = [&](const std::string& e, const std::string& b) -> const RunRecord* {
    for (const auto& r : medians) {
      if (r.engine == e && r.benchmark == b) return &r;
    }
    return nullptr;
  };
  std::ostringstream s;
  s << "| benchmark |";
  for (const auto& e : engines) s << " " << e << " ops/s | p99 us | cpu us/op |";
  s << " strata / best peer |\n| --- |";
  for (size_t i = 0; i < engines.size(); ++i) s << " ---: | ---: | ---: |";
  s << " ---: |\n";
  for (const auto& b : benchmarks) {
    s << "| " << b << " |";
    double best_peer = 0;
    for (const auto& e : engines) {
      const RunRecord* r = find(e, b);
      if (r == nullptr) {
        s << " - | - | - |";
        continue;
      }
      char p99[32], cpu[32];
      std::snprintf(p99, sizeof p99, "%.1f", r->p99_us);
      std::snprintf(cpu, sizeof cpu, "%.2f", r->cpu_us_per_op);
      s << " " << with_commas(r->ops_per_sec) << " | " << p99 << " | " << cpu << " |";
      if (e != "strata") best_peer = std::max(best_peer, r->ops_per_sec);
    }
    const RunRecord* strata = find("strata", b);
    if (strata != nullptr && best_peer > 0) {
      char ratio[32];
      std::snprintf(ratio, sizeof ratio, "%.2fx", strata->ops_per_sec / best_peer);
      s << " " << ratio << " |\n";
    } else {
      s << " - |\n";
    }
  }
  return s.str();
}

}  // namespace strata::bench
