// The DB's point-read fast path, multi_get and synchronous iterator steps: a get answered from
// memory never suspends; a get that needs a block from a file does; multi_get answers exactly
// what get answers, key by key, at the latest state and at a snapshot, with overwritten, deleted,
// missing and repeated keys, whether its reads come from memory or from files read concurrently;
// scans stepped with try_next see exactly what next() sees, also when steps must wait for files;
// an iterator positioned with try_seek is where seek() puts it, and try_seek gives up only for I/O.
#include <doctest/doctest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "strata/db.h"
#include "lib/db/read_quota.h"
#include "lib/io/mem_file_system.h"
#include "lib/util/random.h"
#include "tests/test_util.h"
#include "tests/unit/db/db_test_util.h"
#include "tests/unit/db/yielding_file_system.h"

using namespace strata;
using strata::testing::get_value;
using strata::testing::open_db;
using strata::testing::run;
using strata::testing::small_tree_options;
using strata::testing::YieldingFileSystem;
namespace asio = boost::asio;

namespace {

std::string key_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key%06d", i);
  return buf;
}

// Whether `aw` completed without giving its executor a turn: a handler posted just before it
// runs only if the awaited operation suspended (the tests run on a one-thread io_context).
template <class T>
asio::awaitable<bool> completes_without_suspending(asio::awaitable<T> aw, T* out) {
  ReadQuota::refill();  // a fresh quota: this read is no yield point (read_quota.h)
  bool posted_ran = false;
  asio::post(co_await asio::this_coro::executor, [&posted_ran] { posted_ran = true; });
  *out = co_await std::move(aw);
  bool inline_completion = !posted_ran;
  // Let the posted handler run before posted_ran goes out of scope.
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  co_return inline_completion;
}

using GetResult = Result<std::optional<std::string>>;

}  // namespace

TEST_CASE("a get answered from the memtable, the block cache or cached file pages does not suspend") {
  io::MemFileSystem mem;
  run([&]() -> asio::awaitable<void> {
    auto db = co_await open_db(small_tree_options(mem));
    for (int i = 0; i < 2000; ++i) REQUIRE(co_await db->put(key_of(i), "v" + std::to_string(i)));
    REQUIRE(co_await db->flush());
    REQUIRE(co_await db->put("in-memtable", "m"));
    REQUIRE(db->stats().sstable_count > 0);

    GetResult got = std::optional<std::string>{};
    CHECK(co_await completes_without_suspending(db->get("in-memtable"), &got));
    CHECK(got.value() == "m");
    // An SSTable key: the reader is opened (MemFileSystem opens without suspending), the block
    // read from memory-resident file bytes (read_cached).
    CHECK(co_await completes_without_suspending(db->get(key_of(1234)), &got));
    CHECK(got.value() == "v1234");
    CHECK(co_await completes_without_suspending(db->get(key_of(1234)), &got));  // block cache
    CHECK(got.value() == "v1234");
    CHECK(co_await completes_without_suspending(db->get("absent-key"), &got));
    REQUIRE(got.has_value());
    CHECK_FALSE(got->has_value());
    REQUIRE(co_await db->close());
  }());
}

TEST_CASE("a get whose block must be read from the file suspends, and returns the right value") {
  io::MemFileSystem mem;
  YieldingFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    Options o = small_tree_options(fs);
    o.block_cache_bytes = 0;  // every block from the file
    auto db = co_await open_db(o);
    for (int i = 0; i < 2000; ++i) REQUIRE(co_await db->put(key_of(i), "v" + std::to_string(i)));
    REQUIRE(co_await db->flush());
    uint64_t reads = fs.file_reads();
    GetResult got = std::optional<std::string>{};
    CHECK_FALSE(co_await completes_without_suspending(db->get(key_of(77)), &got));
    CHECK(got.value() == "v77");
    CHECK(fs.file_reads() > reads);
    REQUIRE(co_await db->close());
  }());
}

