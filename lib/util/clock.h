// Clock: the one place that reads time. Code that needs time takes a Clock& so tests can inject
// a manual clock.
//
// Thread-safety: SystemClock is safe from any thread; ManualClock is not synchronized.
#pragma once

#include <chrono>
#include <cstdint>

namespace strata {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in microseconds since an arbitrary epoch.
  virtual uint64_t now_micros() const = 0;
};

class SystemClock final : public Clock {
 public:
  uint64_t now_micros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

class ManualClock final : public Clock {
 public:
  uint64_t now_micros() const override { return now_; }
  void advance_micros(uint64_t d) { now_ += d; }

 private:
  uint64_t now_ = 0;
};

}  // namespace strata
