// FaultFileSystem over MemFileSystem: each behaviour on its own (power loss drops, garbles or
// tears unsynced bytes; forgets directory entries not made durable; fails the N-th operation once
// or for good; a failed sync never makes its bytes durable).
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "lib/io/fault_file_system.h"
#include "lib/io/mem_file_system.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::io;
using strata::testing::run;
namespace asio = boost::asio;

namespace {

asio::awaitable<std::unique_ptr<File>> must_open(FileSystem& fs, std::string path, OpenOptions o = {.create = true}) {
  auto f = co_await fs.open(std::move(path), o);
  REQUIRE(f.has_value());
  co_return std::move(*f);
}

asio::awaitable<void> must_write(File& f, uint64_t offset, std::string_view data) {
  auto w = co_await f.write_at(offset, data);
  REQUIRE(w.has_value());
}

asio::awaitable<void> must_sync(File& f) {
  auto s = co_await f.sync();
  REQUIRE(s.has_value());
}

asio::awaitable<void> must(asio::awaitable<Result<void>> op) {
  auto r = co_await std::move(op);
  REQUIRE(r.has_value());
}

// A file /d/f holding `synced` (synced, name durable) followed by `unsynced` (not synced).
asio::awaitable<void> make_file(FaultFileSystem& fs, std::string synced, std::string unsynced) {
  co_await must(fs.create_dir("/d"));
  auto f = co_await must_open(fs, "/d/f");
  co_await must_write(*f, 0, synced);
  co_await must_sync(*f);
  co_await must(fs.sync_dir("/d"));
  co_await must_write(*f, synced.size(), unsynced);
}

}  // namespace

TEST_CASE("crash in drop mode reverts a file to its last synced contents") {
  MemFileSystem mem;
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    co_await make_file(fs, "durable", "-lost");
    CHECK(mem.contents("/d/f").value() == "durable-lost");  // the page cache had it
    co_await must(fs.crash(CrashMode::drop));
    CHECK(mem.contents("/d/f").value() == "durable");
    CHECK(fs.stats().crashes == 1);
  }());
}

TEST_CASE("crash in garble mode keeps the size and replaces every unsynced byte") {
  MemFileSystem mem;
  FaultFileSystem fs(mem, 42);
  const std::string tail(256, 'x');
  run([&]() -> asio::awaitable<void> {
    co_await make_file(fs, "durable", tail);
    co_await must(fs.crash(CrashMode::garble));
    std::string after = mem.contents("/d/f").value();
    REQUIRE(after.size() == 7 + tail.size());
    CHECK(after.substr(0, 7) == "durable");
    // 256 random bytes: at most a handful can equal 'x' by chance.
    CHECK(std::count(after.begin() + 7, after.end(), 'x') < 16);
  }());
}

TEST_CASE("crash in tear mode keeps a prefix of the unsynced bytes, and the seed decides which") {
  const std::string tail(4000, 'y');
  std::set<size_t> sizes;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    MemFileSystem mem;
    FaultFileSystem fs(mem, seed);
    run([&]() -> asio::awaitable<void> {
      co_await make_file(fs, "durable", tail);
      co_await must(fs.crash(CrashMode::tear));
    }());
    std::string after = mem.contents("/d/f").value();
    REQUIRE(after.size() >= 7);
    REQUIRE(after.size() <= 7 + tail.size());
    CHECK(after == ("durable" + tail).substr(0, after.size()));
    sizes.insert(after.size());
  }
  CHECK(sizes.size() > 10);  // the tear point varies with the seed
}

TEST_CASE("crash forgets a synced file whose directory entry was never synced") {
  MemFileSystem mem;
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    co_await must(fs.create_dir("/d"));
    auto f = co_await must_open(fs, "/d/new");
    co_await must_write(*f, 0, "synced data");
    co_await must_sync(*f);
    auto g = co_await must_open(fs, "/d/kept");
    co_await must_write(*g, 0, "kept");
    co_await must_sync(*g);
    co_await must(fs.sync_dir("/d"));
    auto h = co_await must_open(fs, "/d/late");  // created after the sync_dir
    co_await must_sync(*h);
    co_await must(fs.crash(CrashMode::drop));
    CHECK((co_await fs.exists("/d/kept")).value());
    CHECK((co_await fs.exists("/d/new")).value());
    CHECK_FALSE((co_await fs.exists("/d/late")).value());
  }());
}

TEST_CASE("crash undoes a rename and a removal made since the last sync_dir") {
  MemFileSystem mem;
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    co_await must(fs.create_dir("/d"));
    co_await must(write_file_atomic(fs, "/d/CURRENT", "old"));  // durable: it syncs the directory
    co_await must(write_file_atomic(fs, "/d/gone", "restored"));
    {
      auto tmp = co_await must_open(fs, "/d/CURRENT.tmp", {.create = true, .truncate = true});
      co_await must_write(*tmp, 0, "new");
      co_await must_sync(*tmp);
    }
    co_await must(fs.rename("/d/CURRENT.tmp", "/d/CURRENT"));  // no sync_dir after it
    co_await must(fs.remove("/d/gone"));
    CHECK(mem.contents("/d/CURRENT").value() == "new");
    co_await must(fs.crash(CrashMode::drop));
    CHECK(mem.contents("/d/CURRENT").value() == "old");
    CHECK(mem.contents("/d/gone").value() == "restored");
    // The temp file never had a durable entry either.
    CHECK_FALSE((co_await fs.exists("/d/CURRENT.tmp")).value());
  }());
}

