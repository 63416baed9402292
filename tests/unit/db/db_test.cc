#include <doctest/doctest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <future>

#include <map>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "lib/util/random.h"
#include "tests/test_util.h"

using namespace strata;
using strata::testing::run;
namespace asio = boost::asio;

namespace {

Options mem_options(io::MemFileSystem& fs) {
  Options o;
  o.file_system = &fs;
  o.wal_preallocate_bytes = 0;
  return o;
}

asio::awaitable<std::unique_ptr<DB>> open_db(io::FileSystem& fs, Options o, std::string path = "/db") {
  auto ex = co_await asio::this_coro::executor;
  auto db = co_await DB::open(ex, path, o);
  REQUIRE(db.has_value());
  co_return std::move(*db);
}

asio::awaitable<std::optional<std::string>> get(DB& db, std::string key, ReadOptions ro = {}) {
  auto v = co_await db.get(std::move(key), ro);
  REQUIRE(v.has_value());
  co_return *v;
}

}  // namespace

TEST_CASE("put, get, overwrite and delete in the memtable") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(fs, mem_options(fs));
    CHECK((co_await db->put("a", "1")).has_value());
    CHECK((co_await get(*db, "a")) == "1");
    CHECK((co_await db->put("a", "2")).has_value());
    CHECK((co_await get(*db, "a")) == "2");
    CHECK((co_await db->del("a")).has_value());
    CHECK_FALSE((co_await get(*db, "a")).has_value());
    CHECK_FALSE((co_await get(*db, "never")).has_value());
    CHECK(db->latest_sequence() == 3);
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("keys and values are arbitrary bytes, including empty ones") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(fs, mem_options(fs));
    std::string key("\0k\xff/ ü", 8), value("\0\n\r binary \xfe\xff", 13);
    CHECK((co_await db->put(key, value)).has_value());
    CHECK((co_await db->put("", "empty key")).has_value());
    CHECK((co_await db->put("empty value", "")).has_value());
    CHECK((co_await db->flush()).has_value());
    CHECK((co_await get(*db, key)) == value);
    CHECK((co_await get(*db, "")) == "empty key");
    CHECK((co_await get(*db, "empty value")) == "");
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("a key or value over the configured limit is rejected with invalid_argument") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o = mem_options(fs);
    o.max_key_size_bytes = 8;
    o.max_value_size_bytes = 16;
    auto db = co_await open_db(fs, o);
    auto big_key = co_await db->put(std::string(9, 'k'), "v");
    CHECK(big_key.error() == make_error_code(Errc::invalid_argument));
    auto big_value = co_await db->put("k", std::string(17, 'v'));
    CHECK(big_value.error() == make_error_code(Errc::invalid_argument));
    WriteBatch batch;
    batch.put("ok", "ok");
    batch.put("k", std::string(17, 'v'));
    auto bad_batch = co_await db->write(batch);
    CHECK(bad_batch.error() == make_error_code(Errc::invalid_argument));
    CHECK_FALSE((co_await get(*db, "ok")).has_value());  // all or nothing
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("reads see memtable, immutable memtables and SSTables, newest version first") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(fs, mem_options(fs));
    co_await db->put("k1", "old");
    co_await db->put("k2", "only-in-sst");
    co_await db->put("gone", "x");
    CHECK((co_await db->flush()).has_value());
    co_await db->put("k1", "new");
    co_await db->del("gone");
    CHECK((co_await get(*db, "k1")) == "new");
    CHECK((co_await get(*db, "k2")) == "only-in-sst");
    CHECK_FALSE((co_await get(*db, "gone")).has_value());
    CHECK((co_await db->flush()).has_value());
    CHECK((co_await get(*db, "k1")) == "new");
    CHECK_FALSE((co_await get(*db, "gone")).has_value());
    auto stats = db->stats();
    CHECK(stats.sstable_count == 2);
    CHECK(stats.flushes == 2);
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("scan merges every source, hides tombstones and honours start, end and limit") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(fs, mem_options(fs));
    std::map<std::string, std::string> model;
    Random rnd(42);
    for (int round = 0; round < 4; ++round) {
      for (int i = 0; i < 300; ++i) {
        std::string k = "key" + std::to_string(rnd.uniform(500));
        if (rnd.one_in(4)) {
          co_await db->del(k);
          model.erase(k);
        } else {
          std::string v = "v" + std::to_string(round) + "-" + std::to_string(i);
          co_await db->put(k, v);
          model[k] = v;
        }
      }
      if (round < 3) CHECK((co_await db->flush()).has_value());
    }
    auto all = co_await db->scan("", "", 0);
    REQUIRE(all.has_value());
    std::vector<KeyValue> want;
    for (auto& [k, v] : model) want.push_back({k, v});
    CHECK(*all == want);

    auto ranged = co_await db->scan("key2", "key3", 0);
    REQUIRE(ranged.has_value());
    std::vector<KeyValue> want_ranged;
    for (auto it = model.lower_bound("key2"); it != model.end() && it->first < "key3"; ++it) {
      want_ranged.push_back({it->first, it->second});
    }
    CHECK(*ranged == want_ranged);

    auto limited = co_await db->scan("key1", "", 5);
    REQUIRE(limited.has_value());
    REQUIRE(limited->size() == 5);
    CHECK(limited->front().key == model.lower_bound("key1")->first);
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("a snapshot keeps seeing its versions across overwrites and flushes") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(fs, mem_options(fs));
    co_await db->put("k", "v1");
    co_await db->put("d", "here");
    {
      Snapshot snap = db->snapshot();
      co_await db->put("k", "v2");
      co_await db->del("d");
      CHECK((co_await db->flush()).has_value());
      ReadOptions at{.snapshot = snap.sequence()};
      CHECK((co_await get(*db, "k", at)) == "v1");
      CHECK((co_await get(*db, "d", at)) == "here");
      CHECK((co_await get(*db, "k")) == "v2");
      CHECK_FALSE((co_await get(*db, "d")).has_value());
      auto scanned = co_await db->scan("", "", 0, at);
      REQUIRE(scanned.has_value());
      CHECK(*scanned == std::vector<KeyValue>{{"d", "here"}, {"k", "v1"}});
    }
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("a write batch is applied atomically with consecutive sequence numbers") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(fs, mem_options(fs));
    co_await db->put("x", "old");
    WriteBatch batch;
    batch.put("a", "1");
    batch.del("x");
    batch.put("b", "2");
    auto seq = co_await db->write(batch);
    REQUIRE(seq.has_value());
    CHECK(*seq == 4);
    CHECK((co_await get(*db, "a")) == "1");
    CHECK_FALSE((co_await get(*db, "x")).has_value());
    ReadOptions before{.snapshot = 1};
    CHECK((co_await get(*db, "x", before)) == "old");
    CHECK_FALSE((co_await get(*db, "a", before)).has_value());
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("a small memtable budget flushes in the background and writers stall then resume") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o = mem_options(fs);
    o.memtable_size_bytes = 64 << 10;
    o.max_immutable_memtables = 1;
    auto db = co_await open_db(fs, o);
    std::string value(1000, 'v');
    for (int i = 0; i < 2000; ++i) {
      auto r = co_await db->put("key" + std::to_string(i), value + std::to_string(i));
      REQUIRE(r.has_value());
    }
    CHECK((co_await db->flush()).has_value());
    auto stats = db->stats();
    CHECK(stats.flushes >= 10);
    CHECK(stats.sstable_count >= 1);
    for (int i = 0; i < 2000; i += 97) {
      CHECK((co_await get(*db, "key" + std::to_string(i))) == value + std::to_string(i));
    }
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("a second open of a locked directory fails with busy") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(fs, mem_options(fs));
    auto ex = co_await asio::this_coro::executor;
    auto second = co_await DB::open(ex, "/db", mem_options(fs));
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error() == make_error_code(Errc::busy));
    CHECK((co_await db->close()).has_value());
    auto third = co_await DB::open(ex, "/db", mem_options(fs));
    REQUIRE(third.has_value());
    CHECK((co_await (*third)->close()).has_value());
  };
  run(body());
}

