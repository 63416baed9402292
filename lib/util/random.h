// Random: a small seeded PRNG (xorshift64*) for skiplist heights, randomized tests and jitter.
// Every randomized test prints its seed; the same seed replays the same sequence.
//
// Thread-safety: none; use one Random per thread or coroutine.
#pragma once

#include <cstdint>

namespace strata {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed == 0 ? 0x9e3779b97f4a7c15ull : seed) {}

  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t uniform(uint64_t n) { return next() % n; }
  // True with probability 1/n.
  bool one_in(uint64_t n) { return uniform(n) == 0; }

  // A seed from the OS (only here and in clock.h do we touch OS randomness / time).
  static uint64_t os_seed();

 private:
  uint64_t state_;
};

}  // namespace strata
