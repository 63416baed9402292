// AsyncMutex: mutual exclusion for coroutines that hold the lock across co_await (a std::mutex
// must never be held across a suspension point). Waiters are served in FIFO order; unlock()
// hands the lock directly to the next waiter, which resumes on its own executor (Oneshot).
//
//   auto guard = co_await mu.lock();   // AsyncMutex::Guard; unlocks when destroyed
//
// Used by the DB to serialize VersionSet::log_and_apply between the flush and compaction jobs.
// Thread-safety: lock() and unlock() may be called from any thread.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <deque>
#include <mutex>
#include <utility>

#include "lib/util/assert.h"
#include "lib/util/oneshot.h"

namespace strata {

class AsyncMutex {
 public:
  class Guard {
   public:
    Guard() = default;
    explicit Guard(AsyncMutex* mu) : mu_(mu) {}
    Guard(Guard&& o) noexcept : mu_(std::exchange(o.mu_, nullptr)) {}
    Guard& operator=(Guard&& o) noexcept {
      if (this != &o) {
        release();
        mu_ = std::exchange(o.mu_, nullptr);
      }
      return *this;
    }
    ~Guard() { release(); }
    void release() {
      if (mu_ != nullptr) std::exchange(mu_, nullptr)->unlock();
    }

   private:
    AsyncMutex* mu_ = nullptr;
  };

  // Runs on: the awaiting coroutine's executor. Suspends until the lock is this caller's.
  boost::asio::awaitable<Guard> lock() {
    Oneshot<bool> turn;
    {
      std::lock_guard l(mu_);
      if (!locked_) {
        locked_ = true;
        co_return Guard(this);
      }
      waiters_.push_back(turn);
    }
    co_await turn.wait();
    co_return Guard(this);
  }

  void unlock() {
    std::lock_guard l(mu_);
    STRATA_ASSERT(locked_);
    if (waiters_.empty()) {
      locked_ = false;
      return;
    }
    waiters_.front().set(true);  // ownership passes to the next waiter
    waiters_.pop_front();
  }

 private:
  std::mutex mu_;
  bool locked_ = false;
  std::deque<Oneshot<bool>> waiters_;
};

}  // namespace strata
