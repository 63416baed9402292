// TableReader with a block cache: hits read nothing from the file, misses still verify checksums,
// fill_cache = false leaves the cache alone, GetTrace and ReadStats say what happened; get_cached
// answers from memory (block cache, OS page cache) and hands the rest to finish_get (the ring).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <vector>

#include "lib/cache/lru_cache.h"
#include "lib/io/mem_file_system.h"
#include "lib/io/uring_file_system.h"
#include "lib/sstable/table_reader.h"
#include "lib/util/internal_key.h"
#include "tests/unit/sstable/sstable_test_util.h"

using namespace strata;
using namespace strata::sstable;
using namespace strata::sstable::testing;

namespace {

// Forwards to a File and counts the reads that reach it.
class CountingFile final : public io::File {
 public:
  CountingFile(std::unique_ptr<io::File> inner, std::atomic<int>* reads) : inner_(std::move(inner)), reads_(reads) {}
  asio::awaitable<Result<size_t>> read_at(uint64_t offset, std::span<char> buf) override {
    ++*reads_;
    auto r = co_await inner_->read_at(offset, buf);
    co_return r;
  }
  asio::awaitable<Result<void>> write_at(uint64_t offset, std::string_view data) override {
    auto r = co_await inner_->write_at(offset, data);
    co_return r;
  }
  asio::awaitable<Result<void>> sync() override {
    auto r = co_await inner_->sync();
    co_return r;
  }
  asio::awaitable<Result<void>> truncate(uint64_t size) override {
    auto r = co_await inner_->truncate(size);
    co_return r;
  }
  asio::awaitable<Result<void>> preallocate(uint64_t size) override {
    auto r = co_await inner_->preallocate(size);
    co_return r;
  }
  Result<uint64_t> size() const override { return inner_->size(); }
  const std::string& path() const override { return inner_->path(); }

 private:
  std::unique_ptr<io::File> inner_;
  std::atomic<int>* reads_;
};

std::string user_key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key%06d", i);
  return buf;
}

// Fixed width, so that tables with different values have the same layout.
std::string value_of(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "value-%08d", i);
  return buf + std::string(100, 'v');
}

std::string lookup_key(int i) { return make_internal_key(user_key(i), kMaxSequenceNumber, kValueTypeForSeek); }

// A table of n keys with ~4 KiB blocks (about 30 entries each) at `path`.
void build(io::MemFileSystem& fs, const std::string& path, int n, int value_salt = 0) {
  std::vector<KV> entries;
  for (int i = 0; i < n; ++i) {
    entries.emplace_back(make_internal_key(user_key(i), i + 1, ValueType::value), value_of(i + value_salt));
  }
  auto props = run(build_table(fs, path, entries, TableOptions{}));
  REQUIRE(props.has_value());
}

std::shared_ptr<TableReader> open_counted(io::MemFileSystem& fs, const std::string& path, TableReadOptions options,
                                          std::atomic<int>* reads) {
  auto file = run(fs.open(path, io::OpenOptions{.read_only = true}));
  REQUIRE(file.has_value());
  auto size = (*file)->size();
  REQUIRE(size.has_value());
  std::shared_ptr<io::File> counted = std::make_shared<CountingFile>(std::move(*file), reads);
  auto reader = run(TableReader::open(counted, *size, options));
  REQUIRE(reader.has_value());
  return *reader;
}

std::optional<std::string> get_value(const TableReader& r, int i, GetTrace* trace = nullptr) {
  auto got = run(r.get(lookup_key(i), trace));
  REQUIRE(got.has_value());
  if (!*got) return std::nullopt;
  return (*got)->value;
}

}  // namespace

