// ReadQuota: how long a thread may run reads that complete without suspending before it lets the
// other work of its executor run.
//
// A get, multi_get or iterator step whose data is in memory completes inline (point_lookup.h), so
// a coroutine that reads in a loop would never give its executor back: the io_uring completion
// handler, timers and other connections on that executor, among them the completions that the
// DB's own flushes and compactions wait for, would starve (seen: a seek compaction that never
// finished under a read benchmark). Like Seastar's task quota, a thread that has run such reads
// for kQuota since its last suspension yields once (the caller co_awaits a post), which costs one
// executor round trip per kQuota of reading.
//
// Thread-safety: per thread (thread_local state); every function is safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace strata {

class ReadQuota {
 public:
  static constexpr uint32_t kCheckEvery = 64;  // reads between two clock reads (about 100 us of reads)
  static constexpr std::chrono::microseconds kQuota{100};

  // Counts `reads` reads (keys, entries) that completed without suspending. True when this thread
  // has run such reads for more than kQuota since its last suspension: the caller should yield,
  // then refill().
  static bool spent(uint32_t reads = 1) {
    State& s = state();
    s.reads += reads;
    if (s.reads < kCheckEvery) return false;
    s.reads = 0;
    auto now = std::chrono::steady_clock::now();
    return now - s.since > kQuota;
  }

  // Records a suspension (an I/O wait or a yield): the quota starts afresh.
  static void refill() {
    State& s = state();
    s.reads = 0;
    s.since = std::chrono::steady_clock::now();
  }

 private:
  struct State {
    uint32_t reads = 0;
    std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
  };
  static State& state() {
    thread_local State s;
    return s;
  }
};

}  // namespace strata
