// The DB's read caches, compression option, bloom statistics and option validation.
#include <doctest/doctest.h>

#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <map>
#include <string>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "lib/sstable/format.h"
#include "tests/test_util.h"
#include "tests/unit/db/db_test_util.h"

using namespace strata;
using strata::testing::mem_options;
using strata::testing::open_db;
using strata::testing::run;
namespace asio = boost::asio;

namespace {

std::string key_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "pkg/%07d", i);
  return buf;
}

// A compressible value shaped like a Debian control stanza (~250 bytes).
std::string value_of(int i) {
  std::string n = std::to_string(i);
  return "Package: package-" + n + "\nVersion: 1." + std::to_string(i % 17) +
         "-1\nArchitecture: amd64\nMaintainer: Debian Developers <debian-devel@lists.debian.org>\n"
         "Installed-Size: " +
         std::to_string(i * 7 % 9000) +
         "\nDepends: libc6 (>= 2.36), libstdc++6 (>= 12)\nSection: utils\nPriority: optional\n"
         "Description: the package number " +
         n + "\n";
}

// Writes keys [begin, end) and flushes them into an SSTable.
asio::awaitable<void> write_and_flush(DB& db, int begin, int end) {
  for (int i = begin; i < end; ++i) {
    auto r = co_await db.put(key_of(i), value_of(i));
    REQUIRE(r.has_value());
  }
  REQUIRE((co_await db.flush()).has_value());
}

asio::awaitable<int> count_wrong(DB& db, int begin, int end) {
  int wrong = 0;
  for (int i = begin; i < end; ++i) {
    auto v = co_await db.get(key_of(i));
    if (!v || !*v || **v != value_of(i)) ++wrong;
  }
  co_return wrong;
}

}  // namespace

TEST_CASE("lz4 and zstd shrink the SSTables, and tables of every compression stay readable after reopen") {
  constexpr int kKeys = 20000;
  std::map<sstable::Compression, uint64_t> sizes;
  for (auto c : {sstable::Compression::none, sstable::Compression::lz4, sstable::Compression::zstd}) {
    CAPTURE(sstable::to_string(c));
    io::MemFileSystem fs;
    auto body = [&]() -> asio::awaitable<void> {
      Options o = mem_options(fs);
      o.compression = c;
      auto db = co_await open_db(o);
      co_await write_and_flush(*db, 0, kKeys);
      auto st = db->stats();
      CHECK(st.sstable_count == 1);
      sizes[c] = st.total_sstable_size_bytes;
      CHECK((co_await db->close()).has_value());

      // Reopen writing with another compression: old and new tables are read side by side.
      o.compression = c == sstable::Compression::zstd ? sstable::Compression::lz4 : sstable::Compression::zstd;
      auto reopened = co_await open_db(o);
      co_await write_and_flush(*reopened, kKeys, kKeys + 2000);
      CHECK(reopened->stats().sstable_count == 2);
      CHECK((co_await count_wrong(*reopened, 0, kKeys + 2000)) == 0);
      CHECK((co_await reopened->close()).has_value());
    };
    run(body());
  }
  MESSAGE("sstable_bytes none=" << sizes[sstable::Compression::none] << " lz4=" << sizes[sstable::Compression::lz4]
                                << " zstd=" << sizes[sstable::Compression::zstd]);
  CHECK(sizes[sstable::Compression::lz4] < sizes[sstable::Compression::none] * 3 / 4);
  CHECK(sizes[sstable::Compression::zstd] < sizes[sstable::Compression::none] * 3 / 4);
}

