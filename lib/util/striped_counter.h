// StripedCounter: a statistics counter that many threads increment without sharing a cache line.
// One std::atomic<uint64_t> bumped by every reader of the DB costs a cache-line transfer between
// cores on each increment (tens of nanoseconds when two threads read concurrently, several times
// per point read); here each thread adds to one of kStripes slots, each on its own cache line, and
// load() sums them (the approach of RocksDB's CoreLocalArray statistics and Java's LongAdder).
//
// Invariants: load() is the sum of every add() that happened before it (relaxed: a load taken
// while adds run may miss the latest ones, as with any relaxed counter).
// Thread-safety: add() and load() from any thread. Not copyable: it is a place, not a value.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace strata {

class StripedCounter {
 public:
  static constexpr size_t kStripes = 16;

  StripedCounter() = default;
  StripedCounter(const StripedCounter&) = delete;
  StripedCounter& operator=(const StripedCounter&) = delete;

  void add(uint64_t n = 1) { slots_[stripe()].value.fetch_add(n, std::memory_order_relaxed); }

  uint64_t load(std::memory_order = std::memory_order_relaxed) const {
    uint64_t sum = 0;
    for (const Slot& s : slots_) sum += s.value.load(std::memory_order_relaxed);
    return sum;
  }

  // This thread's slot: threads are numbered in the order they first add, modulo kStripes.
  static size_t stripe() {
    thread_local const size_t mine = next_stripe_.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return mine;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<uint64_t> value{0};
  };
  Slot slots_[kStripes];
  static inline std::atomic<size_t> next_stripe_{0};
};

}  // namespace strata