namespace {

// Writes a history with overwrites, deletes, flushes and compactions; takes a snapshot halfway.
// Returns the snapshot. Keys are drawn from [0, 3000).
asio::awaitable<Snapshot> write_history(DB& db, uint64_t seed) {
  Random rnd(seed);
  std::optional<Snapshot> snap;
  for (int round = 0; round < 6; ++round) {
    for (int n = 0; n < 1500; ++n) {
      int k = static_cast<int>(rnd.uniform(3000));
      if (rnd.uniform(5) == 0) {
        REQUIRE(co_await db.del(key_of(k)));
      } else {
        REQUIRE(co_await db.put(key_of(k), "r" + std::to_string(round) + "-" + std::to_string(n)));
      }
    }
    if (round == 2) snap = db.snapshot();
    if (round % 2 == 0) REQUIRE(co_await db.flush());
  }
  co_return *snap;
}

// multi_get of `keys` equals get() of each, at `ro`.
asio::awaitable<void> check_multi_get(DB& db, const std::vector<std::string>& keys, ReadOptions ro) {
  auto many = co_await db.multi_get(keys, ro);
  REQUIRE(many.has_value());
  REQUIRE(many->size() == keys.size());
  int found = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto one = co_await get_value(db, keys[i], ro);
    CHECK_MESSAGE((*many)[i] == one, "key " << keys[i]);
    found += one.has_value() ? 1 : 0;
  }
  CHECK(found > 0);
  CHECK(found < static_cast<int>(keys.size()));  // some keys are deleted or missing
}

asio::awaitable<void> multi_get_matches_get(io::FileSystem& fs, size_t block_cache_bytes) {
  Options o = small_tree_options(fs);
  o.block_cache_bytes = block_cache_bytes;
  auto db = co_await open_db(o);
  uint64_t seed = strata::testing::env_u64("STRATA_SEED", 20261203);
  MESSAGE("seed=" << seed);
  Snapshot snap = co_await write_history(*db, seed);
  Random rnd(seed + 1);
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<std::string> keys;
    for (int i = 0; i < 40; ++i) keys.push_back(key_of(static_cast<int>(rnd.uniform(3100))));  // some never written
    keys.push_back(keys.front());                                                              // a repeat
    co_await check_multi_get(*db, keys, ReadOptions{});
    co_await check_multi_get(*db, keys, ReadOptions{.snapshot = snap.sequence()});
  }
  REQUIRE(co_await db->close());
}

}  // namespace

TEST_CASE("multi_get equals get key by key, latest and at a snapshot, from memory") {
  io::MemFileSystem mem;
  run(multi_get_matches_get(mem, 32 << 20));
}

TEST_CASE("multi_get equals get key by key when its lookups read files concurrently") {
  io::MemFileSystem mem;
  YieldingFileSystem fs(mem);
  run(multi_get_matches_get(fs, 0));  // no block cache: every SSTable probe reads its file
  CHECK(fs.file_reads() > 0);
}

namespace {

// get(key, &buffer) with one buffer reused for every key equals get(key): values from memtables
// and SSTables, at the latest state and at a snapshot; a missing or deleted key leaves the
// buffer empty (not the previous key's value).
asio::awaitable<void> get_into_buffer_matches_get(io::FileSystem& fs, size_t block_cache_bytes) {
  Options o = small_tree_options(fs);
  o.block_cache_bytes = block_cache_bytes;
  auto db = co_await open_db(o);
  Snapshot snap = co_await write_history(*db, 4242);
  REQUIRE(co_await db->put(key_of(7), "in the memtable"));
  std::string buffer = "left over from before";
  int found = 0, absent = 0;
  for (ReadOptions ro : {ReadOptions{}, ReadOptions{.snapshot = snap.sequence()}}) {
    for (int k = 0; k < 3100; k += 3) {
      auto one = co_await get_value(*db, key_of(k), ro);
      auto into = co_await db->get(key_of(k), &buffer, ro);
      REQUIRE(into.has_value());
      CHECK_MESSAGE((*into == Found::yes) == one.has_value(), "key " << key_of(k));
      if (one.has_value()) {
        CHECK(buffer == *one);
        ++found;
      } else {
        CHECK(buffer.empty());
        ++absent;
      }
    }
  }
  CHECK(found > 100);
  CHECK(absent > 100);
  REQUIRE(co_await db->close());
}

}  // namespace

