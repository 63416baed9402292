// LatencyHistogram: a fixed-bucket histogram of durations for metrics (Prometheus histograms:
// cumulative buckets by upper bound, a sum and a count).
//
// Buckets (upper bounds, inclusive): 50 us, 100 us, 250 us, 500 us, 1 ms, 2.5 ms, 5 ms, 10 ms,
// 25 ms, 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2.5 s, 5 s, 10 s, and +Inf: the range of an
// fdatasync, a replicated write and an HTTP request, in the 1-2.5-5 steps Prometheus's client
// libraries use. Durations are recorded in microseconds (the unit of Clock::now_micros).
//
// Cost: observe() is three relaxed atomic adds on counters shared by every thread (no lock);
// it is meant for operations that cost microseconds or more (a request, a sync), not for a
// memtable probe.
// Invariants: snapshot() counts are each some value the counter had (relaxed loads: a snapshot
// taken while observe() runs may be off by the observations in flight).
// Thread-safety: observe() and snapshot() from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace strata {

struct HistogramSnapshot {
  static constexpr size_t kBuckets = 18;  // the finite bounds, then +Inf
  // Upper bounds in microseconds; the last is +Inf (UINT64_MAX).
  static constexpr std::array<uint64_t, kBuckets> kUpperBoundsMicros = {
      50,     100,     250,     500,     1'000,     2'500,     5'000,     10'000,     25'000,
      50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, UINT64_MAX};
  std::array<uint64_t, kBuckets> counts{};  // per bucket, not cumulative
  uint64_t count = 0;
  uint64_t sum_micros = 0;
};

class LatencyHistogram {
 public:
  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  void observe(uint64_t micros) {
    size_t i = 0;
    while (micros > HistogramSnapshot::kUpperBoundsMicros[i]) ++i;  // the last bound is UINT64_MAX
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(micros, std::memory_order_relaxed);
  }

  HistogramSnapshot snapshot() const {
    HistogramSnapshot s;
    for (size_t i = 0; i < HistogramSnapshot::kBuckets; ++i) s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count = count_.load(std::memory_order_relaxed);
    s.sum_micros = sum_micros_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, HistogramSnapshot::kBuckets> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

}  // namespace strata
