// Reliability: simulated power loss while flushes and compactions run.
//
// Each round opens the DB (sync always, small memtables and compaction targets, so flushes and
// compactions run all the time) over a FaultFileSystem, runs 8 writer coroutines (each owning its
// keys, so the last acknowledged value of a key is well defined), and at a random moment arms a
// sticky failure of every later mutating file operation: from that instant nothing reaches the
// disk, as when the power goes. The DB turns read-only, the writers stop, the DB closes, and
// FaultFileSystem::crash() reverts every file and directory to what was made durable (the
// unsynced tail dropped, garbled or torn). The DB must reopen and hold, for every key:
//   synced_acked_lost  0: its last acknowledged value, or the value of the write that was in
//                         flight when the power went (a missing key or an older value is a loss)
//   phantom_values     0: nothing that was never written to that key
// A write in flight at the failure returns an error but may still be on disk (its fsync may
// have persisted the pages before failing, as a real disk may): either outcome is correct, and
// in_flight_landed counts how often it was there.
// and the engine must never have retried a failed fsync (fsync_retried=0).
// Summary: `crashes=N synced_acked_lost=0 phantom_values=0 fsync_retried=0 ... busy_rounds=M`
// (busy_rounds: rounds where a flush or compaction was running when the failure was armed).
// Env: STRATA_SEED (replay), STRATA_SOAK_SECONDS (more rounds until the time is up).
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>

#include "strata/db.h"
#include "lib/io/fault_file_system.h"
#include "lib/io/mem_file_system.h"
#include "lib/util/random.h"
#include "tests/test_util.h"
#include "tests/unit/db/db_test_util.h"

using namespace strata;
using namespace strata::testing;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kWriters = 8;
constexpr int kKeysPerWriter = 50;

struct KeyLog {
  std::string acked;  // the last acknowledged value ("" = none yet)
  bool has_acked = false;
  std::vector<std::string> unacked;  // attempts that returned an error since (in flight at the failure)
  std::vector<std::string> older;    // values acknowledged before `acked`
};

struct Totals {
  uint64_t rounds = 0, synced_acked_lost = 0, phantom_values = 0, in_flight_landed = 0, busy_rounds = 0,
           acked_writes = 0;
};

asio::awaitable<void> writer(DB& db, int w, uint64_t seed, uint64_t round, std::map<std::string, KeyLog>& logs,
                             bool& stop, int& running, Totals& totals) {
  Random rnd(seed);
  uint64_t n = 0;
  while (!stop) {
    std::string key = "w" + std::to_string(w) + "/k" + std::to_string(rnd.uniform(kKeysPerWriter));
    std::string value = "r" + std::to_string(round) + "." + std::to_string(n++) + ":" +
                        std::string(50 + rnd.uniform(400), static_cast<char>('a' + rnd.uniform(26)));
    auto r = co_await db.put(key, value);
    auto& log = logs[key];
    if (r) {
      if (log.has_acked) log.older.push_back(log.acked);
      log.acked = value;
      log.has_acked = true;
      log.unacked.clear();
      ++totals.acked_writes;
    } else {
      log.unacked.push_back(value);
      stop = true;  // read-only after the failure: the round is over
    }
  }
  --running;
}

asio::awaitable<void> sleep_for_ms(int ms) { co_await sleep_ms(ms); }

}  // namespace