TEST_CASE("get into a reused buffer answers what get answers, from memory and from files") {
  io::MemFileSystem mem;
  run(get_into_buffer_matches_get(mem, 32 << 20));
  io::MemFileSystem mem2;
  YieldingFileSystem fs(mem2);
  run(get_into_buffer_matches_get(fs, 0));
  CHECK(fs.file_reads() > 0);
}

TEST_CASE("multi_get of no keys is an empty answer") {
  io::MemFileSystem mem;
  run([&]() -> asio::awaitable<void> {
    auto db = co_await open_db(small_tree_options(mem));
    auto none = co_await db->multi_get({});
    REQUIRE(none.has_value());
    CHECK(none->empty());
    REQUIRE(co_await db->close());
  }());
}

namespace {

// Every (key, value) of a forward scan that steps with try_next, completing with next() when a
// step needs I/O, as DB::scan does.
asio::awaitable<std::vector<KeyValue>> scan_with_try_next(DB& db, ReadOptions ro) {
  auto it = db.new_iterator(std::move(ro));
  std::vector<KeyValue> out;
  Result<void> r = co_await it->seek_to_first();
  int pending = 0;
  while (true) {
    REQUIRE(r.has_value());
    if (!it->valid()) break;
    out.push_back(KeyValue{std::string(it->key()), std::string(it->value())});
    if (!it->try_next(&r)) {
      ++pending;
      r = co_await it->next();
    }
  }
  MESSAGE("steps completed by next() after try_next: " << pending);
  co_return out;
}

// The same with next() only.
asio::awaitable<std::vector<KeyValue>> scan_with_next(DB& db, ReadOptions ro) {
  auto it = db.new_iterator(std::move(ro));
  std::vector<KeyValue> out;
  for (auto r = co_await it->seek_to_first();; r = co_await it->next()) {
    REQUIRE(r.has_value());
    if (!it->valid()) break;
    out.push_back(KeyValue{std::string(it->key()), std::string(it->value())});
  }
  co_return out;
}

asio::awaitable<void> try_next_scans_match(io::FileSystem& fs) {
  Options o = small_tree_options(fs);
  o.block_cache_bytes = 0;
  auto db = co_await open_db(o);
  Snapshot snap = co_await write_history(*db, 77);
  for (ReadOptions ro : {ReadOptions{}, ReadOptions{.snapshot = snap.sequence()},
                         ReadOptions{.lower_bound = key_of(500), .upper_bound = key_of(2500)}}) {
    auto a = co_await scan_with_try_next(*db, ro);
    auto b = co_await scan_with_next(*db, ro);
    REQUIRE(a.size() == b.size());
    CHECK(a.size() > 100);
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].key == b[i].key);
      CHECK(a[i].value == b[i].value);
    }
    auto scanned = co_await db->scan(ro.lower_bound, ro.upper_bound, 0, ro);
    REQUIRE(scanned.has_value());
    CHECK(scanned->size() == a.size());
  }
  REQUIRE(co_await db->close());
}

}  // namespace

TEST_CASE("iterator steps by try_next see exactly what next() sees, from memory") {
  io::MemFileSystem mem;
  run(try_next_scans_match(mem));
}

TEST_CASE("iterator steps by try_next see exactly what next() sees when blocks come from files") {
  io::MemFileSystem mem;
  YieldingFileSystem fs(mem);  // no page cache, no block cache: block boundaries need next()
  run(try_next_scans_match(fs));
  CHECK(fs.file_reads() > 0);
}