TEST_CASE("the second get of a block is a cache hit and reads nothing from the file") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  build(fs, "/db/000007.sst", 1000);
  cache::LruCache block_cache(1 << 20);
  ReadStats stats;
  std::atomic<int> reads{0};
  auto r = open_counted(fs, "/db/000007.sst",
                        TableReadOptions{.block_cache = &block_cache, .cache_id = 7, .stats = &stats}, &reads);
  int reads_after_open = reads.load();

  GetTrace first;
  CHECK(get_value(*r, 500, &first) == value_of(500));
  CHECK(first.bloom_checked);
  CHECK_FALSE(first.bloom_negative);
  REQUIRE(first.blocks.size() == 1);
  CHECK_FALSE(first.blocks[0].cache_hit);
  CHECK(first.blocks[0].bytes_read > 0);
  CHECK(reads.load() == reads_after_open + 1);
  CHECK(stats.block_cache_misses.load() == 1);
  CHECK(stats.data_blocks_read.load() == 1);
  CHECK(stats.data_bytes_read.load() == first.bytes_read());
  CHECK(block_cache.entry_count() == 1);
  CHECK(block_cache.usage() > 3000);  // charged the block's size (about 4 KiB)

  // The same key, and a neighbour in the same block: both from the cache.
  GetTrace second;
  CHECK(get_value(*r, 500, &second) == value_of(500));
  CHECK(get_value(*r, 501) == value_of(501));
  REQUIRE(second.blocks.size() == 1);
  CHECK(second.blocks[0].cache_hit);
  CHECK(second.blocks[0].offset == first.blocks[0].offset);
  CHECK(second.bytes_read() == 0);
  CHECK(reads.load() == reads_after_open + 1);
  CHECK(stats.block_cache_hits.load() == 2);
  CHECK(stats.data_blocks_read.load() == 1);
  CHECK(&r->stats() == &stats);

  // An absent key: the bloom filter (10 bits per key) almost always rules it out; the trace says so.
  GetTrace absent;
  CHECK_FALSE(get_value(*r, 5000, &absent).has_value());
  CHECK(absent.bloom_checked);
  if (absent.bloom_negative) CHECK(absent.blocks.empty());
  CHECK(stats.bloom_checks.load() == 4);
}

TEST_CASE("with the block cache, a corrupted block on disk is still detected on a miss") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  build(fs, "/db/000001.sst", 1000);
  cache::LruCache block_cache(1 << 20);
  std::atomic<int> reads{0};
  auto r = open_counted(fs, "/db/000001.sst", TableReadOptions{.block_cache = &block_cache, .cache_id = 1}, &reads);
  // Cache the block holding key 0, then find the block holding the last key.
  GetTrace first, last;
  CHECK(get_value(*r, 0, &first) == value_of(0));
  CHECK(get_value(*r, 999, &last) == value_of(999));
  REQUIRE(last.blocks.size() == 1);
  REQUIRE(first.blocks.size() == 1);
  REQUIRE(last.blocks[0].offset != first.blocks[0].offset);
  block_cache.clear();
  CHECK(get_value(*r, 0) == value_of(0));  // cached again; the last block is not

  // Flip one byte inside the last block's contents on disk.
  std::string bytes = *fs.contents("/db/000001.sst");
  bytes[last.blocks[0].offset + 10] ^= 0x20;
  REQUIRE(fs.set_contents("/db/000001.sst", bytes));
  auto bad = run(r->get(lookup_key(999)));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == Errc::corruption);
  CHECK(block_cache.entry_count() == 1);  // the bad block was not cached
  // Asking again reads (and rejects) it again: a corruption is never cached.
  auto again = run(r->get(lookup_key(999)));
  CHECK_FALSE(again.has_value());
  // The block cached before the corruption is served from memory, where it was verified.
  CHECK(get_value(*r, 0) == value_of(0));
}

TEST_CASE("an iterator with fill_cache false uses cached blocks but inserts none") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  build(fs, "/db/000001.sst", 2000);
  cache::LruCache block_cache(8 << 20);
  ReadStats stats;
  std::atomic<int> reads{0};
  auto r = open_counted(fs, "/db/000001.sst",
                        TableReadOptions{.block_cache = &block_cache, .cache_id = 1, .stats = &stats}, &reads);
  auto scan = [&](bool fill_cache) {
    auto it = r->new_iterator(fill_cache);
    REQUIRE(run(it->seek_to_first()));
    int n = 0;
    while (it->valid()) {
      CHECK(it->value() == value_of(n));
      ++n;
      REQUIRE(run(it->next()));
    }
    CHECK(n == 2000);
  };
  scan(/*fill_cache=*/false);
  uint64_t blocks = stats.data_blocks_read.load();
  CHECK(blocks > 10);
  CHECK(block_cache.entry_count() == 0);
  CHECK(block_cache.usage() == 0);

  scan(/*fill_cache=*/true);
  CHECK(stats.data_blocks_read.load() == 2 * blocks);
  CHECK(block_cache.entry_count() == blocks);

  int reads_before = reads.load();
  scan(/*fill_cache=*/false);
  CHECK(reads.load() == reads_before);  // every block came from the cache
  CHECK(stats.block_cache_hits.load() == blocks);
}