TEST_CASE("writes after close fail with shutting_down") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(fs, mem_options(fs));
    CHECK((co_await db->close()).has_value());
    auto r = co_await db->put("k", "v");
    CHECK(r.error() == make_error_code(Errc::shutting_down));
  };
  run(body());
}

TEST_CASE("concurrent synced writers on two threads are group-committed and all acknowledged") {
  // A real directory: group commit forms while an fdatasync is in flight.
  strata::testing::TempDir dir;
  asio::thread_pool pool(2);
  std::unique_ptr<DB> db;
  strata::testing::run_on_pool(pool, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto opened = co_await DB::open(ex, dir.path() + "/db", Options{});
    REQUIRE(opened.has_value());
    db = std::move(*opened);
  }());
  constexpr int kWriters = 32, kPerWriter = 200;
  std::atomic<int> failures{0}, done{0};
  std::promise<void> all_done;
  for (int w = 0; w < kWriters; ++w) {
    asio::co_spawn(
        pool,
        [&, w]() -> asio::awaitable<void> {
          for (int i = 0; i < kPerWriter; ++i) {
            auto r = co_await db->put("w" + std::to_string(w) + "-" + std::to_string(i), std::to_string(i));
            if (!r) failures.fetch_add(1);
          }
          if (done.fetch_add(1) + 1 == kWriters) all_done.set_value();
        },
        asio::detached);
  }
  all_done.get_future().get();
  CHECK(failures.load() == 0);
  auto stats = db->stats();
  CHECK(stats.puts == kWriters * kPerWriter);
  CHECK(stats.last_sequence == kWriters * kPerWriter);
  CHECK(stats.write_groups < stats.puts);  // some groups held several writes
  MESSAGE("write_groups=" << stats.write_groups << " puts=" << stats.puts << " wal_syncs=" << stats.wal_syncs);
  strata::testing::run_on_pool(pool, [&]() -> asio::awaitable<void> {
    for (int w = 0; w < kWriters; ++w) {
      auto v = co_await get(*db, "w" + std::to_string(w) + "-" + std::to_string(kPerWriter - 1));
      CHECK(v == std::to_string(kPerWriter - 1));
    }
    CHECK((co_await db->close()).has_value());
  }());
}