namespace {

// The position of `it` and up to `steps` entries after it, as (key, value) pairs.
asio::awaitable<std::vector<KeyValue>> walk(Iterator& it, Result<void> r, int steps) {
  std::vector<KeyValue> out;
  for (int i = 0; i <= steps; ++i) {
    REQUIRE(r.has_value());
    if (!it.valid()) break;
    out.push_back(KeyValue{std::string(it.key()), std::string(it.value())});
    if (!it.try_next(&r)) r = co_await it.next();
  }
  co_return out;
}

// For random targets (before, between and after the keys, deleted ones, outside the bounds): an
// iterator positioned with try_seek (completed by seek() when it answers false) shows what one
// positioned with seek() shows, for the target and the entries after it, and so does a step back
// and forth from there (the forward entry shown in place, the backward one from a copy). Returns
// how many try_seek calls needed seek().
asio::awaitable<int> try_seek_matches_seek(io::FileSystem& fs, size_t block_cache_bytes) {
  Options o = small_tree_options(fs);
  o.block_cache_bytes = block_cache_bytes;
  auto db = co_await open_db(o);
  Snapshot snap = co_await write_history(*db, 91);
  // Let compaction settle (so that no table appears mid-test), then leave an L0 file and a
  // memtable on top of the levels, and open (and pin) every table with one scan.
  REQUIRE(co_await db->compact_range());
  for (int k = 0; k < 3000; k += 7) REQUIRE(co_await db->put(key_of(k), "after-compaction-" + std::to_string(k)));
  REQUIRE(co_await db->flush());
  for (int k = 3; k < 3000; k += 11) REQUIRE(co_await db->del(key_of(k)));
  REQUIRE(!(co_await scan_with_next(*db, ReadOptions{})).empty());
  Random rnd(92);
  int fallbacks = 0;
  for (ReadOptions ro : {ReadOptions{}, ReadOptions{.snapshot = snap.sequence()},
                         ReadOptions{.lower_bound = key_of(500), .upper_bound = key_of(2500)}}) {
    for (int i = 0; i < 300; ++i) {
      std::string target = i == 0 ? "" : i == 1 ? "zzz" : key_of(static_cast<int>(rnd.uniform(3100)));
      auto fast = db->new_iterator(ro);
      auto slow = db->new_iterator(ro);
      Result<void> r;
      if (!fast->try_seek(target, &r)) {
        ++fallbacks;
        r = co_await fast->seek(target);
      }
      Result<void> s = co_await slow->seek(target);
      REQUIRE(r.has_value());
      REQUIRE(s.has_value());
      REQUIRE(fast->valid() == slow->valid());
      if (fast->valid()) {
        CHECK(fast->key() == slow->key());
        CHECK(fast->value() == slow->value());
        // Back one entry and forward again, on both.
        r = co_await fast->prev();
        s = co_await slow->prev();
        REQUIRE(fast->valid() == slow->valid());
        if (fast->valid()) {
          CHECK(fast->key() == slow->key());
          CHECK(fast->value() == slow->value());
          r = co_await fast->next();
          s = co_await slow->next();
        } else {
          r = co_await fast->seek(target);
          s = co_await slow->seek(target);
        }
      }
      auto a = co_await walk(*fast, r, 6);
      auto b = co_await walk(*slow, s, 6);
      REQUIRE(a.size() == b.size());
      for (size_t k = 0; k < a.size(); ++k) {
        CHECK(a[k].key == b[k].key);
        CHECK(a[k].value == b[k].value);
      }
    }
  }
  REQUIRE(co_await db->close());
  co_return fallbacks;
}

}  // namespace

TEST_CASE("try_seek lands where seek lands and needs no seek() once the tables are open, from memory") {
  io::MemFileSystem mem;
  int fallbacks = -1;
  run([&]() -> asio::awaitable<void> { fallbacks = co_await try_seek_matches_seek(mem, 8 << 20); }());
  CHECK(fallbacks == 0);
}

TEST_CASE("try_seek gives up when a block must be read from the file, and seek() then lands right") {
  io::MemFileSystem mem;
  YieldingFileSystem fs(mem);  // no page cache, no block cache: every block is a file read
  int fallbacks = -1;
  run([&]() -> asio::awaitable<void> { fallbacks = co_await try_seek_matches_seek(fs, 0); }());
  CHECK(fallbacks > 0);
}