TEST_CASE("repeated gets of flushed keys hit the block cache and read no more blocks") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(mem_options(fs));
    co_await write_and_flush(*db, 0, 5000);
    DbStats before = db->stats();
    CHECK(before.block_cache_capacity_bytes == 32u << 20);
    CHECK(before.block_cache_hits == 0);

    CHECK((co_await count_wrong(*db, 100, 101)) == 0);
    DbStats first = db->stats();
    CHECK(first.block_cache_misses == before.block_cache_misses + 1);
    CHECK(first.block_reads == before.block_reads + 1);
    CHECK(first.block_read_bytes > before.block_read_bytes);
    CHECK(first.block_cache_usage_bytes > 0);

    for (int k = 0; k < 10; ++k) CHECK((co_await count_wrong(*db, 100, 101)) == 0);
    DbStats repeated = db->stats();
    CHECK(repeated.block_cache_hits == first.block_cache_hits + 10);
    CHECK(repeated.block_reads == first.block_reads);
    CHECK(repeated.block_cache_hit_rate() > 0.5);
    CHECK(repeated.table_cache_misses == 1);  // one SSTable, opened once
    CHECK(repeated.table_cache_hits >= 10);   // then found pinned in its metadata
    CHECK(repeated.open_tables == 1);

    // Keys the table does not hold but whose range it covers: the bloom filter answers.
    for (int i = 0; i < 200; ++i) {
      auto v = co_await db->get(key_of(i) + "-absent");
      REQUIRE(v.has_value());
      CHECK_FALSE(v->has_value());
    }
    DbStats absent = db->stats();
    CHECK(absent.bloom_checks >= repeated.bloom_checks + 200);
    CHECK(absent.bloom_negatives >= repeated.bloom_negatives + 190);  // 10 bits/key: ~1% false positives
    CHECK(absent.bloom_negative_rate() > 0.5);
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("block_cache_bytes 0 disables the block cache: every lookup reads its block") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o = mem_options(fs);
    o.block_cache_bytes = 0;
    auto db = co_await open_db(o);
    co_await write_and_flush(*db, 0, 3000);
    uint64_t reads = db->stats().block_reads;
    for (int k = 0; k < 5; ++k) CHECK((co_await count_wrong(*db, 7, 8)) == 0);
    DbStats s = db->stats();
    CHECK(s.block_reads == reads + 5);
    CHECK(s.block_cache_hits == 0);
    CHECK(s.block_cache_usage_bytes == 0);
    CHECK(s.block_cache_capacity_bytes == 0);
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("DB::open rejects out-of-range options with invalid_argument") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto expect_invalid = [&](Options o) -> asio::awaitable<void> {
      auto db = co_await DB::open(ex, "/db", o);
      REQUIRE_FALSE(db.has_value());
      CHECK(db.error() == make_error_code(Errc::invalid_argument));
    };
    Options o = mem_options(fs);
    o.bloom_bits_per_key = 65;
    co_await expect_invalid(o);
    o = mem_options(fs);
    o.bloom_bits_per_key = -1;
    co_await expect_invalid(o);
    o = mem_options(fs);
    o.block_size_bytes = 255;
    co_await expect_invalid(o);
    o = mem_options(fs);
    o.max_open_files = 15;
    co_await expect_invalid(o);
    o = mem_options(fs);
    o.compression = static_cast<sstable::Compression>(9);
    co_await expect_invalid(o);
    o = mem_options(fs);
    o.block_restart_interval = 0;
    co_await expect_invalid(o);
    // The edges of the ranges are accepted.
    o = mem_options(fs);
    o.bloom_bits_per_key = 64;
    o.block_size_bytes = 256;
    o.max_open_files = 16;
    auto db = co_await DB::open(ex, "/db", o);
    REQUIRE(db.has_value());
    CHECK((co_await (*db)->close()).has_value());
  };
  run(body());
  CHECK(parse_compression("lz4") == sstable::Compression::lz4);
  CHECK(parse_compression("zstd") == sstable::Compression::zstd);
  CHECK(parse_compression("none") == sstable::Compression::none);
  CHECK_FALSE(parse_compression("gzip").has_value());
}

TEST_CASE("with max_open_files 16 and 40 SSTables every key is still found") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o = mem_options(fs);
    o.max_open_files = 16;
    // Keep all 40 tables in L0: no compaction.
    o.l0_compaction_trigger = o.l0_slowdown_writes_trigger = o.l0_stop_writes_trigger = 1000;
    auto db = co_await open_db(o);
    for (int t = 0; t < 40; ++t) co_await write_and_flush(*db, t * 50, t * 50 + 50);
    CHECK(db->stats().sstable_count == 40);
    CHECK((co_await count_wrong(*db, 0, 2000)) == 0);
    CHECK(db->stats().table_cache_misses == 40);  // each table opened once
    CHECK((co_await count_wrong(*db, 0, 2000)) == 0);
    DbStats s = db->stats();
    CHECK(s.open_tables == 16);        // 8 pinned in their metadata, 8 in the LRU
    CHECK(s.table_cache_misses > 40);  // tables beyond those were closed and reopened
    CHECK((co_await db->close()).has_value());
  };
  run(body());
}
