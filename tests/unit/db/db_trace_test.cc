// DB::trace: the steps of a lookup through memtables, SSTables, bloom filters and the block cache.
#include <doctest/doctest.h>

#include <boost/asio/this_coro.hpp>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "tests/test_util.h"

using namespace strata;
using strata::testing::run;
namespace asio = boost::asio;

TEST_CASE("trace reports memtable hits, SSTables consulted, bloom negatives and cache hits") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o;
    o.file_system = &fs;
    o.wal_preallocate_bytes = 0;
    o.l0_compaction_trigger = o.l0_slowdown_writes_trigger = o.l0_stop_writes_trigger = 100;
    auto opened = co_await DB::open(co_await asio::this_coro::executor, "/db", o);
    REQUIRE(opened.has_value());
    auto& db = **opened;
    for (int i = 0; i < 1000; ++i) REQUIRE((co_await db.put("key" + std::to_string(i), "old")).has_value());
    REQUIRE((co_await db.flush()).has_value());  // L0 table 1
    REQUIRE((co_await db.put("key5", "new")).has_value());
    REQUIRE((co_await db.del("key6")).has_value());
    REQUIRE((co_await db.flush()).has_value());  // L0 table 2 (newer)
    REQUIRE((co_await db.put("mem", "m")).has_value());

    auto t = co_await db.trace("mem");
    REQUIRE(t.has_value());
    REQUIRE(t->steps.size() == 1);
    CHECK(t->steps[0].source == "memtable");
    CHECK(t->steps[0].outcome == "found");
    CHECK(t->value == "m");
    CHECK(t->sstables_consulted() == 0);

    // key55 is only in the older table: the newer table's range covers it but its filter rules it
    // out, then the older table is read from disk.
    auto k55 = co_await db.trace("key55");
    REQUIRE(k55.has_value());
    REQUIRE(k55->steps.size() == 3);
    CHECK(k55->steps[0].outcome == "absent");  // memtable
    CHECK(k55->steps[1].level == 0);
    CHECK(k55->steps[1].outcome == "bloom_negative");  // newer table: holds key5..key6 only
    CHECK(k55->steps[2].outcome == "found");
    CHECK(k55->steps[2].blocks_read == 1);
    CHECK(k55->steps[2].block_cache_hits == 0);
    CHECK(k55->found);
    CHECK(k55->value == "old");
    CHECK(k55->found_sequence.has_value());
    CHECK(k55->sstables_consulted() == 2);
    CHECK(k55->bloom_negatives() == 1);

    // The same lookup again: the block comes from the block cache.
    auto again = co_await db.trace("key55");
    REQUIRE(again.has_value());
    CHECK(again->steps[2].block_cache_hits == 1);
    CHECK(again->steps[2].blocks_read == 0);

    // A tombstone in the newer table decides the key without consulting the older one.
    auto k6 = co_await db.trace("key6");
    REQUIRE(k6.has_value());
    CHECK(k6->steps.back().outcome == "tombstone");
    CHECK(k6->sstables_consulted() == 1);
    CHECK_FALSE(k6->found);

    auto k5 = co_await db.trace("key5");
    REQUIRE(k5.has_value());
    CHECK(k5->value == "new");
    CHECK(k5->sstables_consulted() == 1);
    REQUIRE((co_await db.close()).has_value());
  };
  run(body());
}