TEST_CASE("a small block cache stays within its capacity, and every value is still right") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  build(fs, "/db/000001.sst", 3000);
  cache::LruCache block_cache(20 << 10, /*num_shard_bits=*/0);  // about 4 blocks
  ReadStats stats;
  std::atomic<int> reads{0};
  auto r = open_counted(fs, "/db/000001.sst",
                        TableReadOptions{.block_cache = &block_cache, .cache_id = 1, .stats = &stats}, &reads);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3000; i += 7) {
      CHECK(get_value(*r, i) == value_of(i));
      CHECK(block_cache.usage() <= block_cache.capacity());
    }
  }
  CHECK(block_cache.evictions() > 0);
  CHECK(stats.block_cache_hits.load() > 0);  // neighbours within a block
  CHECK(stats.block_cache_misses.load() > 0);
}

TEST_CASE("two tables sharing one block cache never see each other's blocks") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  // Same keys and layout, so their blocks sit at the same offsets; different values.
  build(fs, "/db/000001.sst", 500, /*value_salt=*/0);
  build(fs, "/db/000002.sst", 500, /*value_salt=*/100000);
  cache::LruCache block_cache(1 << 20);
  std::atomic<int> reads{0};
  auto a = open_counted(fs, "/db/000001.sst", TableReadOptions{.block_cache = &block_cache, .cache_id = 1}, &reads);
  auto b = open_counted(fs, "/db/000002.sst", TableReadOptions{.block_cache = &block_cache, .cache_id = 2}, &reads);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 500; i += 3) {
      CHECK(get_value(*a, i) == value_of(i));
      CHECK(get_value(*b, i) == value_of(i + 100000));
    }
  }
  size_t both = block_cache.entry_count();
  CHECK(block_cache.erase_prefix(TableReader::block_cache_prefix(1)) * 2 == both);
  CHECK(get_value(*b, 0) == value_of(100000));
}

TEST_CASE("a reader without a block cache reads every block from the file") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  build(fs, "/db/000001.sst", 100);
  std::atomic<int> reads{0};
  auto r = open_counted(fs, "/db/000001.sst", TableReadOptions{}, &reads);
  int before = reads.load();
  GetTrace t;
  for (int k = 0; k < 3; ++k) CHECK(get_value(*r, 5, &t) == value_of(5));
  CHECK(reads.load() == before + 3);
  REQUIRE(t.blocks.size() == 1);  // the trace is reset by each get
  CHECK_FALSE(t.blocks[0].cache_hit);
  CHECK(r->stats().block_cache_misses.load() == 0);  // no cache, no lookups
  CHECK(r->stats().data_blocks_read.load() == 3);
}

TEST_CASE("get_cached stops at a block that must be read from the file, and finish_get completes it") {
  io::MemFileSystem fs;
  REQUIRE(run(fs.create_dir("/db")));
  build(fs, "/db/000001.sst", 1000);
  cache::LruCache block_cache(1 << 20);
  ReadStats stats;
  std::atomic<int> reads{0};
  // CountingFile has no read_cached: every block not in the block cache needs the file.
  auto r = open_counted(fs, "/db/000001.sst",
                        TableReadOptions{.block_cache = &block_cache, .cache_id = 1, .stats = &stats}, &reads);
  int before = reads.load();

  std::string got_value;

  TableGet got{.value = &got_value};
  TableReader::PendingGet pending;
  auto step = r->get_cached(lookup_key(700), &got, &pending);
  REQUIRE(step.has_value());
  CHECK(*step == GetStep::needs_io);
  CHECK(reads.load() == before);  // nothing read yet
  auto finished = run(r->finish_get(lookup_key(700), std::move(pending), &got));
  REQUIRE(finished.has_value());
  CHECK(got.kind == TableGet::Kind::value);
  CHECK(got.sequence == 701);
  CHECK(*got.value == value_of(700));
  CHECK(reads.load() == before + 1);

  // Now the block is cached: the same lookup finishes without the file, and so does a key the
  // filter rules out.
  std::string again_value;
  TableGet again{.value = &again_value};
  step = r->get_cached(lookup_key(700), &again, &pending);
  REQUIRE(step.has_value());
  CHECK(*step == GetStep::done);
  CHECK(*again.value == value_of(700));
  std::string missing_value;
  TableGet missing{.value = &missing_value};
  step = r->get_cached(make_internal_key("nokey", kMaxSequenceNumber, kValueTypeForSeek), &missing, &pending);
  REQUIRE(step.has_value());
  CHECK(*step == GetStep::done);
  CHECK(missing.kind == TableGet::Kind::absent);
  CHECK(reads.load() == before + 1);
  CHECK(stats.page_cache_reads.load() == 0);
}

