// RaftStorage: durability of the Raft log, hard state and snapshot metadata across reopen,
// torn tails at every byte offset, compaction by segment rewrite, and corruption detection.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <boost/asio/this_coro.hpp>

#include <cstdio>

#include "lib/io/default_file_system.h"
#include "lib/io/mem_file_system.h"
#include "lib/replication/raft_storage.h"
#include "lib/util/logging.h"
#include "tests/test_util.h"

namespace strata::replication {
namespace {

namespace asio = boost::asio;
using raft::Entry;
using raft::HardState;
using strata::testing::run;

std::vector<Entry> make_entries(uint64_t lo, uint64_t hi, uint64_t term) {
  std::vector<Entry> out;
  for (uint64_t i = lo; i <= hi; ++i) out.push_back(Entry{term, i, raft::EntryType::normal, "v" + std::to_string(i)});
  return out;
}

// Tests run without preallocation unless they pass a step (MemFileSystem holds files in memory).
std::unique_ptr<RaftStorage> open_storage(io::MemFileSystem& fs, uint64_t preallocate = 0) {
  auto s = run([&]() -> asio::awaitable<Result<std::unique_ptr<RaftStorage>>> {
    co_return co_await RaftStorage::open(fs, "/raft", RaftStorageOptions{preallocate});
  }());
  REQUIRE(s.has_value());
  return std::move(*s);
}

Result<std::unique_ptr<RaftStorage>> try_open(io::MemFileSystem& fs, uint64_t preallocate = 0) {
  return run([&]() -> asio::awaitable<Result<std::unique_ptr<RaftStorage>>> {
    co_return co_await RaftStorage::open(fs, "/raft", RaftStorageOptions{preallocate});
  }());
}

std::string contents(io::MemFileSystem& fs, const std::string& path) {
  auto c = fs.contents(path);
  REQUIRE(c.has_value());
  return std::move(*c);
}

// Creates (or replaces) a file with the given bytes.
void write_file(io::MemFileSystem& fs, const std::string& path, std::string data) {
  run([&]() -> asio::awaitable<void> {
    (void)co_await fs.create_dir(io::parent_dir(path));
    auto f = co_await fs.open(path, io::OpenOptions{.create = true, .truncate = true});
    REQUIRE(f.has_value());
  }());
  REQUIRE(fs.set_contents(path, std::move(data)).has_value());
}

void persist(RaftStorage& s, std::optional<HardState> hs, std::vector<Entry> ents,
             std::optional<raft::SnapshotMetadata> md = std::nullopt) {
  auto r = run([&]() -> asio::awaitable<Result<void>> { co_return co_await s.persist(hs, ents, md); }());
  REQUIRE(r.has_value());
}

class QuietLogs {
 public:
  QuietLogs() : saved_(log_level()) { set_log_level(LogLevel::error); }
  ~QuietLogs() { set_log_level(saved_); }

