// TableCache: an LRU of open SSTable readers keyed by file number.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "lib/db/table_cache.h"
#include "lib/io/mem_file_system.h"
#include "lib/util/internal_key.h"
#include "lib/version/file_names.h"
#include "tests/unit/sstable/sstable_test_util.h"

using namespace strata;
using strata::sstable::testing::build_table;
using strata::sstable::testing::KV;
using strata::testing::run;
namespace asio = boost::asio;

namespace {

std::string user_key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key%06d", i);
  return buf;
}

std::string value_of(uint64_t file, int i) { return "file" + std::to_string(file) + "-value" + std::to_string(i); }

// Writes SSTable `number` of the DB at /db with n keys; returns its size.
uint64_t make_table(io::MemFileSystem& fs, uint64_t number, int n = 300) {
  std::vector<KV> entries;
  for (int i = 0; i < n; ++i) {
    entries.emplace_back(make_internal_key(user_key(i), i + 1, ValueType::value), value_of(number, i));
  }
  std::string path = table_file_name("/db", number);
  auto props = run(build_table(fs, path, entries, sstable::TableOptions{.block_size_bytes = 1024}));
  REQUIRE(props.has_value());
  return fs.contents(path)->size();
}

std::shared_ptr<sstable::TableReader> find(TableCache& tc, uint64_t number, uint64_t size) {
  auto r = run(tc.find(number, size));
  REQUIRE(r.has_value());
  return *r;
}

std::optional<std::string> get(const sstable::TableReader& r, int i) {
  auto got = run(r.get(make_internal_key(user_key(i), kMaxSequenceNumber, kValueTypeForSeek)));
  REQUIRE(got.has_value());
  if (!*got) return std::nullopt;
  return (*got)->value;
}

}  // namespace

TEST_CASE("table cache keeps at most max_open_files readers, least recently used evicted first") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  std::vector<uint64_t> sizes(7);
  for (uint64_t n = 1; n <= 6; ++n) sizes[n] = make_table(fs, n);
  cache::LruCache block_cache(1 << 20);
  sstable::ReadStats stats;
  TableCache tc(fs, "/db", /*max_open_files=*/3, &block_cache, &stats, /*num_shard_bits=*/0);

  auto r1 = find(tc, 1, sizes[1]);
  CHECK(get(*r1, 10) == value_of(1, 10));
  CHECK(find(tc, 1, sizes[1]) == r1);  // the same reader: a hit
  CHECK(tc.hits() == 1);
  CHECK(tc.misses() == 1);
  find(tc, 2, sizes[2]);
  find(tc, 3, sizes[3]);
  CHECK(tc.open_readers() == 3);
  find(tc, 1, sizes[1]);  // 1 becomes the most recently used; 2 is now the oldest
  find(tc, 4, sizes[4]);  // evicts 2
  CHECK(tc.open_readers() == 3);
  uint64_t misses = tc.misses();
  find(tc, 1, sizes[1]);
  find(tc, 3, sizes[3]);
  find(tc, 4, sizes[4]);
  CHECK(tc.misses() == misses);  // 1, 3, 4 stayed open
  find(tc, 2, sizes[2]);         // reopened
  CHECK(tc.misses() == misses + 1);
  CHECK(tc.open_readers() == 3);
  // Readers share the DB's counters and its block cache.
  CHECK(stats.data_blocks_read.load() >= 1);
  CHECK(block_cache.entry_count() >= 1);
}

TEST_CASE("a reader evicted from the table cache stays usable by the iterator holding it") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  std::vector<uint64_t> sizes(40);
  for (uint64_t n = 1; n < 40; ++n) sizes[n] = make_table(fs, n);
  cache::LruCache block_cache(0);  // no block cache: the iterator must read through its reader
  TableCache tc(fs, "/db", 2, &block_cache, nullptr, 0);

  auto it = find(tc, 1, sizes[1])->new_iterator();
  REQUIRE(run(it->seek_to_first()));
  for (uint64_t n = 2; n < 40; ++n) find(tc, n, sizes[n]);  // evicts table 1 long ago
  tc.evict(1);
  CHECK(tc.open_readers() == 2);
  int count = 0;
  while (it->valid()) {
    ParsedInternalKey k;
    REQUIRE(parse_internal_key(it->key(), &k));
    CHECK(k.user_key == user_key(count));
    CHECK(it->value() == value_of(1, count));
    ++count;
    REQUIRE(run(it->next()));
  }
  CHECK(count == 300);
}

