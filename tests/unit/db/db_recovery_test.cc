#include <doctest/doctest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "strata/db.h"
#include "lib/io/default_file_system.h"
#include "lib/io/mem_file_system.h"
#include "lib/io/posix_file_system.h"
#include "lib/version/file_names.h"
#include "tests/test_util.h"
#include "tests/unit/db/db_test_util.h"

using namespace strata;
using strata::testing::mem_options;
using strata::testing::open_db;
using strata::testing::run;
namespace asio = boost::asio;

namespace {

asio::awaitable<std::optional<std::string>> get(DB& db, std::string key) {
  auto v = co_await db.get(std::move(key));
  REQUIRE(v.has_value());
  co_return *v;
}

asio::awaitable<std::vector<std::string>> names_of(io::FileSystem& fs, std::string dir, FileKind kind) {
  auto names = co_await fs.list_dir(dir);
  REQUIRE(names.has_value());
  std::vector<std::string> out;
  for (auto& n : *names) {
    auto p = parse_file_name(n);
    if (p && p->kind == kind) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  co_return out;
}

}  // namespace

TEST_CASE("reopen replays the WAL when nothing was flushed") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    {
      auto db = co_await open_db(mem_options(fs));
      for (int i = 0; i < 100; ++i) co_await db->put("k" + std::to_string(i), "v" + std::to_string(i));
      co_await db->del("k7");
      CHECK((co_await db->close()).has_value());
    }
    auto db = co_await open_db(mem_options(fs));
    CHECK((co_await get(*db, "k0")) == "v0");
    CHECK((co_await get(*db, "k99")) == "v99");
    CHECK_FALSE((co_await get(*db, "k7")).has_value());
    CHECK(db->latest_sequence() == 101);
    // Recovery wrote the replayed memtable to an SSTable and started a new WAL.
    CHECK(db->stats().sstable_count == 1);
    co_await db->put("after", "reopen");
    CHECK(db->latest_sequence() == 102);
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("reopen keeps SSTables and WAL data, one manifest and no obsolete WAL segments") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    for (int round = 0; round < 5; ++round) {
      auto db = co_await open_db(mem_options(fs));
      for (int r = 0; r < round; ++r) {
        CHECK((co_await get(*db, "round" + std::to_string(r))) == std::to_string(r));
        CHECK((co_await get(*db, "flushed" + std::to_string(r))) == std::to_string(r));
      }
      co_await db->put("flushed" + std::to_string(round), std::to_string(round));
      CHECK((co_await db->flush()).has_value());
      co_await db->put("round" + std::to_string(round), std::to_string(round));
      CHECK((co_await db->close()).has_value());
      CHECK((co_await names_of(fs, "/db", FileKind::manifest)).size() == 1);
      CHECK((co_await names_of(fs, "/db/wal", FileKind::wal)).size() == 1);
    }
  };
  run(body());
}

TEST_CASE("a torn WAL tail loses only the torn write") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    {
      auto db = co_await open_db(mem_options(fs));
      for (int i = 0; i < 10; ++i) co_await db->put("k" + std::to_string(i), std::string(100, 'a' + i));
      CHECK((co_await db->close()).has_value());
    }
    auto wals = co_await names_of(fs, "/db/wal", FileKind::wal);
    REQUIRE(wals.size() == 1);
    std::string path = "/db/wal/" + wals[0];
    auto bytes = fs.contents(path);
    REQUIRE(bytes.has_value());
    REQUIRE(fs.set_contents(path, bytes->substr(0, bytes->size() - 5)).has_value());
    auto db = co_await open_db(mem_options(fs));
    for (int i = 0; i < 9; ++i) CHECK((co_await get(*db, "k" + std::to_string(i))) == std::string(100, 'a' + i));
    CHECK_FALSE((co_await get(*db, "k9")).has_value());
    CHECK(db->latest_sequence() == 9);
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("a corrupted synced WAL record followed by far more data is reported as corruption") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o = mem_options(fs);
    o.max_value_size_bytes = 64 << 10;  // one write spans at most kMaxGroupBytes (4 MiB)
    {
      auto db = co_await open_db(o);
      // Far more than one maximal write follows the damaged record.
      for (int i = 0; i < 600; ++i) co_await db->put("k" + std::to_string(i), std::string(10000, 'x'));
      CHECK((co_await db->close()).has_value());
    }
    auto wals = co_await names_of(fs, "/db/wal", FileKind::wal);
    std::string path = "/db/wal/" + wals[0];
    auto bytes = *fs.contents(path);
    bytes[100] ^= 0x01;  // inside the first record's payload
    REQUIRE(fs.set_contents(path, bytes).has_value());
    auto ex = co_await asio::this_coro::executor;
    auto db = co_await DB::open(ex, "/db", o);
    REQUIRE_FALSE(db.has_value());
    CHECK(db.error() == make_error_code(Errc::corruption));
  };
  run(body());
}