TEST_CASE("a block in the OS page cache is read without the ring; a dropped one falls back to the ring") {
  strata::testing::TempDir dir;
  asio::io_context io;
  auto fs = io::UringFileSystem::create(io.get_executor());
  REQUIRE(fs.has_value());
  const std::string path = dir.path() + "/000001.sst";
  std::vector<KV> entries;
  for (int i = 0; i < 1000; ++i)
    entries.emplace_back(make_internal_key(user_key(i), i + 1, ValueType::value), value_of(i));
  auto body = [&]() -> asio::awaitable<void> {
    auto props = co_await build_table(**fs, path, entries, TableOptions{});
    REQUIRE(props.has_value());
    {
      auto f = co_await (*fs)->open(path, io::OpenOptions{});
      REQUIRE(f.has_value());
      auto synced = co_await (*f)->sync();  // clean pages, so that DONTNEED drops them
      REQUIRE(synced.has_value());
    }
    ReadStats stats;
    auto r = co_await open_table(**fs, path, TableReadOptions{.stats = &stats});  // no block cache
    REQUIRE(r.has_value());
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
    ::close(fd);

    // Not in the page cache: RWF_NOWAIT says EAGAIN, the block comes through the ring. (Recent
    // kernels start readahead within a RWF_NOWAIT read that misses; on a fast device it may be
    // done before the read looks again, and then the block is read at once. The fallback itself
    // is checked deterministically in tests/unit/db/db_read_path_test.cc.)
    std::string got_value;
    TableGet got{.value = &got_value};
    TableReader::PendingGet pending;
    auto step = (*r)->get_cached(lookup_key(300), &got, &pending);
    REQUIRE(step.has_value());
    uint64_t page_cache_reads = 0;
    if (*step == GetStep::needs_io) {
      auto finished = co_await (*r)->finish_get(lookup_key(300), std::move(pending), &got);
      REQUIRE(finished.has_value());
    } else {
      MESSAGE("the kernel's readahead served the dropped block within the RWF_NOWAIT read");
      page_cache_reads = 1;
    }
    CHECK(*got.value == value_of(300));
    CHECK(stats.data_blocks_read.load() == 1);
    CHECK(stats.page_cache_reads.load() == page_cache_reads);

    // The ring's read left the block in the page cache: the next lookup needs no I/O wait.
    std::string again_value;
    TableGet again{.value = &again_value};
    step = (*r)->get_cached(lookup_key(301), &again, &pending);
    REQUIRE(step.has_value());
    CHECK(*step == GetStep::done);
    CHECK(*again.value == value_of(301));
    CHECK(stats.data_blocks_read.load() == 2);
    CHECK(stats.page_cache_reads.load() == page_cache_reads + 1);
  };
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) { error = e; });
  io.run();
  fs->reset();  // before the io_context (uring_file_system.h)
  if (error) std::rethrow_exception(error);
}

