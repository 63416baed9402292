// Compaction through the DB: a multi-level tree that stays correct, tombstones and snapshots
// across compaction, manifest recovery, and write stalls that release.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "lib/util/oneshot.h"
#include "lib/util/random.h"
#include "lib/util/thread_priority.h"
#include "lib/version/file_names.h"
#include "tests/test_util.h"
#include "tests/unit/db/db_test_util.h"

using namespace strata;
using strata::testing::open_db;
using strata::testing::run;
using strata::testing::sleep_ms;
namespace asio = boost::asio;

namespace {

Options small_tree(io::FileSystem& fs) { return strata::testing::small_tree_options(fs); }

// A small tree whose L0 may hold several files without a size compaction: for seek compactions.
Options seek_tree(io::FileSystem& fs, size_t memtable_bytes) {
  Options o = small_tree(fs);
  o.l0_compaction_trigger = 8;
  o.l0_slowdown_writes_trigger = 20;
  o.l0_stop_writes_trigger = 24;
  o.memtable_size_bytes = memtable_bytes;
  return o;
}

asio::awaitable<std::optional<std::string>> get(DB& db, std::string key, ReadOptions ro = {}) {
  co_return co_await strata::testing::get_value(db, std::move(key), ro);
}

// Waits until no compaction runs or is due. A flush that triggers a compaction counts it as
// running before flush() returns, so this never misses one that is about to start.
asio::awaitable<void> settle(DB& db) {
  for (int i = 0; i < 1000; ++i) {
    auto s = db.stats();
    bool due = false;
    for (const auto& l : s.levels) due = due || l.compaction_score >= 1.0;
    if (s.running_compactions == 0 && !due) co_return;
    co_await sleep_ms(10);
  }
  FAIL("compactions did not settle within 10 s");
}

// Threads of this process whose nice value is `nice` (/proc/self/task/*/stat, field 19).
int threads_at_nice(int nice) {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command (which may hold spaces) start after its closing parenthesis.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19 && std::stoi(field) == nice) ++n;
    }
  }
  return n;
}

std::string key_of(uint64_t i) {
  char buf[32];
  snprintf(buf, sizeof buf, "key%08llu", static_cast<unsigned long long>(i));
  return buf;
}

// Three flushed L0 files that interleave: key_of(i) with value "v<i>" for i < n, file i % 3.
asio::awaitable<void> three_l0_files(DB& db, int n) {
  for (int round = 0; round < 3; ++round) {
    for (int i = round; i < n; i += 3) REQUIRE(co_await db.put(key_of(i), "v" + std::to_string(i)));
    REQUIRE(co_await db.flush());
  }
}

}  // namespace

TEST_CASE("a multi-level tree stays correct through compactions and a reopen") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(small_tree(fs));
    std::map<std::string, std::string> model;
    Random rnd(301);
    for (int i = 0; i < 20000; ++i) {
      std::string k = key_of(rnd.uniform(4000));
      if (rnd.one_in(8)) {
        REQUIRE((co_await db->del(k)).has_value());
        model.erase(k);
      } else {
        std::string v = k + "-" + std::to_string(i) + std::string(rnd.uniform(60), 'v');
        REQUIRE((co_await db->put(k, v)).has_value());
        model[k] = v;
      }
    }
    co_await settle(*db);
    auto s = db->stats();
    CHECK(s.compactions > 0);
    int deep = 0;
    for (const auto& l : s.levels) {
      if (l.level >= 2 && l.file_count > 0) ++deep;
    }
    CHECK(deep > 0);
    CHECK(s.bytes_written_compaction > 0);
    CHECK(s.write_amplification() > 1.0);
    for (uint64_t i = 0; i < 4000; ++i) {
      auto k = key_of(i);
      auto it = model.find(k);
      auto got = co_await get(*db, k);
      if (it == model.end()) {
        CHECK_FALSE(got.has_value());
      } else {
        CHECK(got == it->second);
      }
    }
    auto all = co_await db->scan("", "", 0);
    REQUIRE(all.has_value());
    CHECK(all->size() == model.size());
    REQUIRE((co_await db->close()).has_value());

    auto again = co_await open_db(small_tree(fs));
    auto all2 = co_await again->scan("", "", 0);
    REQUIRE(all2.has_value());
    REQUIRE(all2->size() == model.size());
    size_t i = 0;
    for (const auto& [k, v] : model) {
      CHECK((*all2)[i].key == k);
      CHECK((*all2)[i].value == v);
      ++i;
    }
    co_await settle(*again);
    // Inputs of compactions that ran while the scan above held its Version are deleted at the
    // next cleanup, which every flush runs.
    REQUIRE((co_await again->put("zzz", "1")).has_value());
    REQUIRE((co_await again->flush()).has_value());
    co_await settle(*again);
    // flush() returns once the table is installed; its cleanup runs after that. close() waits
    // for the flush loop (and so for that cleanup) to end: count the tables only after it
    // (under ASan the count used to run before that cleanup and saw its inputs).
    uint64_t live_tables = again->stats().sstable_count;
    REQUIRE((co_await again->close()).has_value());
    // Only the files of the current version remain on disk: compaction inputs were deleted.
    auto names = co_await fs.list_dir("/db");
    REQUIRE(names.has_value());
    size_t tables = 0;
    for (const auto& n : *names) {
      auto p = parse_file_name(n);
      if (p && p->kind == FileKind::table) ++tables;
    }
    CHECK(tables == live_tables);
  };
  run(body());
}