TEST_CASE("open removes orphan SSTables and temporary files and rejects a missing SSTable") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    {
      auto db = co_await open_db(mem_options(fs));
      co_await db->put("k", "v");
      CHECK((co_await db->flush()).has_value());
      CHECK((co_await db->close()).has_value());
    }
    auto orphan = co_await fs.open("/db/999999.sst", io::OpenOptions{.create = true});
    REQUIRE(orphan.has_value());
    auto tmp = co_await fs.open("/db/CURRENT.tmp", io::OpenOptions{.create = true});
    REQUIRE(tmp.has_value());
    {
      auto db = co_await open_db(mem_options(fs));
      CHECK((co_await get(*db, "k")) == "v");
      CHECK((co_await db->close()).has_value());
    }
    CHECK_FALSE(*(co_await fs.exists("/db/999999.sst")));
    CHECK_FALSE(*(co_await fs.exists("/db/CURRENT.tmp")));
    auto tables = co_await names_of(fs, "/db", FileKind::table);
    REQUIRE(tables.size() == 1);
    CHECK((co_await fs.remove("/db/" + tables[0])).has_value());
    auto ex = co_await asio::this_coro::executor;
    auto db = co_await DB::open(ex, "/db", mem_options(fs));
    REQUIRE_FALSE(db.has_value());
    CHECK(db.error() == make_error_code(Errc::corruption));
  };
  run(body());
}

TEST_CASE("open without create_if_missing on an empty path fails with not_found") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o = mem_options(fs);
    o.create_if_missing = false;
    auto ex = co_await asio::this_coro::executor;
    auto db = co_await DB::open(ex, "/nothing", o);
    REQUIRE_FALSE(db.has_value());
    CHECK(db.error() == make_error_code(Errc::not_found));
  };
  run(body());
}

TEST_CASE("the default io_uring file system stores and recovers data in a real directory") {
  strata::testing::TempDir dir;
  auto body = [&]() -> asio::awaitable<void> {
    Options o;
    o.memtable_size_bytes = 256 << 10;
    std::string path = dir.path() + "/db";
    {
      auto db = co_await open_db(o, path);
      for (int i = 0; i < 3000; ++i) {
        auto r = co_await db->put("key" + std::to_string(i), std::string(200, 'a' + i % 26));
        REQUIRE(r.has_value());
      }
      CHECK(db->stats().flushes >= 1);
      CHECK((co_await db->close()).has_value());
    }
    auto db = co_await open_db(o, path);
    for (int i = 0; i < 3000; i += 7) {
      CHECK((co_await get(*db, "key" + std::to_string(i))) == std::string(200, 'a' + i % 26));
    }
    auto all = co_await db->scan("", "", 0);
    REQUIRE(all.has_value());
    CHECK(all->size() == 3000);
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("with use_direct_reads every block a read needs comes from the device through the ring") {
  strata::testing::TempDir dir;
  auto body = [&]() -> asio::awaitable<void> {
    Options o;
    o.memtable_size_bytes = 256 << 10;
    o.block_cache_bytes = 0;  // no cache at all: every block is a direct read
    o.use_direct_reads = true;
    std::string path = dir.path() + "/db";
    {
      auto db = co_await open_db(o, path);
      for (int i = 0; i < 3000; ++i)
        REQUIRE((co_await db->put("key" + std::to_string(i), std::string(200, 'a' + i % 26))).has_value());
      REQUIRE((co_await db->flush()).has_value());
      CHECK((co_await db->close()).has_value());
    }
    auto db = co_await open_db(o, path);
    for (int i = 0; i < 3000; i += 7) {
      CHECK((co_await get(*db, "key" + std::to_string(i))) == std::string(200, 'a' + i % 26));
    }
    CHECK_FALSE((co_await get(*db, "key-missing")).has_value());
    auto all = co_await db->scan("", "", 0);
    REQUIRE(all.has_value());
    CHECK(all->size() == 3000);
    auto it = db->new_iterator();
    REQUIRE((co_await it->seek("key2500")).has_value());
    REQUIRE(it->valid());
    CHECK(it->key() == "key2500");
    DbStats st = db->stats();
    CHECK(st.block_reads > 0);
    CHECK(st.block_reads_page_cache == 0);  // RWF_NOWAIT is not tried: nothing is in the page cache
    CHECK(st.block_reads_mapped == 0);      // nothing is mapped
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("the thread-pool fallback file system stores and recovers data in a real directory") {
  strata::testing::TempDir dir;
  io::PosixFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o = mem_options(fs);
    o.memtable_size_bytes = 128 << 10;
    std::string path = dir.path() + "/db";
    {
      auto db = co_await open_db(o, path);
      for (int i = 0; i < 1000; ++i)
        REQUIRE((co_await db->put("key" + std::to_string(i), std::string(300, 'p'))).has_value());
      CHECK(db->stats().flushes >= 1);
      CHECK((co_await db->close()).has_value());
    }
    auto db = co_await open_db(o, path);
    auto all = co_await db->scan("", "", 0);
    REQUIRE(all.has_value());
    CHECK(all->size() == 1000);
    CHECK((co_await get(*db, "key999")) == std::string(300, 'p'));
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("under the batch sync policy an idle DB syncs its WAL within the interval") {
  strata::testing::TempDir dir;
  auto body = [&]() -> asio::awaitable<void> {
    Options o;
    o.sync = SyncPolicy::batch;
    o.sync_batch_interval_ms = 5;
    auto db = co_await open_db(o, dir.path() + "/db");
    REQUIRE((co_await db->put("k", "v")).has_value());
    CHECK(db->stats().wal_syncs == 0);  // acknowledged before any sync
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (db->stats().wal_syncs == 0 && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(1));
      co_await timer.async_wait(asio::use_awaitable);
    }
    CHECK(db->stats().wal_syncs >= 1);
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}
