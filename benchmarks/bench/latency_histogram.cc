#include "benchmarks/bench/latency_histogram.h"

#include <bit>

namespace strata::bench {

// Values below 2 * kSubBuckets index themselves; from there each power of two [2^m, 2^(m+1))
// with m >= kSubBucketBits + 1 takes kSubBuckets buckets of width 2^(m - kSubBucketBits).
int LatencyHistogram::index_of(uint64_t v) {
  if (v < 2 * kSubBuckets) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);
  int shift = msb - kSubBucketBits;
  return (msb - kSubBucketBits + 1) * kSubBuckets + static_cast<int>((v >> shift) & (kSubBuckets - 1));
}

uint64_t LatencyHistogram::lower_bound(int index) {
  if (index < 2 * kSubBuckets) return static_cast<uint64_t>(index);
  int msb = index / kSubBuckets + kSubBucketBits - 1;
  uint64_t mantissa = static_cast<uint64_t>(kSubBuckets + index % kSubBuckets);
  return mantissa << (msb - kSubBucketBits);
}

uint64_t LatencyHistogram::upper_bound(int index) {
  if (index < 2 * kSubBuckets) return static_cast<uint64_t>(index) + 1;
  int msb = index / kSubBuckets + kSubBucketBits - 1;
  return lower_bound(index) + (uint64_t{1} << (msb - kSubBucketBits));
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
}

double LatencyHistogram::percentile_nanos(double p) const {
  if (total_ == 0) return 0;
  // The rank of the value asked for, 1-based: the smallest value with at least p * total at or below it.
  auto rank = static_cast<uint64_t>(p * static_cast<double>(total_));
  if (rank < 1) rank = 1;
  if (rank > total_) rank = total_;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      if (i < 2 * kSubBuckets) return static_cast<double>(i);
      return (static_cast<double>(lower_bound(i)) + static_cast<double>(upper_bound(i) - 1)) / 2;
    }
  }
  return static_cast<double>(lower_bound(kBuckets - 1));
}

}  // namespace strata::bench
