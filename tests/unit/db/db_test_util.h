// Helpers shared by the DB unit tests: options over an in-memory file system, opening a DB on
// the running coroutine's executor, reads that must succeed, and sleeping.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "strata/db.h"
#include "lib/io/file_system.h"

namespace strata::testing {

// Defaults, on `fs`, without WAL preallocation (MemFileSystem would allocate it for real).
inline Options mem_options(io::FileSystem& fs) {
  Options o;
  o.file_system = &fs;
  o.wal_preallocate_bytes = 0;
  return o;
}

// A tree that grows to L2-L3 with a few hundred KiB: small memtables, files and level targets.
inline Options small_tree_options(io::FileSystem& fs) {
  Options o = mem_options(fs);
  o.sync = SyncPolicy::none;
  o.memtable_size_bytes = 32 << 10;
  o.block_size_bytes = 1024;
  o.target_file_size_bytes = 16 << 10;
  o.max_bytes_for_level_base = 64 << 10;
  o.max_bytes_for_level_multiplier = 4;
  o.l0_compaction_trigger = 2;
  return o;
}

inline boost::asio::awaitable<std::unique_ptr<DB>> open_db(Options o, std::string path = "/db") {
  auto ex = co_await boost::asio::this_coro::executor;
  auto db = co_await DB::open(ex, path, o);
  REQUIRE(db.has_value());
  co_return std::move(*db);
}

// get() that must succeed.
inline boost::asio::awaitable<std::optional<std::string>> get_value(DB& db, std::string key, ReadOptions ro = {}) {
  auto v = co_await db.get(std::move(key), ro);
  REQUIRE(v.has_value());
  co_return *v;
}

inline boost::asio::awaitable<void> sleep_ms(int ms) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(boost::asio::use_awaitable);
}

}  // namespace strata::testing
