#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <thread>

#include "lib/util/oneshot.h"

using namespace strata;
namespace asio = boost::asio;

TEST_CASE("oneshot value set before the wait is delivered") {
  asio::io_context io;
  Oneshot<int> o;
  o.set(7);
  int got = 0;
  asio::co_spawn(io, [o, &got]() -> asio::awaitable<void> { got = co_await o.wait(); }, asio::detached);
  io.run();
  CHECK(got == 7);
}

TEST_CASE("oneshot set from another thread resumes the waiter on its own executor") {
  asio::io_context io;
  Oneshot<std::string> o;
  std::string got;
  std::thread::id waiter_thread;
  asio::co_spawn(
      io,
      [o, &got, &waiter_thread]() -> asio::awaitable<void> {
        got = co_await o.wait();
        waiter_thread = std::this_thread::get_id();
      },
      asio::detached);
  std::thread producer([o] { o.set("hello"); });
  io.run();  // returns only after the waiter finished: the wait tracks outstanding work
  producer.join();
  CHECK(got == "hello");
  CHECK(waiter_thread == std::this_thread::get_id());
}