TEST_CASE("a memory-mapped table serves a block from the mapping only after a verified read of it") {
  strata::testing::TempDir dir;
  asio::io_context io;
  auto fs = io::UringFileSystem::create(io.get_executor());
  REQUIRE(fs.has_value());
  const std::string path = dir.path() + "/000001.sst";
  std::vector<KV> entries;
  for (int i = 0; i < 1000; ++i)
    entries.emplace_back(make_internal_key(user_key(i), i + 1, ValueType::value), value_of(i));
  auto body = [&]() -> asio::awaitable<void> {
    auto props = co_await build_table(**fs, path, entries, TableOptions{});
    REQUIRE(props.has_value());
    cache::LruCache block_cache(1 << 20);
    ReadStats stats;
    auto r = co_await open_table(
        **fs, path, TableReadOptions{.block_cache = &block_cache, .cache_id = 1, .stats = &stats, .mmap_reads = true});
    REQUIRE(r.has_value());
    REQUIRE((*r)->mapped());

    // Corrupt one byte of the block that holds key 900, before anything reads it.
    GetTrace where;
    auto probe = co_await (*r)->get(lookup_key(900), &where);
    REQUIRE(probe.has_value());
    REQUIRE(where.blocks.size() == 1);
    const uint64_t bad_offset = where.blocks[0].offset;
    // That get verified and marked the block: open a second reader, which starts unverified.
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    char garbage = '\x5a';
    REQUIRE(::pwrite(fd, &garbage, 1, static_cast<off_t>(bad_offset + 10)) == 1);
    ::close(fd);
    ReadStats stats2;
    auto r2 = co_await open_table(**fs, path, TableReadOptions{.stats = &stats2, .mmap_reads = true});
    REQUIRE(r2.has_value());
    auto bad = co_await (*r2)->get(lookup_key(900));
    REQUIRE_FALSE(bad.has_value());  // the first read of a block verifies its checksum
    CHECK(bad.error() == make_error_code(Errc::corruption));
    auto still_bad = co_await (*r2)->get(lookup_key(900));
    CHECK_FALSE(still_bad.has_value());  // and a failed block is never served from the mapping
    CHECK(stats2.mapped_reads.load() == 0);

    // An intact block: read once (verified, not put in the block cache), then from the mapping.
    auto first = co_await (*r)->get(lookup_key(100));
    REQUIRE(first.has_value());
    REQUIRE(first->has_value());
    CHECK((*first)->value == value_of(100));
    uint64_t reads = stats.data_blocks_read.load();
    CHECK(stats.mapped_reads.load() == 0);
    CHECK(block_cache.entry_count() == 0);
    GetTrace t;
    auto second = co_await (*r)->get(lookup_key(101), &t);
    REQUIRE(second.has_value());
    REQUIRE(second->has_value());
    CHECK((*second)->value == value_of(101));
    CHECK(stats.data_blocks_read.load() == reads);
    CHECK(stats.mapped_reads.load() == 1);
    REQUIRE(t.blocks.size() == 1);
    CHECK(t.blocks[0].cache_hit);

    // A full scan twice: the second one is served from the mapping, with the same entries.
    for (int round = 0; round < 2; ++round) {
      auto it = (*r)->new_iterator();
      int n = 0;
      for (auto m = co_await it->seek_to_first(); m && it->valid(); m = co_await it->next()) {
        if (n < 1000 && n != 900) CHECK(it->value() == std::string_view(value_of(n)));
        ++n;
        if (n == 800) break;  // stop before the corrupted block
      }
      CHECK(n == 800);
    }
    CHECK(stats.mapped_reads.load() > 20);

    // prefetch_get reads nothing and changes nothing, whether the block is verified (key 101),
    // unverified in a fresh reader, corrupted (900), or the key is not in the table.
    ReadStats stats3;
    auto r3 = co_await open_table(**fs, path, TableReadOptions{.stats = &stats3, .mmap_reads = true});
    REQUIRE(r3.has_value());
    for (const auto* reader : {&*r, &*r3}) {
      const ReadStats& st = reader == &*r ? stats : stats3;
      const uint64_t blocks_before = st.data_blocks_read.load(), mapped_before = st.mapped_reads.load();
      for (int key : {101, 500, 900, 5000}) {
        (*reader)->prefetch_get(lookup_key(key), 0);
        (*reader)->prefetch_get(lookup_key(key), 1);
      }
      (*reader)->prefetch_get("", 1);  // too short to be an internal key: ignored
      CHECK(st.data_blocks_read.load() == blocks_before);
      CHECK(st.mapped_reads.load() == mapped_before);
    }
    auto after = co_await (*r)->get(lookup_key(101));
    REQUIRE(after.has_value());
    REQUIRE(after->has_value());
    CHECK((*after)->value == value_of(101));
  };
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) { error = e; });
  io.run();
  fs->reset();
  if (error) std::rethrow_exception(error);
}