TEST_CASE("compact_range drops deleted keys at the bottom and keeps what a snapshot needs") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(small_tree(fs));
    REQUIRE((co_await db->put("a", "a1")).has_value());
    REQUIRE((co_await db->put("b", "b1")).has_value());
    REQUIRE((co_await db->flush()).has_value());
    auto snap = db->snapshot();
    REQUIRE((co_await db->del("a")).has_value());
    REQUIRE((co_await db->put("b", "b2")).has_value());
    REQUIRE((co_await db->compact_range()).has_value());

    auto s = db->stats();
    CHECK(s.levels[0].file_count == 0);
    CHECK_FALSE((co_await get(*db, "a")).has_value());
    CHECK((co_await get(*db, "b")) == "b2");
    ReadOptions at{.snapshot = snap.sequence()};
    CHECK((co_await get(*db, "a", at)) == "a1");
    CHECK((co_await get(*db, "b", at)) == "b1");
    uint64_t entries_with_snapshot = s.compaction_dropped_entries;

    // Release the snapshot: the next full compaction drops the tombstone and both old versions.
    {
      auto released = std::move(snap);
    }
    REQUIRE((co_await db->compact_range()).has_value());
    auto t = db->stats();
    CHECK(t.compaction_dropped_entries >= entries_with_snapshot + 3);
    CHECK_FALSE((co_await get(*db, "a")).has_value());
    CHECK((co_await get(*db, "b")) == "b2");
    REQUIRE((co_await db->compact_range()).has_value());
    auto all = co_await db->scan("", "", 0);
    REQUIRE(all.has_value());
    CHECK(*all == std::vector<KeyValue>{{"b", "b2"}});
    REQUIRE((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("a torn manifest tail after compactions is ignored on reopen") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    std::map<std::string, std::string> model;
    {
      auto db = co_await open_db(small_tree(fs));
      for (int i = 0; i < 3000; ++i) {
        std::string k = key_of(i % 1000), v = "v" + std::to_string(i) + std::string(40, 'x');
        REQUIRE((co_await db->put(k, v)).has_value());
        model[k] = v;
      }
      REQUIRE((co_await db->compact_range()).has_value());
      REQUIRE((co_await db->close()).has_value());
    }
    auto current = fs.contents("/db/CURRENT");
    REQUIRE(current.has_value());
    std::string manifest = "/db/" + current->substr(0, current->size() - 1);
    auto bytes = fs.contents(manifest);
    REQUIRE(bytes.has_value());
    // A half-written record: a header promising more bytes than follow.
    std::string torn = *bytes;
    torn += std::string("\x12\x34\x56\x78\xff\x00\x01", 7);
    REQUIRE(fs.set_contents(manifest, torn).has_value());
    auto db = co_await open_db(small_tree(fs));
    for (const auto& [k, v] : model) CHECK((co_await get(*db, k)) == v);
    REQUIRE((co_await db->close()).has_value());
  };
  run(body());
}

