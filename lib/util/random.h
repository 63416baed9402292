// Random: a small seeded PRNG (xorshift64*) for skiplist heights, randomized tests and jitter.
// Every randomized test prints its seed; the same seed replays the same sequence.
// RandomBytes: where code that needs unpredictable bytes (the peer handshake's nonces) gets them,
// injected so that tests replay: OsRandomBytes (getrandom(2)) in production, SeededRandomBytes
// (a Random) in tests.
//
// Thread-safety: Random and SeededRandomBytes: none; use one per thread or coroutine.
// OsRandomBytes: safe from any thread.
#pragma once

#include <cstdint>
#include <span>

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

class RandomBytes {
 public:
  virtual ~RandomBytes() = default;
  // Fills `out` with random bytes. Never fails: an OS source that cannot deliver aborts.
  virtual void fill(std::span<uint8_t> out) = 0;
};

// The kernel's CSPRNG (getrandom(2), blocking only until the pool is initialized at boot).
class OsRandomBytes final : public RandomBytes {
 public:
  void fill(std::span<uint8_t> out) override;
  static OsRandomBytes& instance();
};

// Deterministic bytes from a seed: the same seed gives the same bytes (tests only; predictable).
class SeededRandomBytes final : public RandomBytes {
 public:
  explicit SeededRandomBytes(uint64_t seed) : rng_(seed) {}
  void fill(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = static_cast<uint8_t>(rng_.next() >> 56);
  }

 private:
  Random rng_;
};

}  // namespace strata
