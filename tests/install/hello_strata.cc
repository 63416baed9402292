// A program a user writes against the installed library: open a DB, put, get, close.
// Built by install_test.sh with `pkg-config --cflags --libs strata`; only <strata/...> headers.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <string>

#include <strata/db.h>

namespace asio = boost::asio;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hello_strata DIR\n");
    return 2;
  }
  asio::io_context io;
  int status = 1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto db = co_await strata::DB::open(co_await asio::this_coro::executor, argv[1], strata::Options{});
        if (!db) {
          std::fprintf(stderr, "open: %s\n", db.error().message().c_str());
          co_return;
        }
        auto put = co_await (*db)->put("greeting", "hello, strata");
        auto got = co_await (*db)->get("greeting");
        auto closed = co_await (*db)->close();
        if (!put || !got || !closed || !*got) {
          std::fprintf(stderr, "put/get/close failed\n");
          co_return;
        }
        std::printf("%s\n", (*got)->c_str());
        status = 0;
      },
      asio::detached);
  io.run();
  return status;
}