namespace {

// Forwards to a MemFileSystem; once armed with arm(n), the first n SSTable creations pass and
// the next ones wait for release() (each on its own Oneshot: several may wait at once); after
// release() every creation passes.
class GatedFileSystem final : public io::FileSystem {
 public:
  explicit GatedFileSystem(io::MemFileSystem& base) : base_(base) {}
  void arm(int pass) {
    pass_ = pass;
    armed_ = true;
  }
  void release() {
    std::vector<Oneshot<bool>> waiters;
    {
      std::lock_guard lock(mu_);
      released_ = true;
      waiters.swap(waiters_);
    }
    for (auto& w : waiters) w.set(true);
  }
  bool blocked() const { return blocked_.load(); }

  asio::awaitable<Result<std::unique_ptr<io::File>>> open(std::string path, io::OpenOptions o) override {
    if (o.create && armed_.load() && path.ends_with(".sst") && pass_.fetch_sub(1) <= 0) {
      Oneshot<bool> gate;
      bool wait = false;
      {
        std::lock_guard lock(mu_);
        if (!released_) {
          waiters_.push_back(gate);
          wait = true;
        }
      }
      if (wait) {
        blocked_ = true;
        co_await gate.wait();
      }
    }
    co_return co_await base_.open(std::move(path), o);
  }
  asio::awaitable<Result<void>> rename(std::string a, std::string b) override { return base_.rename(a, b); }
  asio::awaitable<Result<void>> remove(std::string p) override { return base_.remove(p); }
  asio::awaitable<Result<void>> create_dir(std::string p) override { return base_.create_dir(p); }
  asio::awaitable<Result<std::vector<std::string>>> list_dir(std::string p) override { return base_.list_dir(p); }
  asio::awaitable<Result<void>> sync_dir(std::string p) override { return base_.sync_dir(p); }
  asio::awaitable<Result<bool>> exists(std::string p) override { return base_.exists(p); }
  Result<std::unique_ptr<io::FileLock>> lock(std::string p) override { return base_.lock(p); }

 private:
  io::MemFileSystem& base_;
  std::atomic<bool> armed_{false}, blocked_{false};
  std::atomic<int> pass_{0};
  std::mutex mu_;
  bool released_ = false;               // guarded by mu_
  std::vector<Oneshot<bool>> waiters_;  // guarded by mu_
};

}  // namespace

