// Oneshot<T>: hands one value from a producer (any thread) to one waiting coroutine.
//
// The waiting coroutine is resumed on its own executor (the executor associated with its
// completion handler), never inline on the producer's thread, so a producer may call set() while
// holding its own locks. While a coroutine waits, outstanding work is tracked on its executor, so
// io_context::run() does not return under it.
//
// REQUIRES: set() is called exactly once; wait() is awaited at most once.
// Thread-safety: set() and wait() may race from different threads; copies share one state.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "lib/util/assert.h"

namespace strata {

template <class T>
class Oneshot {
 public:
  Oneshot() : state_(std::make_shared<State>()) {}

  // Delivers the value. REQUIRES: called once.
  void set(T value) const {
    std::unique_ptr<WaiterBase> waiter;
    {
      std::lock_guard lock(state_->mu);
      STRATA_ASSERT_MSG(!state_->set, "Oneshot::set called twice");
      state_->set = true;
      if (state_->waiter) {
        waiter = std::move(state_->waiter);
      } else {
        state_->value.emplace(std::move(value));
        return;
      }
    }
    waiter->complete(std::move(value));
  }

  bool is_set() const {
    std::lock_guard lock(state_->mu);
    return state_->set;
  }

  // Suspends until set() has been called; returns the value.
  // Runs on: the awaiting coroutine's executor.
  boost::asio::awaitable<T> wait() const {
    auto state = state_;
    auto initiate = [state](auto handler) {
      std::unique_lock lock(state->mu);
      if (state->value) {
        T v = std::move(*state->value);
        state->value.reset();
        lock.unlock();
        Waiter<decltype(handler)>(std::move(handler)).complete(std::move(v));
        return;
      }
      state->waiter = std::make_unique<Waiter<decltype(handler)>>(std::move(handler));
    };
    co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(T)>(
        initiate, boost::asio::use_awaitable);
  }

 private:
  struct WaiterBase {
    virtual ~WaiterBase() = default;
    virtual void complete(T value) = 0;
  };

  template <class Handler>
  struct Waiter final : WaiterBase {
    explicit Waiter(Handler h)
        : handler(std::move(h)),
          work(boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                   boost::asio::execution::outstanding_work.tracked)) {}
    void complete(T value) override {
      auto ex = work;
      boost::asio::post(ex, [h = std::move(handler), v = std::move(value), w = std::move(work)]() mutable {
        std::move(h)(std::move(v));
      });
    }
    Handler handler;
    boost::asio::any_io_executor work;
  };

  struct State {
    std::mutex mu;
    bool set = false;
    std::optional<T> value;
    std::unique_ptr<WaiterBase> waiter;
  };
  std::shared_ptr<State> state_;
};

}  // namespace strata
