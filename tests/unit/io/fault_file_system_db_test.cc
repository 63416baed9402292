// The DB on a FaultFileSystem: ENOSPC or EIO on a WAL sync turns the DB read-only, the failed
// fsync is never retried, and after a simulated power loss (crash() in every mode) and a reopen
// every write acknowledged before the failure is there (shared/RELIABILITY.md, promises 1 and 3).
// The sweep of a fault over every file operation (RELIABILITY.md "disk full / EIO") is the
// reliability test tests/reliability/disk_full_test.cc.
// Prints: runs=... faults=... synced_acked_lost=0 phantom_values=0 fsync_retried=0 seed=...
// Replay a run with STRATA_TEST_SEED=<seed>.
#include <doctest/doctest.h>

#include <boost/asio/this_coro.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "strata/db.h"
#include "lib/io/fault_file_system.h"
#include "lib/io/mem_file_system.h"
#include "lib/util/logging.h"
#include "lib/util/random.h"
#include "tests/test_util.h"

using namespace strata;
using strata::testing::run;
namespace asio = boost::asio;

namespace {

uint64_t test_seed() {
  if (const char* s = std::getenv("STRATA_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return Random::os_seed();
}

Options fault_options(io::FileSystem& fs) {
  Options o;
  o.file_system = &fs;
  o.sync = SyncPolicy::always;
  o.memtable_size_bytes = 16 << 10;    // flushes and WAL rotations during the run
  o.wal_preallocate_bytes = 64 << 10;  // exercises preallocated, unsynced WAL space
  o.l0_compaction_trigger = 2;         // compactions too
  return o;
}

struct RunOutcome {
  bool fault_hit = false;        // a write failed with the injected error
  bool read_only_after = false;  // later writes failed with read_only, stats().read_only set
  uint64_t acked = 0;
  uint64_t lost = 0;     // acknowledged values missing after reopen
  uint64_t phantom = 0;  // values after reopen that were neither acknowledged nor in flight
  uint64_t fsync_retried = 0;
};

// One run: writes until the `nth` WAL sync fails with `err`, checks read-only mode, closes, loses
// power in `mode`, reopens and compares with what was acknowledged.
asio::awaitable<RunOutcome> one_run(uint64_t seed, int err, bool sticky, io::CrashMode mode) {
  Random rng(seed);
  io::MemFileSystem mem;
  io::FaultFileSystem fs(mem, seed);
  RunOutcome out;
  auto ex = co_await asio::this_coro::executor;
  std::map<std::string, std::string> acked;  // key -> last acknowledged value ("" = deleted)
  std::string in_flight_key, in_flight_value;
  {
    auto opened = co_await DB::open(ex, "/db", fault_options(fs));
    REQUIRE(opened.has_value());
    auto db = std::move(*opened);
    uint64_t nth = 1 + rng.uniform(400);
    fs.set_fail_plan({.nth = nth, .err = err, .sticky = sticky, .ops = io::kFaultSync, .path_contains = "/wal/"});
    for (int i = 0; i < 100000 && !out.fault_hit; ++i) {
      std::string key = "key" + std::to_string(rng.uniform(300));
      bool del = rng.one_in(8);
      std::string value = del ? "" : "v" + std::to_string(i) + "-" + std::string(rng.uniform(400), 'x');
      Result<SequenceNumber> w = SequenceNumber{0};
      if (del) {
        w = co_await db->del(key);
      } else {
        w = co_await db->put(key, value);
      }
      if (w) {
        acked[key] = value;
        ++out.acked;
        continue;
      }
      CHECK((w.error() == make_error_code(Errc::no_space) || w.error() == make_error_code(Errc::io_error)));
      out.fault_hit = true;
      in_flight_key = key;
      in_flight_value = value;
    }
    REQUIRE(out.fault_hit);
    auto again = co_await db->put("after", "fault");
    out.read_only_after = !again && again.error() == make_error_code(Errc::read_only) && db->stats().read_only;
    (void)co_await db->close();  // may fail: the WAL writer is poisoned
  }
  out.fsync_retried = fs.stats().syncs_after_failed_sync;
  fs.clear_fail_plan();
  auto crashed = co_await fs.crash(mode);
  REQUIRE(crashed.has_value());

  auto reopened = co_await DB::open(ex, "/db", fault_options(fs));
  REQUIRE_MESSAGE(reopened.has_value(), "reopen after crash failed: " << reopened.error().message());
  auto db = std::move(*reopened);
  for (int k = 0; k < 300; ++k) {
    std::string key = "key" + std::to_string(k);
    auto got = co_await db->get(key);
    REQUIRE(got.has_value());
    std::string have = got->value_or("");
    auto it = acked.find(key);
    std::string want = it == acked.end() ? "" : it->second;
    if (have == want) continue;
    if (key == in_flight_key && have == in_flight_value) continue;  // in flight: either outcome
    if (it != acked.end()) {
      ++out.lost;
      MESSAGE("lost: " << key << " want " << want.substr(0, 12) << " have " << have.substr(0, 12));
    } else {
      ++out.phantom;
    }
  }
  auto after = co_await db->get("after");
  REQUIRE(after.has_value());
  if (after->has_value()) ++out.phantom;  // refused while read-only: must not appear
  CHECK((co_await db->close()).has_value());
  co_return out;
}

}  // namespace

TEST_CASE("ENOSPC or EIO on a WAL sync: read-only, never retried, no acknowledged write lost after power loss") {
  const uint64_t seed = test_seed();
  LogLevel saved = log_level();
  set_log_level(LogLevel::error);  // every run logs the read-only transition and the torn WAL tail
  Random rng(seed);
  uint64_t runs = 0, faults = 0, acked = 0, lost = 0, phantom = 0, retried = 0, not_read_only = 0;
  const io::CrashMode modes[] = {io::CrashMode::drop, io::CrashMode::garble, io::CrashMode::tear};
  for (int err : {ENOSPC, EIO}) {
    for (bool sticky : {false, true}) {
      for (io::CrashMode mode : modes) {
        for (int rep = 0; rep < 2; ++rep) {
          uint64_t run_seed = rng.next();
          CAPTURE(run_seed);
          RunOutcome o = run(one_run(run_seed, err, sticky, mode));
          ++runs;
          faults += o.fault_hit ? 1 : 0;
          acked += o.acked;
          lost += o.lost;
          phantom += o.phantom;
          retried += o.fsync_retried;
          not_read_only += o.read_only_after ? 0 : 1;
        }
      }
    }
  }
  set_log_level(saved);
  std::printf(
      "# runs=%llu faults=%llu acked=%llu synced_acked_lost=%llu phantom_values=%llu fsync_retried=%llu "
      "not_read_only=%llu seed=%llu\n",
      (unsigned long long)runs, (unsigned long long)faults, (unsigned long long)acked, (unsigned long long)lost,
      (unsigned long long)phantom, (unsigned long long)retried, (unsigned long long)not_read_only,
      (unsigned long long)seed);
  CHECK(faults == runs);  // a run without an injected fault proves nothing
  CHECK(acked > 0);
  CHECK(lost == 0);
  CHECK(phantom == 0);
  CHECK(retried == 0);
  CHECK(not_read_only == 0);
}