 private:
  LogLevel saved_;
};

TEST_CASE("entries and hard state survive a reopen") {
  io::MemFileSystem fs;
  {
    auto s = open_storage(fs);
    CHECK(s->last_index() == 0);
    persist(*s, HardState{2, 1, 0}, make_entries(1, 10, 2));
    persist(*s, HardState{2, 1, 7}, {});
  }
  auto s = open_storage(fs);
  CHECK(s->first_index() == 1);
  CHECK(s->last_index() == 10);
  CHECK(s->hard_state() == HardState{2, 1, 7});
  auto ents = s->entries(1, 11, raft::kNoLimit);
  REQUIRE(ents.has_value());
  CHECK(*ents == make_entries(1, 10, 2));
  auto init = s->initial_state();
  REQUIRE(init.has_value());
  CHECK(init->hard_state == HardState{2, 1, 7});
}

TEST_CASE("a conflicting append replaces the suffix after a reopen") {
  io::MemFileSystem fs;
  {
    auto s = open_storage(fs);
    persist(*s, HardState{1, 1, 2}, make_entries(1, 5, 1));
    persist(*s, HardState{2, 2, 2}, make_entries(3, 4, 2));
    CHECK(s->last_index() == 4);
  }
  auto s = open_storage(fs);
  CHECK(s->last_index() == 4);
  CHECK(*s->term(2) == 1);
  CHECK(*s->term(3) == 2);
  CHECK(*s->term(4) == 2);
}

TEST_CASE("compaction rewrites one segment holding the snapshot and the later entries") {
  io::MemFileSystem fs;
  {
    auto s = open_storage(fs);
    persist(*s, HardState{3, 1, 100}, make_entries(1, 100, 3));
    auto r = run([&]() -> asio::awaitable<Result<void>> {
      co_return co_await s->compact(60, raft::ConfState{{1, 2, 3}, {}});
    }());
    REQUIRE(r.has_value());
    CHECK(s->first_index() == 61);
    persist(*s, std::nullopt, make_entries(101, 105, 3));
  }
  auto names =
      run([&]() -> asio::awaitable<Result<std::vector<std::string>>> { co_return co_await fs.list_dir("/raft"); }());
  REQUIRE(names.has_value());
  CHECK(names->size() == 1);
  auto s = open_storage(fs);
  CHECK(s->first_index() == 61);
  CHECK(s->last_index() == 105);
  CHECK(*s->term(60) == 3);
  CHECK_FALSE(s->term(59).has_value());
  auto snap = s->snapshot();
  REQUIRE(snap.has_value());
  CHECK(snap->metadata.index == 60);
  CHECK(snap->metadata.conf_state.voters == std::vector<uint64_t>{1, 2, 3});
  CHECK(s->hard_state() == HardState{3, 1, 100});
}

TEST_CASE("an installed snapshot resets the log across a reopen") {
  io::MemFileSystem fs;
  {
    auto s = open_storage(fs);
    persist(*s, HardState{1, 1, 3}, make_entries(1, 5, 1));
    raft::SnapshotMetadata md{50, 4, raft::ConfState{{1, 2}, {3}}};
    persist(*s, HardState{4, 0, 50}, {}, md);
    persist(*s, std::nullopt, make_entries(51, 52, 4));
  }
  auto s = open_storage(fs);
  CHECK(s->first_index() == 51);
  CHECK(s->last_index() == 52);
  CHECK(s->initial_state()->conf_state.learners == std::vector<uint64_t>{3});
}

// A crash image of a segment: the bytes up to `cut`, maybe some garbage, and (preallocated) the
// zeros up to the file's preallocated size.
TEST_CASE("a torn tail at every byte offset recovers a prefix of what was persisted") {
  QuietLogs quiet;
  // 0: the file grows with each append; 4096: preallocated in 4 KiB steps, so the second persist
  // (20 x 200-byte entries) also crosses a preallocation step.
  for (uint64_t prealloc : {uint64_t{0}, uint64_t{4096}}) {
    CAPTURE(prealloc);
    io::MemFileSystem fs;
    {
      auto s = open_storage(fs, prealloc);
      persist(*s, HardState{1, 1, 0}, make_entries(1, 20, 1));
    }
    size_t synced = 0;
    size_t end = 0;
    {
      auto s = open_storage(fs, prealloc);
      synced = s->end_offset();
      std::vector<Entry> big = make_entries(21, 40, 1);
      for (auto& e : big) e.data.assign(200, 'x');
      persist(*s, HardState{1, 1, 20}, big);
      end = s->end_offset();
    }
    std::string full = contents(fs, "/raft/000001.log");
    REQUIRE(end > synced);
    if (prealloc > 0) {
      REQUIRE(full.size() >= end + prealloc);  // preallocated past the records
      CHECK(full.find_first_not_of('\0', end) == std::string::npos);
    } else {
      REQUIRE(full.size() == end);
    }
    int cuts = 0, synced_lost = 0, bad = 0, reopen_bad = 0;
    for (size_t cut = synced; cut < end; ++cut) {
      io::MemFileSystem fs2;
      std::string torn = full.substr(0, cut);
      if (cut % 3 == 0) torn += std::string(7, '\x5a');                               // garbage after the cut
      if (prealloc > 0 && torn.size() < full.size()) torn.resize(full.size(), '\0');  // the zero tail
      write_file(fs2, "/raft/000001.log", torn);
      auto s = try_open(fs2, prealloc);
      ++cuts;
      if (!s.has_value()) {
        ++bad;
        continue;
      }
      uint64_t last = (*s)->last_index();
      if (last < 20) ++synced_lost;
      // What was recovered is exactly a prefix: whole entries with their data.
      auto ents = (*s)->entries(1, last + 1, raft::kNoLimit);
      REQUIRE(ents.has_value());
      for (const Entry& e : *ents) {
        if (e.index <= 20)
          CHECK(e.data == "v" + std::to_string(e.index));
        else
          CHECK(e.data == std::string(200, 'x'));
      }
      // And the storage accepts appends again after the truncation, and they survive a reopen
      // (no garbage of the torn tail is left behind a shorter append).
      persist(**s, std::nullopt, make_entries(last + 1, last + 1, 1));
      if (prealloc > 0) CHECK(contents(fs2, "/raft/000001.log").size() > (*s)->end_offset());
      s->reset();
      auto again = try_open(fs2, prealloc);
      if (!again.has_value() || (*again)->last_index() != last + 1) ++reopen_bad;
    }
    std::printf("# prealloc=%llu cuts=%d open_failures=%d synced_records_lost=%d reopen_failures=%d\n",
                static_cast<unsigned long long>(prealloc), cuts, bad, synced_lost, reopen_bad);
    CHECK(cuts > 100);
    CHECK(bad == 0);
    CHECK(synced_lost == 0);
    CHECK(reopen_bad == 0);
  }
}

TEST_CASE("a preallocated segment: the last index comes from the records, not the file size") {
  io::MemFileSystem fs;
  constexpr uint64_t kStep = 4096;
  uint64_t end = 0;
  {
    auto s = open_storage(fs, kStep);
    // Grows across several preallocation steps, one persist at a time.
    for (uint64_t i = 1; i <= 1000; ++i) persist(*s, HardState{1, 1, i - 1}, make_entries(i, i, 1));
    end = s->end_offset();
    std::string f = contents(fs, "/raft/000001.log");
    CHECK(end > 3 * kStep);
    CHECK(f.size() > end);
    CHECK(f.size() <= end + kStep + 4096);  // a step ahead, not a step per append
    CHECK(f.find_first_not_of('\0', end) == std::string::npos);
  }
  {
    auto s = open_storage(fs, kStep);
    CHECK(s->last_index() == 1000);
    CHECK(s->end_offset() == end);
    CHECK(s->hard_state() == HardState{1, 1, 999});
    persist(*s, HardState{1, 1, 1000}, make_entries(1001, 1001, 1));
  }
  // Opened without preallocation, the zero tail still reads as the end of the log.
  auto s = open_storage(fs, 0);
  CHECK(s->last_index() == 1001);
  CHECK(s->hard_state() == HardState{1, 1, 1000});
}

// The bytes of [from, to) of `path` that lie in extents the file system marks unwritten
// (fallocate'd, never written), via FIEMAP; nullopt where FIEMAP is not supported (tmpfs).
std::optional<uint64_t> unwritten_bytes(const std::string& path, uint64_t from, uint64_t to) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  constexpr unsigned kMaxExtents = 64;
  std::vector<char> buf(sizeof(fiemap) + kMaxExtents * sizeof(fiemap_extent));
  auto* fm = reinterpret_cast<fiemap*>(buf.data());
  fm->fm_start = from;
  fm->fm_length = to - from;
  fm->fm_flags = FIEMAP_FLAG_SYNC;  // delayed allocations become real extents first
  fm->fm_extent_count = kMaxExtents;
  int rc = ::ioctl(fd, FS_IOC_FIEMAP, fm);
  ::close(fd);
  if (rc != 0) return std::nullopt;
  uint64_t unwritten = 0;
  for (unsigned i = 0; i < fm->fm_mapped_extents; ++i) {
    const fiemap_extent& e = fm->fm_extents[i];
    if ((e.fe_flags & FIEMAP_EXTENT_UNWRITTEN) == 0) continue;
    uint64_t lo = std::max<uint64_t>(e.fe_logical, from), hi = std::min<uint64_t>(e.fe_logical + e.fe_length, to);
    if (lo < hi) unwritten += hi - lo;
  }
  return unwritten;
}

TEST_CASE("on the host's file system the space just ahead of the appends is written zeros, not unwritten extents") {
  // An append into an unwritten (fallocate'd) extent converts it, an inode update that its
  // fdatasync writes as well; RaftStorage writes zeros ahead of the appends (raft_storage.h).
  strata::testing::TempDir dir;
  const std::string path = dir.path() + "/raft/000001.log";
  constexpr uint64_t kPrealloc = 4 << 20;
  run([&]() -> asio::awaitable<void> {
    auto fs = io::make_default_file_system(co_await asio::this_coro::executor);
    auto opened = co_await RaftStorage::open(*fs, dir.path() + "/raft", RaftStorageOptions{kPrealloc});
    REQUIRE(opened.has_value());
    auto s = std::move(*opened);
    for (uint64_t i = 1; i <= 3000; ++i) {
      std::vector<Entry> one{Entry{1, i, raft::EntryType::normal, std::string(400, 'x')}};
      auto r = co_await s->persist(HardState{1, 1, i - 1}, one, std::nullopt);
      REQUIRE(r.has_value());
    }
    uint64_t end = s->end_offset();
    CHECK(end > (512u << 10));  // past the first zero-fill step
    auto unwritten = unwritten_bytes(path, end, end + (256u << 10));
    if (!unwritten) {
      MESSAGE("FIEMAP is not supported on " << dir.path() << ": not checked");
    } else {
      CHECK(*unwritten == 0);
      // Farther out the space is only fallocate'd (where the file system does that): the zeros
      // go a step at a time, not the whole preallocation at once.
      auto far = unwritten_bytes(path, end + (2u << 20), end + (3u << 20));
      REQUIRE(far.has_value());
      MESSAGE("unwritten bytes 2-3 MiB past the end: " << *far);
    }
    s.reset();
    // The zeros read as the end of the log.
    auto reopened = co_await RaftStorage::open(*fs, dir.path() + "/raft", RaftStorageOptions{kPrealloc});
    REQUIRE(reopened.has_value());
    CHECK((*reopened)->last_index() == 3000);
  }());
}

TEST_CASE("compaction into a preallocated segment, then appends and a reopen") {
  io::MemFileSystem fs;
  constexpr uint64_t kStep = 4096;
  {
    auto s = open_storage(fs, kStep);
    persist(*s, HardState{3, 1, 100}, make_entries(1, 100, 3));
    auto r = run([&]() -> asio::awaitable<Result<void>> {
      co_return co_await s->compact(60, raft::ConfState{{1, 2, 3}, {}});
    }());
    REQUIRE(r.has_value());
    CHECK(s->segment_number() == 2);
    std::string f = contents(fs, "/raft/000002.log");
    CHECK(f.size() >= s->end_offset() + kStep);
    for (uint64_t i = 101; i <= 200; ++i) persist(*s, HardState{3, 1, i - 1}, make_entries(i, i, 3));
    CHECK(contents(fs, "/raft/000002.log").size() > s->end_offset());
  }
  auto names =
      run([&]() -> asio::awaitable<Result<std::vector<std::string>>> { co_return co_await fs.list_dir("/raft"); }());
  REQUIRE(names.has_value());
  CHECK(*names == std::vector<std::string>{"000002.log"});
  auto s = open_storage(fs, kStep);
  CHECK(s->first_index() == 61);
  CHECK(s->last_index() == 200);
  CHECK(s->hard_state() == HardState{3, 1, 199});
  auto ents = s->entries(61, 201, raft::kNoLimit);
  REQUIRE(ents.has_value());
  CHECK(ents->size() == 140);
}

TEST_CASE("a corrupted record followed by valid records is reported as corruption") {
  QuietLogs quiet;
  io::MemFileSystem fs;
  {
    auto s = open_storage(fs);
    for (uint64_t i = 1; i <= 10; ++i) persist(*s, HardState{1, 1, i - 1}, make_entries(i, i, 1));
  }
  auto full = fs.contents("/raft/000001.log");
  REQUIRE(full.has_value());
  std::string bad = *full;
  bad[bad.size() / 2] ^= 0x40;
  REQUIRE(fs.set_contents("/raft/000001.log", bad).has_value());
  auto s = try_open(fs);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error() == make_error_code(Errc::corruption));
}

TEST_CASE("an unfinished compaction leaves the old segment in charge") {
  io::MemFileSystem fs;
  {
    auto s = open_storage(fs);
    persist(*s, HardState{1, 1, 5}, make_entries(1, 5, 1));
  }
  // A crash after writing part of the next segment's temp file (preallocated: a zero tail).
  write_file(fs, "/raft/000002.log.tmp", "partial" + std::string(8192, '\0'));
  auto s = open_storage(fs);
  CHECK(s->last_index() == 5);
  CHECK(s->segment_number() == 1);
  CHECK_FALSE(
      run([&]() -> asio::awaitable<Result<bool>> { co_return co_await fs.exists("/raft/000002.log.tmp"); }()).value());
}

}  // namespace
}  // namespace strata::replication