TEST_CASE("a rename followed by sync_dir survives the crash") {
  MemFileSystem mem;
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    co_await must(fs.create_dir("/d"));
    co_await must(write_file_atomic(fs, "/d/CURRENT", "old"));
    co_await must(write_file_atomic(fs, "/d/CURRENT", "new"));
    co_await must(fs.crash(CrashMode::garble));
    CHECK(mem.contents("/d/CURRENT").value() == "new");
  }());
}

TEST_CASE("files that existed in the base before the wrapper are adopted as durable") {
  MemFileSystem mem;
  run([&]() -> asio::awaitable<void> {
    co_await must(mem.create_dir("/d"));
    auto f = co_await must_open(mem, "/d/old");
    co_await must_write(*f, 0, "before");
  }());
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    auto f = co_await must_open(fs, "/d/old", {});
    co_await must_write(*f, 6, " and after");
    co_await must(fs.crash(CrashMode::drop));
    CHECK(mem.contents("/d/old").value() == "before");
  }());
}

TEST_CASE("a one-shot fault fails only the N-th matching operation and changes nothing") {
  MemFileSystem mem;
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    co_await must(fs.create_dir("/d"));
    auto f = co_await must_open(fs, "/d/f");
    uint64_t before = fs.stats().ops_counted;  // without a plan every operation is counted
    CHECK(before == 2);                        // create_dir and open(create)
    fs.set_fail_plan({.nth = 3, .err = ENOSPC, .sticky = false, .ops = kFaultWrite});
    co_await must_write(*f, 0, "1");
    co_await must_write(*f, 1, "2");
    auto third = co_await f->write_at(2, "3");
    REQUIRE_FALSE(third.has_value());
    CHECK(third.error() == make_error_code(Errc::no_space));
    CHECK(mem.contents("/d/f").value() == "12");  // the failed write did not happen
    co_await must_write(*f, 2, "4");
    co_await must_sync(*f);  // syncs are not in the plan's mask
    CHECK(fs.stats().faults_injected == 1);
    CHECK(fs.stats().ops_counted == before + 4);  // the writes; the sync does not match
  }());
}

TEST_CASE("a sticky fault fails the N-th matching operation and every later one") {
  MemFileSystem mem;
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    co_await must(fs.create_dir("/d"));
    fs.set_fail_plan({.nth = 2, .err = EIO, .sticky = true, .ops = kFaultMutating, .path_contains = "/d/w"});
    auto other = co_await must_open(fs, "/d/other");  // not on a matching path: never fails
    auto f = co_await must_open(fs, "/d/wal");        // match #1
    co_await must_write(*other, 0, "x");
    for (int i = 0; i < 5; ++i) {
      auto w = co_await f->write_at(0, "data");  // matches #2.. all fail
      REQUIRE_FALSE(w.has_value());
      CHECK(w.error() == make_error_code(Errc::io_error));
    }
    auto r = co_await fs.rename("/d/wal", "/d/wal2");
    CHECK(r.error() == make_error_code(Errc::io_error));
    co_await must_sync(*other);
    CHECK(fs.stats().faults_injected == 6);
    fs.clear_fail_plan();
    co_await must_write(*f, 0, "data");
  }());
}

TEST_CASE("bytes dirty when a sync failed never become durable, and a retried sync is counted") {
  MemFileSystem mem;
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    co_await make_file(fs, "durable", "-dropped");
    auto f = co_await must_open(fs, "/d/f", {});
    fs.set_fail_plan({.nth = 1, .err = EIO, .sticky = false, .ops = kFaultSync});
    auto failed = co_await f->sync();
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error() == make_error_code(Errc::io_error));
    CHECK(fs.stats().syncs_after_failed_sync == 0);
    co_await must_write(*f, 15, "+new");
    co_await must_sync(*f);  // "succeeds", as on Linux after the kernel dropped the pages
    CHECK(fs.stats().syncs_after_failed_sync == 1);
    co_await must(fs.crash(CrashMode::drop));
    // The bytes lost by the failed sync read as zeros; the ones written afterwards are durable.
    CHECK(mem.contents("/d/f").value() == std::string("durable") + std::string(8, '\0') + "+new");
  }());
}

TEST_CASE("a file opened before the crash fails with io_error afterwards") {
  MemFileSystem mem;
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    co_await make_file(fs, "durable", "");
    auto f = co_await must_open(fs, "/d/f", {});
    co_await must(fs.crash(CrashMode::drop));
    auto w = co_await f->write_at(0, "zombie");
    CHECK(w.error() == make_error_code(Errc::io_error));
    char buf[4];
    auto r = co_await f->read_at(0, std::span<char>(buf, 4));
    CHECK(r.error() == make_error_code(Errc::io_error));
    auto g = co_await must_open(fs, "/d/f", {});
    co_await must_write(*g, 0, "D");
    CHECK(mem.contents("/d/f").value() == "Durable");
  }());
}

TEST_CASE("truncate and preallocate are unsynced until the next sync") {
  MemFileSystem mem;
  FaultFileSystem fs(mem);
  run([&]() -> asio::awaitable<void> {
    co_await make_file(fs, "0123456789", "");
    auto f = co_await must_open(fs, "/d/f", {});
    co_await must(f->truncate(4));
    co_await must(fs.crash(CrashMode::drop));
    CHECK(mem.contents("/d/f").value() == "0123456789");
    auto g = co_await must_open(fs, "/d/f", {});
    co_await must(g->truncate(4));
    co_await must(g->preallocate(8));
    co_await must_sync(*g);
    co_await must_write(*g, 4, "abcd");  // into the preallocated region, not synced
    co_await must(fs.crash(CrashMode::drop));
    CHECK(mem.contents("/d/f").value() == std::string("0123") + std::string(4, '\0'));
  }());
}
