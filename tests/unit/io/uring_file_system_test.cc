// UringFileSystem beyond the conformance suite: many concurrent operations from several threads,
// completions resuming on the awaiting coroutine's own executor, linked write+fsync failures, and
// shutdown.
#include <doctest/doctest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "lib/io/uring_file_system.h"
#include "lib/util/random.h"
#include "tests/unit/io/io_test_util.h"

namespace strata::io::test {
namespace {

using Strand = asio::strand<asio::io_context::executor_type>;

// The byte stored at `offset` of the pattern file.
char pattern_byte(uint64_t offset) { return static_cast<char>((offset * 2654435761u) >> 11); }

std::string pattern(size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = pattern_byte(i);
  return data;
}

struct ReadStats {
  std::atomic<int> reads{0};
  std::atomic<int> wrong_bytes{0};
  std::atomic<int> errors{0};
  std::atomic<int> off_strand{0};
};

// Reads `count` random ranges (some crossing the end of file) and checks every byte. After each
// co_await the coroutine must be back on its strand.
asio::awaitable<void> random_reader(File& file, uint64_t file_size, Strand strand, uint64_t seed, int count,
                                    ReadStats& stats) {
  Random rnd(seed);
  std::string buf;
  for (int i = 0; i < count; ++i) {
    uint64_t offset = rnd.uniform(file_size + 100);
    size_t len = 1 + rnd.uniform(16 * 1024);
    buf.assign(len, '?');
    auto n = co_await file.read_at(offset, std::span<char>(buf.data(), buf.size()));
    if (!strand.running_in_this_thread()) stats.off_strand++;
    if (!n) {
      stats.errors++;
      continue;
    }
    uint64_t expected = offset >= file_size ? 0 : std::min<uint64_t>(len, file_size - offset);
    if (*n != expected) stats.wrong_bytes++;
    for (size_t j = 0; j < *n; ++j) {
      if (buf[j] != pattern_byte(offset + j)) {
        stats.wrong_bytes++;
        break;
      }
    }
    stats.reads++;
  }
}

asio::awaitable<void> open_read_only(FileSystem& fs, std::string path, std::unique_ptr<File>& out) {
  auto f = co_await fs.open(path, OpenOptions{.read_only = true});
  REQUIRE(f.has_value());
  out = std::move(*f);
}

asio::awaitable<void> write_pattern(FileSystem& fs, std::string path, std::string data) {
  auto f = co_await fs.open(path, OpenOptions{.create = true});
  REQUIRE(f.has_value());
  auto w = co_await (*f)->write_and_sync(0, data);
  REQUIRE(w.has_value());
}

}  // namespace

TEST_CASE("uring: 64 concurrent random reads on a 2-thread io_context return the right bytes on their strands") {
  TempDir dir;
  asio::io_context io(2);
  auto fs = UringImpl::make(io.get_executor());
  const std::string path = join_path(dir.path(), "000001.sst");
  const size_t file_size = 4 << 20;
  run_on_io(io, write_pattern(*fs, path, pattern(file_size)));
  io.restart();

  std::unique_ptr<File> file;
  run_on_io(io, open_read_only(*fs, path, file));
  io.restart();

  const uint64_t seed = Random::os_seed();
  MESSAGE("seed=" << seed);
  constexpr int kCoroutines = 64;
  constexpr int kReadsEach = 50;
  ReadStats stats;
  std::atomic<int> finished{0};
  for (int c = 0; c < kCoroutines; ++c) {
    Strand strand = asio::make_strand(io);
    asio::co_spawn(strand, random_reader(*file, file_size, strand, seed + c, kReadsEach, stats),
                   [&finished](std::exception_ptr e) {
                     REQUIRE(!e);
                     finished++;
                   });
  }
  std::thread second([&io] { io.run(); });
  io.run();
  second.join();

  CHECK(finished.load() == kCoroutines);
  CHECK(stats.reads.load() == kCoroutines * kReadsEach);
  CHECK(stats.errors.load() == 0);
  CHECK(stats.wrong_bytes.load() == 0);
  CHECK(stats.off_strand.load() == 0);
  MESSAGE("reads=" << stats.reads.load() << " wrong_bytes=" << stats.wrong_bytes.load()
                   << " off_strand=" << stats.off_strand.load());
  file.reset();
  fs.reset();
}

TEST_CASE("uring: completions resume on the caller's io_context, not on the ring's") {
  TempDir dir;
  asio::io_context ring_io;
  auto guard = asio::make_work_guard(ring_io);
  std::thread ring_thread([&ring_io] { ring_io.run(); });
  auto fs = UringImpl::make(ring_io.get_executor());

  asio::io_context caller_io;
  std::atomic<int> foreign_resumes{0};
  auto body = [](FileSystem& fs, std::string root, std::atomic<int>& foreign) -> asio::awaitable<void> {
    const auto me = std::this_thread::get_id();
    auto f = co_await fs.open(join_path(root, "x"), OpenOptions{.create = true});
    if (std::this_thread::get_id() != me) foreign++;
    REQUIRE(f.has_value());
    for (int i = 0; i < 20; ++i) {
      auto w = co_await (*f)->write_and_sync(i * 4, "abcd");
      if (std::this_thread::get_id() != me) foreign++;
      REQUIRE(w.has_value());
      char buf[4];
      auto r = co_await (*f)->read_at(i * 4, std::span<char>(buf, 4));
      if (std::this_thread::get_id() != me) foreign++;
      REQUIRE(r.has_value());
      CHECK(std::string_view(buf, 4) == "abcd");
    }
    auto s = co_await fs.sync_dir(root);
    if (std::this_thread::get_id() != me) foreign++;
    CHECK(s.has_value());
  };
  run_on_io(caller_io, body(*fs, dir.path(), foreign_resumes));
  CHECK(foreign_resumes.load() == 0);

  fs.reset();
  guard.reset();
  ring_thread.join();
}

// EINVAL or EFBIG from the kernel: the offset plus the length overflows a file offset.
asio::awaitable<void> failed_linked_write(FileSystem& fs, std::string root) {
  auto f = co_await fs.open(join_path(root, "000007.log"), OpenOptions{.create = true});
  REQUIRE(f.has_value());
  const uint64_t bad_offset = std::numeric_limits<int64_t>::max() - 2;
  auto w = co_await (*f)->write_and_sync(bad_offset, "12345");
  CHECK(!w.has_value());
  // The ring keeps working after the cancelled fsync.
  auto ok_write = co_await (*f)->write_and_sync(0, "fine");
  CHECK(ok_write.has_value());
  auto text = co_await read_file(fs, join_path(root, "000007.log"));
  REQUIRE(text.has_value());
  CHECK(*text == "fine");
}

TEST_CASE_TEMPLATE("a failing write_and_sync returns the error and later operations still work", Impl, PosixImpl,
                   UringImpl) {
  run_scenario<Impl>(failed_linked_write);
}

TEST_CASE("uring: a ring that cannot be created is an error value, not an abort") {
  asio::io_context io;
  auto fs = UringFileSystem::create(io.get_executor(), UringFileSystem::Options{.queue_depth = 0});  // EINVAL
  CHECK(!fs.has_value());
}

TEST_CASE("uring: after shutdown operations fail with shutting_down") {
  TempDir dir;
  asio::io_context io;
  auto made = UringFileSystem::create(io.get_executor());
  REQUIRE(made.has_value());
  std::unique_ptr<UringFileSystem> fs = std::move(*made);

  std::unique_ptr<File> file;
  auto before = [](FileSystem& fs, std::string root, std::unique_ptr<File>& out) -> asio::awaitable<void> {
    auto f = co_await fs.open(join_path(root, "x"), OpenOptions{.create = true});
    REQUIRE(f.has_value());
    out = std::move(*f);
  };
  run_on_io(io, before(*fs, dir.path(), file));
  io.restart();

  fs->shutdown();
  fs->shutdown();  // idempotent
  auto after = [](FileSystem& fs, File& file, std::string root) -> asio::awaitable<void> {
    auto f = co_await fs.open(join_path(root, "y"), OpenOptions{.create = true});
    REQUIRE(!f.has_value());
    CHECK(f.error() == make_error_code(Errc::shutting_down));
    auto w = co_await file.write_at(0, "x");
    REQUIRE(!w.has_value());
    CHECK(w.error() == make_error_code(Errc::shutting_down));
  };
  run_on_io(io, after(*fs, *file, dir.path()));
  file.reset();
  fs.reset();
}

TEST_CASE("uring: shutdown while reads are in flight completes them") {
  TempDir dir;
  asio::io_context io;
  auto made = UringFileSystem::create(io.get_executor());
  REQUIRE(made.has_value());
  std::unique_ptr<UringFileSystem> fs = std::move(*made);
  const std::string path = join_path(dir.path(), "data");
  run_on_io(io, write_pattern(*fs, path, pattern(1 << 20)));
  io.restart();

  std::unique_ptr<File> file;
  run_on_io(io, open_read_only(*fs, path, file));
  io.restart();

  // Start reads, run the io_context just long enough to submit them, then shut down from this
  // thread: every read must finish, with data or with shutting_down.
  ReadStats stats;
  std::atomic<int> finished{0};
  for (int c = 0; c < 16; ++c) {
    Strand strand = asio::make_strand(io);
    asio::co_spawn(strand, random_reader(*file, 1 << 20, strand, 1000 + c, 20, stats),
                   [&finished](std::exception_ptr e) { finished++; });
  }
  for (int i = 0; i < 50; ++i) io.poll_one();
  fs->shutdown();
  io.run();  // returns only when every coroutine is done: nothing is left waiting on the ring
  CHECK(finished.load() == 16);
  CHECK(stats.wrong_bytes.load() == 0);
  CHECK(stats.reads.load() + stats.errors.load() == 16 * 20);
  file.reset();
  fs.reset();
}

TEST_CASE("uring: reads queued for a batched submission complete even when shutdown comes first") {
  // Reads wait in the SQ for a flush posted to the ring executor. Shut down after each number of
  // handler runs (so at some point with reads queued and their flush not yet run): shutdown must
  // submit them itself, or it would wait for them forever.
  TempDir dir;
  for (int turns = 0; turns < 12; ++turns) {
    CAPTURE(turns);
    asio::io_context io;
    auto made = UringFileSystem::create(io.get_executor());
    REQUIRE(made.has_value());
    std::unique_ptr<UringFileSystem> fs = std::move(*made);
    const std::string path = join_path(dir.path(), "data");
    if (turns == 0) run_on_io(io, write_pattern(*fs, path, pattern(1 << 20)));
    io.restart();
    std::unique_ptr<File> file;
    run_on_io(io, open_read_only(*fs, path, file));
    io.restart();
    ReadStats stats;
    std::atomic<int> finished{0};
    for (int c = 0; c < 4; ++c) {
      Strand strand = asio::make_strand(io);
      asio::co_spawn(strand, random_reader(*file, 1 << 20, strand, 7000 + c, 3, stats),
                     [&finished](std::exception_ptr) { finished++; });
    }
    for (int i = 0; i < turns; ++i) io.poll_one();
    fs->shutdown();
    io.run();
    CHECK(finished.load() == 4);
    CHECK(stats.wrong_bytes.load() == 0);
    CHECK(stats.reads.load() + stats.errors.load() == 4 * 3);
    file.reset();
    fs.reset();
  }
}

}  // namespace strata::io::test