// Regression (flush_waits_for_l0_stop): DB::flush's rotation re-checked the L0 stop trigger after
// switching the memtable, so a flush could wait for a compaction that waited for it.
TEST_CASE("writes stop at the L0 stop trigger and resume when the compaction finishes") {
  io::MemFileSystem mem;
  GatedFileSystem fs(mem);
  auto body = [&]() -> asio::awaitable<void> {
    Options o = small_tree(fs);
    o.l0_compaction_trigger = 1;
    o.l0_slowdown_writes_trigger = 100;
    o.l0_stop_writes_trigger = 1;
    auto db = co_await open_db(o);
    REQUIRE((co_await db->put("a", "1")).has_value());
    REQUIRE((co_await db->flush()).has_value());
    co_await settle(*db);  // L0 -> L1 by a trivial move: no new SSTable
    REQUIRE(db->stats().levels[0].file_count == 0);

    // The flush's SSTable passes the gate; the compaction merging it with L1 (they overlap)
    // waits at the gate, so L0 keeps one file and writes stop.
    fs.arm(1);
    REQUIRE((co_await db->put("a", "2")).has_value());
    REQUIRE((co_await db->flush()).has_value());
    bool done = false;
    auto writer = [&]() -> asio::awaitable<void> {
      auto r = co_await db->put("b", "3");
      CHECK(r.has_value());
      done = true;
    };
    asio::co_spawn(co_await asio::this_coro::executor, writer(), asio::detached);
    co_await sleep_ms(100);
    CHECK(fs.blocked());
    CHECK_FALSE(done);
    CHECK(db->stats().levels[0].file_count == 1);

    fs.release();
    for (int i = 0; i < 500 && !done; ++i) co_await sleep_ms(10);
    CHECK(done);
    auto s = db->stats();
    CHECK(s.stall_micros >= 50000);
    CHECK(s.compactions == 1);
    CHECK((co_await get(*db, "a")) == "2");
    CHECK((co_await get(*db, "b")) == "3");
    REQUIRE((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("point reads that keep probing overlapping L0 files trigger a seek compaction into L1") {
  io::MemFileSystem fs;
  run([&]() -> asio::awaitable<void> {
    auto db = co_await open_db(seek_tree(fs, 1 << 20));  // three overlapping L0 files stay below the trigger
    co_await three_l0_files(*db, 300);
    REQUIRE(db->stats().levels[0].file_count == 3);
    // Keys of the oldest file: every get probes the two newer files first, in vain.
    for (int n = 0; n < 2000 && db->stats().compactions == 0; ++n) {
      int i = 3 * (n % 100);
      auto v = co_await get(*db, key_of(i));
      REQUIRE(v == "v" + std::to_string(i));
    }
    co_await settle(*db);
    DbStats s = db->stats();
    CHECK(s.compactions >= 1);
    CHECK(s.seek_compactions == 1);
    CHECK(s.seek_compactions_preempted == 0);
    CHECK(s.levels[0].file_count == 0);
    // It ran on the DB's low-priority thread (Options::seek_compaction_low_priority).
    CHECK(threads_at_nice(kLowestNice) >= 1);
    for (int i = 0; i < 300; ++i) CHECK((co_await get(*db, key_of(i))) == "v" + std::to_string(i));
    REQUIRE(co_await db->close());
  }());
}

TEST_CASE("with seek_compaction off, the same reads leave L0 alone") {
  io::MemFileSystem fs;
  run([&]() -> asio::awaitable<void> {
    Options o = seek_tree(fs, 1 << 20);
    o.seek_compaction = false;
    auto db = co_await open_db(o);
    co_await three_l0_files(*db, 300);
    for (int n = 0; n < 2000; ++n) REQUIRE((co_await get(*db, key_of(3 * (n % 100)))).has_value());
    co_await settle(*db);
    CHECK(db->stats().compactions == 0);
    CHECK(db->stats().levels[0].file_count == 3);
    REQUIRE(co_await db->close());
  }());
}

TEST_CASE("a flush preempts a low-priority seek compaction; its retry runs unpaced and at normal priority") {
  io::MemFileSystem fs;
  run([&]() -> asio::awaitable<void> {
    Options o = seek_tree(fs, 4 << 20);
    // Paced to a crawl, so that the low-priority job is still running when the flush comes.
    o.seek_compaction_bytes_per_sec = 1024;
    auto db = co_await open_db(o);
    constexpr int kKeys = 9000;
    co_await three_l0_files(*db, kKeys);
    REQUIRE(db->stats().levels[0].file_count == 3);
    for (int n = 0; n < 20000 && db->stats().running_compactions == 0; ++n) {
      int i = 3 * (n % 3000);
      REQUIRE((co_await get(*db, key_of(i))) == "v" + std::to_string(i));
    }
    REQUIRE(db->stats().running_compactions == 1);
    co_await sleep_ms(300);  // the job is past its first 1,024 entries and sleeping on its pace
    CHECK(db->stats().running_compactions == 1);
    CHECK(db->stats().compactions == 0);

    REQUIRE(co_await db->put("after", "flush"));
    REQUIRE(co_await db->flush());
    co_await settle(*db);
    for (int i = 0; i < 200 && db->stats().seek_compactions == 0; ++i) co_await sleep_ms(10);
    DbStats s = db->stats();
    CHECK(s.seek_compactions_preempted == 1);
    CHECK(s.seek_compactions == 1);
    CHECK(s.levels[0].file_count == 0);  // the retry took every L0 file, the new one too
    for (int i = 0; i < kKeys; i += 7) CHECK((co_await get(*db, key_of(i))) == "v" + std::to_string(i));
    CHECK((co_await get(*db, "after")) == "flush");
    REQUIRE(co_await db->close());
  }());
}
