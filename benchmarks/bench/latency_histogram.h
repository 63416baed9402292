// LatencyHistogram: per-operation latencies in log-linear buckets, for percentiles.
//
// Shape: values are nanoseconds (uint64). Values below 64 have a bucket each; above, every
// power of two is split into 32 equal sub-buckets, so a reported percentile is within 1/32
// (about 3%) of the true value. 1,920 buckets cover the whole uint64 range (the layout of
// HdrHistogram with 5 significant bits, after Gil Tene's HdrHistogram). Recording is one
// count-leading-zeros and an increment: cheap enough not to distort a 1-microsecond operation.
// Thread-safety: none; each worker records into its own histogram and the runner merges them.
#pragma once

#include <array>
#include <cstdint>

namespace strata::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 5;
  static constexpr int kSubBuckets = 1 << kSubBucketBits;  // 32
  static constexpr int kBuckets = (64 - kSubBucketBits + 1) * kSubBuckets;

  void record(uint64_t nanos) {
    ++counts_[index_of(nanos)];
    ++total_;
  }
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return total_; }
  // The value (nanoseconds, midpoint of its bucket) at or below which a fraction `p` (0..1) of
  // the recorded values lie. 0 when nothing was recorded.
  double percentile_nanos(double p) const;

  static int index_of(uint64_t v);
  // [lower, upper) of bucket `index`.
  static uint64_t lower_bound(int index);
  static uint64_t upper_bound(int index);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
};

}  // namespace strata::bench