TEST_CASE("power loss during flushes and compactions loses no synced write and invents none") {
  uint64_t seed = std::getenv("STRATA_SEED") ? std::strtoull(std::getenv("STRATA_SEED"), nullptr, 10)
                                             : static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  uint64_t soak_seconds =
      std::getenv("STRATA_SOAK_SECONDS") ? std::strtoull(std::getenv("STRATA_SOAK_SECONDS"), nullptr, 10) : 0;
  std::printf("# seed=%" PRIu64 " (replay: STRATA_SEED=%" PRIu64 ")\n", seed, seed);
  Random rnd(seed);
  io::MemFileSystem mem;
  io::FaultFileSystem ffs(mem, seed);
  std::map<std::string, KeyLog> logs;
  Totals totals;
  auto deadline = Clock::now() + std::chrono::seconds(soak_seconds);

  auto body = [&]() -> asio::awaitable<void> {
    for (uint64_t round = 0; round < 30 || Clock::now() < deadline; ++round) {
      Options o = small_tree_options(ffs);
      o.sync = SyncPolicy::always;
      o.memtable_size_bytes = 16 << 10;
      auto opened = co_await DB::open(co_await asio::this_coro::executor, "/db", o);
      REQUIRE_MESSAGE(opened.has_value(), "round " << round << ": the DB did not reopen after a power loss");
      auto db = std::move(*opened);

      // Verify the state the previous power loss left.
      for (auto& [key, log] : logs) {
        auto got = co_await db->get(key);
        REQUIRE_MESSAGE(got.has_value(), "round " << round << " get " << key);
        if (!got->has_value()) {
          if (log.has_acked) ++totals.synced_acked_lost;
        } else if (log.has_acked && **got == log.acked) {
          // as acknowledged
        } else if (std::find(log.unacked.begin(), log.unacked.end(), **got) != log.unacked.end()) {
          ++totals.in_flight_landed;
        } else if (std::find(log.older.begin(), log.older.end(), **got) != log.older.end()) {
          ++totals.synced_acked_lost;  // an acknowledged overwrite was lost
        } else {
          ++totals.phantom_values;  // never written to this key
        }
        if (got->has_value()) {
          if (log.has_acked) log.older.push_back(log.acked);
          log.acked = **got;  // carry on from what is there
          log.has_acked = true;
        }
        log.unacked.clear();
      }

      bool stop = false;
      int running = kWriters;
      auto ex = co_await asio::this_coro::executor;
      for (int w = 0; w < kWriters; ++w) {
        asio::co_spawn(ex, writer(*db, w, rnd.next(), round, logs, stop, running, totals), asio::detached);
      }
      co_await sleep_for_ms(20 + static_cast<int>(rnd.uniform(200)));
      auto s = db->stats();
      if (s.running_compactions > 0 || s.immutable_memtables > 0) ++totals.busy_rounds;
      // The power goes: a few operations from now, every mutating operation fails.
      ffs.set_fail_plan(io::FailPlan{.nth = 1 + rnd.uniform(20), .err = rnd.one_in(2) ? 28 : 5, .sticky = true});
      for (int i = 0; i < 2000 && running > 0; ++i) co_await sleep_for_ms(5);
      REQUIRE_MESSAGE(running == 0, "round " << round << ": writers did not stop after the failure");
      auto closed = co_await db->close();
      (void)closed;  // fails after the injected fault; the state on disk is what matters
      db.reset();
      ffs.clear_fail_plan();
      auto mode = static_cast<io::CrashMode>(rnd.uniform(3));
      REQUIRE((co_await ffs.crash(mode)).has_value());
      ++totals.rounds;
    }
  };
  run(body());
  auto fs_stats = ffs.stats();
  std::printf("# crashes=%" PRIu64 " synced_acked_lost=%" PRIu64 " phantom_values=%" PRIu64 " fsync_retried=%" PRIu64
              " in_flight_landed=%" PRIu64 " busy_rounds=%" PRIu64 " acked_writes=%" PRIu64 " faults=%" PRIu64
              " seed=%" PRIu64 "\n",
              totals.rounds, totals.synced_acked_lost, totals.phantom_values, fs_stats.syncs_after_failed_sync,
              totals.in_flight_landed, totals.busy_rounds, totals.acked_writes, fs_stats.faults_injected, seed);
  CHECK(totals.synced_acked_lost == 0);
  CHECK(totals.phantom_values == 0);
  CHECK(fs_stats.syncs_after_failed_sync == 0);
  CHECK(totals.busy_rounds > 0);
  CHECK(totals.acked_writes > 1000);
}