TEST_CASE("evict(number) drops the reader and its blocks, leaving other tables' blocks cached") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  uint64_t s1 = make_table(fs, 1), s2 = make_table(fs, 2);
  cache::LruCache block_cache(1 << 20);
  TableCache tc(fs, "/db", 16, &block_cache, nullptr);
  auto r1 = find(tc, 1, s1);
  auto r2 = find(tc, 2, s2);
  for (int i = 0; i < 300; i += 50) {
    CHECK(get(*r1, i) == value_of(1, i));
    CHECK(get(*r2, i) == value_of(2, i));
  }
  size_t blocks_each = block_cache.entry_count() / 2;
  REQUIRE(blocks_each >= 3);
  tc.evict(1);
  CHECK(tc.open_readers() == 1);
  CHECK(block_cache.entry_count() == blocks_each);
  CHECK(get(*r1, 0) == value_of(1, 0));  // the holder still has a working reader
  uint64_t misses = tc.misses();
  auto reopened = find(tc, 1, s1);
  CHECK(tc.misses() == misses + 1);
  CHECK(reopened != r1);
  find(tc, 2, s2);
  CHECK(tc.misses() == misses + 1);  // table 2 untouched
}

TEST_CASE("a table that cannot be opened gives the error and is not cached") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  cache::LruCache block_cache(1 << 20);
  TableCache tc(fs, "/db", 16, &block_cache, nullptr);
  auto missing = run(tc.find(5, 1000));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == Errc::not_found);
  CHECK(tc.open_readers() == 0);

  uint64_t size = make_table(fs, 5);
  std::string path = table_file_name("/db", 5);
  std::string bytes = *fs.contents(path);
  std::string bad = bytes;
  bad[bad.size() - 1] ^= 0x01;  // bad magic
  REQUIRE(fs.set_contents(path, bad));
  auto corrupt = run(tc.find(5, size));
  REQUIRE_FALSE(corrupt.has_value());
  CHECK(corrupt.error() == Errc::corruption);
  CHECK(tc.open_readers() == 0);

  REQUIRE(fs.set_contents(path, bytes));  // repaired: the next find opens it
  auto good = find(tc, 5, size);
  CHECK(get(*good, 7) == value_of(5, 7));
  CHECK(tc.open_readers() == 1);
}

namespace {

// Forwards to a FileSystem; open() first yields to the other coroutines of the executor a few
// times, so that concurrent opens of one file really overlap.
class YieldingFileSystem final : public io::FileSystem {
 public:
  explicit YieldingFileSystem(io::FileSystem& inner) : inner_(inner) {}
  asio::awaitable<Result<std::unique_ptr<io::File>>> open(std::string path, io::OpenOptions options) override {
    for (int i = 0; i < 3; ++i) {
      auto ex = co_await asio::this_coro::executor;
      co_await asio::post(ex, asio::use_awaitable);
    }
    auto r = co_await inner_.open(std::move(path), options);
    co_return r;
  }
  asio::awaitable<Result<void>> rename(std::string from, std::string to) override {
    auto r = co_await inner_.rename(std::move(from), std::move(to));
    co_return r;
  }
  asio::awaitable<Result<void>> remove(std::string path) override {
    auto r = co_await inner_.remove(std::move(path));
    co_return r;
  }
  asio::awaitable<Result<void>> create_dir(std::string path) override {
    auto r = co_await inner_.create_dir(std::move(path));
    co_return r;
  }
  asio::awaitable<Result<std::vector<std::string>>> list_dir(std::string path) override {
    auto r = co_await inner_.list_dir(std::move(path));
    co_return r;
  }
  asio::awaitable<Result<void>> sync_dir(std::string path) override {
    auto r = co_await inner_.sync_dir(std::move(path));
    co_return r;
  }
  asio::awaitable<Result<bool>> exists(std::string path) override {
    auto r = co_await inner_.exists(std::move(path));
    co_return r;
  }
  Result<std::unique_ptr<io::FileLock>> lock(std::string path) override { return inner_.lock(std::move(path)); }

 private:
  io::FileSystem& inner_;
};

}  // namespace

TEST_CASE("concurrent first finds of one table open its file once and share the reader") {
  io::MemFileSystem mem;
  REQUIRE(run(mem.create_dir("/db")));
  uint64_t size = make_table(mem, 3);
  make_table(mem, 4);
  YieldingFileSystem fs(mem);
  cache::LruCache block_cache(1 << 20);
  TableCache tc(fs, "/db", 16, &block_cache, nullptr);
  asio::io_context io;
  std::vector<std::shared_ptr<sstable::TableReader>> got(16);
  int errors = 0;
  for (int c = 0; c < 16; ++c) {
    asio::co_spawn(
        io,
        [&, c]() -> asio::awaitable<void> {
          // Half of them ask for a file that does not exist: they share one failed open.
          auto r = co_await tc.find(c % 2 == 0 ? 3 : 99, size);
          if (r)
            got[c] = *r;
          else
            ++errors;
        },
        asio::detached);
  }
  io.run();
  CHECK(errors == 8);
  CHECK(tc.opens() == 2);
  for (int c = 0; c < 16; c += 2) CHECK(got[c] == got[0]);
  CHECK(got[0] != nullptr);
  CHECK(tc.open_readers() == 1);
  // The failure was not cached: the next find of 99 tries again.
  CHECK_FALSE(run(tc.find(99, size)).has_value());
  CHECK(tc.opens() == 3);
}
