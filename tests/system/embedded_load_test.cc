// System test through the embedded C++ API: loads every record of the real data set with
// concurrent synced writers, closes, reopens and checks every value byte for byte and a few
// scans; then overwrites and deletes some records, reopens (replaying the WAL) and checks again.
// (Kill -9 of a real server is covered by http_load_kill_test.)
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdio>
#include <future>

#include "strata/db.h"
#include "tests/system/data_set.h"
#include "tests/test_util.h"

using namespace strata;
namespace asio = boost::asio;

namespace {

// The data set's path comes from meson (STRATA_DATA_SET); the test fails if it is missing.
const std::map<std::string, std::string>& data_set() {
  static const auto records = [] {
    std::string error;
    const char* path = std::getenv("STRATA_DATA_SET");
    auto r = strata::testing::load_data_set(path ? path : "", &error);
    if (!r) {
      std::fprintf(stderr, "data set: %s\n", error.c_str());
      std::abort();
    }
    return *r;
  }();
  return records;
}

Options db_options() {
  Options o;
  o.memtable_size_bytes = 8 << 20;  // several flushes over the ~54 MB data set
  return o;
}

// Checks every record with point reads from `readers` concurrent coroutines, and three scans.
void verify(asio::thread_pool& pool, DB& db, const std::map<std::string, std::string>& expected) {
  std::vector<const std::pair<const std::string, std::string>*> items;
  for (const auto& kv : expected) items.push_back(&kv);
  std::atomic<size_t> next{0}, wrong{0}, missing{0}, errors{0};
  constexpr int kReaders = 16;
  std::atomic<int> done{0};
  std::promise<void> all_done;
  for (int r = 0; r < kReaders; ++r) {
    asio::co_spawn(
        pool,
        [&]() -> asio::awaitable<void> {
          for (size_t i = next++; i < items.size(); i = next++) {
            auto v = co_await db.get(items[i]->first);
            if (!v)
              ++errors;
            else if (!*v)
              ++missing;
            else if (**v != items[i]->second)
              ++wrong;
          }
          if (++done == kReaders) all_done.set_value();
        },
        asio::detached);
  }
  all_done.get_future().get();
  CHECK(errors.load() == 0);
  CHECK(missing.load() == 0);
  CHECK(wrong.load() == 0);
  std::printf("# records=%zu missing=%zu wrong_value=%zu\n", items.size(), missing.load(), wrong.load());

  strata::testing::run_on_pool(pool, [&]() -> asio::awaitable<void> {
    auto all = co_await db.scan("", "", 0);
    REQUIRE(all.has_value());
    CHECK(all->size() == expected.size());
    bool same = all->size() == expected.size();
    auto it = expected.begin();
    for (size_t i = 0; same && i < all->size(); ++i, ++it)
      same = (*all)[i].key == it->first && (*all)[i].value == it->second;
    CHECK(same);

    auto libs = co_await db.scan("pkg/lib", "pkg/lic", 0);
    REQUIRE(libs.has_value());
    size_t want = 0;
    for (auto e = expected.lower_bound("pkg/lib"); e != expected.end() && e->first < "pkg/lic"; ++e) ++want;
    CHECK(libs->size() == want);
    CHECK(want > 1000);

    auto limited = co_await db.scan("pkg/python3", "", 25);
    REQUIRE(limited.has_value());
    REQUIRE(limited->size() == 25);
    CHECK(limited->front().key == expected.lower_bound("pkg/python3")->first);
  }());
}

}  // namespace

TEST_CASE("the real data set loads through co_await put and survives reopens byte for byte") {
  const auto& records = data_set();
  REQUIRE(records.size() == strata::testing::kDataSetRecords);
  strata::testing::TempDir dir;
  std::string path = dir.path() + "/db";
  asio::thread_pool pool(2);

  std::unique_ptr<DB> db;
  auto open = [&] {
    strata::testing::run_on_pool(pool, [&]() -> asio::awaitable<void> {
      auto ex = co_await asio::this_coro::executor;
      auto opened = co_await DB::open(ex, path, db_options());
      REQUIRE(opened.has_value());
      db = std::move(*opened);
    }());
  };
  open();

  // 32 concurrent synced writers (sync policy always): group commit keeps this fast.
  std::vector<const std::pair<const std::string, std::string>*> items;
  for (const auto& kv : records) items.push_back(&kv);
  std::atomic<size_t> next{0}, failed{0};
  constexpr int kWriters = 32;
  std::atomic<int> done{0};
  std::promise<void> all_done;
  for (int w = 0; w < kWriters; ++w) {
    asio::co_spawn(
        pool,
        [&]() -> asio::awaitable<void> {
          for (size_t i = next++; i < items.size(); i = next++) {
            auto r = co_await db->put(items[i]->first, items[i]->second);
            if (!r) ++failed;
          }
          if (++done == kWriters) all_done.set_value();
        },
        asio::detached);
  }
  all_done.get_future().get();
  REQUIRE(failed.load() == 0);
  auto stats = db->stats();
  CHECK(stats.puts == records.size());
  CHECK(stats.flushes >= 3);
  std::printf("# loaded=%zu flushes=%llu wal_syncs=%llu write_amplification=%.2f\n", records.size(),
              static_cast<unsigned long long>(stats.flushes), static_cast<unsigned long long>(stats.wal_syncs),
              stats.write_amplification());

  strata::testing::run_on_pool(pool, [&]() -> asio::awaitable<void> { CHECK((co_await db->close()).has_value()); }());
  db.reset();
  open();
  verify(pool, *db, records);

  // Overwrite and delete some records; they are only in the WAL when the DB is reopened.
  auto expected = records;
  strata::testing::run_on_pool(pool, [&]() -> asio::awaitable<void> {
    int i = 0;
    for (auto it = expected.begin(); it != expected.end(); ++i) {
      if (i % 100 == 0) {
        REQUIRE((co_await db->del(it->first)).has_value());
        it = expected.erase(it);
      } else {
        if (i % 100 == 1) {
          it->second = "overwritten " + it->first;
          REQUIRE((co_await db->put(it->first, it->second)).has_value());
        }
        ++it;
      }
    }
    CHECK((co_await db->close()).has_value());
  }());
  db.reset();
  open();
  verify(pool, *db, expected);
  strata::testing::run_on_pool(pool, [&]() -> asio::awaitable<void> { CHECK((co_await db->close()).has_value()); }());
}
