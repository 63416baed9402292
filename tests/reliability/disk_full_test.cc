// Disk full / EIO (shared/RELIABILITY.md promise 3; suite reliability, `disk_full`): a fault plan
// armed before DB::open fails the k-th file operation, for every k of a workload with WAL
// rotations, flushes and compactions (DB::open and close included), with ENOSPC and EIO, once
// (transient) and for good (persistent). Two sweeps:
//   mutating  the k-th mutating operation of any kind (open for writing, write, sync, truncate,
//             preallocate, rename, remove, create_dir, sync_dir);
//   sync      the k-th File::sync or sync_dir: the DB must then be read-only (a write fails with
//             read_only and stats() says why), whether the sync was the WAL's or a background
//             flush's or compaction's.
// Every run then closes the DB, loses power (io::FaultFileSystem::crash, drop/garble/tear in
// turn), reopens with the fault cleared, and compares every key with what was acknowledged
// (the one write in flight at the fault may have landed or not). No failed fsync may ever be
// retried (FaultFileSystem counts a sync on a file whose earlier sync failed).
//
// Each run is a forked child process, so that an abort, a crash or a hang in the DB is counted
// (`aborts=`, `hangs=`) and reported with its k instead of ending the sweep.
//
// Sweeps repeat with seeds drawn from the first one (different keys, value sizes, so different
// operation sequences) until STRATA_SOAK_SECONDS have passed (default 0: one round of both
// sweeps). STRATA_SEED replays a run; STRATA_DISK_FULL_K=k with STRATA_DISK_FULL_CASE=<sweep>/
// <err>/<once|sticky> runs one case in-process (for a debugger).
// Prints: runs=... aborts=0 acked_lost=0 fsync_retried=0 ... seed=...
#include <doctest/doctest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "strata/db.h"
#include "lib/io/fault_file_system.h"
#include "lib/io/mem_file_system.h"
#include "lib/util/logging.h"
#include "lib/util/random.h"
#include "tests/test_util.h"

using namespace strata;
using strata::testing::env_u64;
using strata::testing::run;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kWrites = 150;
constexpr int kKeys = 100;
constexpr auto kRunTimeout = std::chrono::seconds(30);

// Plain data: it crosses the pipe from the child.
struct RunOutcome {
  uint64_t ops = 0;  // mutating (or sync) operations the run made, as the plan counted them
  uint64_t faults_injected = 0;
  uint64_t acked = 0;
  uint64_t lost = 0;     // acknowledged values missing after reopen
  uint64_t phantom = 0;  // values after reopen that were neither acknowledged nor in flight
  uint64_t fsync_retried = 0;
  uint64_t wrong_error = 0;    // a write failed with something else than no_space/io_error/read_only
  uint64_t not_read_only = 0;  // sync sweep: a fault was injected, the DB still took writes
  uint64_t no_reason = 0;      // read-only without a reason in stats()
  uint64_t open_failed = 0;    // DB::open met the fault (and said so)
  uint64_t reopen_failed = 0;  // the reopen after the fault cleared failed
  uint64_t read_failed = 0;    // a get after reopen failed
  uint64_t close_failed = 0;   // closing the reopened DB failed
  char detail[160] = {};
};

enum class Sweep { mutating, sync };

Options fault_options(io::FileSystem& fs) {
  Options o;
  o.file_system = &fs;
  o.sync = SyncPolicy::always;
  o.memtable_size_bytes = 16 << 10;    // flushes and WAL rotations during the run
  o.wal_preallocate_bytes = 64 << 10;  // exercises preallocated, unsynced WAL space
  o.l0_compaction_trigger = 2;         // compactions too
  return o;
}

asio::awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}

// One run: the plan fails the `nth` operation of `sweep`'s kind (nth 0: no fault, to count the
// operations); writes until one fails or all are done; lets background work finish; checks
// read-only mode; closes, loses power in `mode`, reopens without faults and compares.
asio::awaitable<RunOutcome> sweep_run(uint64_t seed, Sweep sweep, uint64_t nth, int err, bool sticky,
                                      io::CrashMode mode) {
  Random rng(seed);
  io::MemFileSystem mem;
  io::FaultFileSystem fs(mem, seed);
  RunOutcome out;
  auto ex = co_await asio::this_coro::executor;
  std::map<std::string, std::string> acked;
  std::string in_flight_key, in_flight_value;
  const uint32_t ops = sweep == Sweep::sync ? (io::kFaultSync | io::kFaultSyncDir) : io::kFaultMutating;
  // With nth 0 the plan never fires but still counts the operations of its kind.
  fs.set_fail_plan({.nth = nth == 0 ? ~uint64_t{0} : nth, .err = err, .sticky = sticky, .ops = ops});
  {
    auto opened = co_await DB::open(ex, "/db", fault_options(fs));
    if (opened) {
      auto db = std::move(*opened);
      bool write_failed = false;
      for (int i = 0; i < kWrites; ++i) {
        std::string key = "key" + std::to_string(rng.uniform(kKeys));
        std::string value = "v" + std::to_string(i) + "-" + std::string(rng.uniform(600), 'x');
        auto w = co_await db->put(key, value);
        if (!w) {
          if (w.error() != make_error_code(Errc::no_space) && w.error() != make_error_code(Errc::io_error) &&
              w.error() != make_error_code(Errc::read_only)) {
            ++out.wrong_error;
            std::snprintf(out.detail, sizeof out.detail, "put failed with %s", w.error().message().c_str());
          }
          write_failed = true;
          in_flight_key = key;
          in_flight_value = value;
          break;
        }
        acked[key] = value;
        ++out.acked;
      }
      // Let flushes and compactions the writes started finish (or fail: a read-only DB keeps its
      // immutable memtable).
      for (int i = 0; i < 500; ++i) {
        auto s = db->stats();
        if (s.read_only || (s.running_compactions == 0 && s.immutable_memtables == 0)) break;
        co_await sleep_ms(10);
      }
      if (sweep == Sweep::sync && fs.stats().faults_injected > 0) {
        // A sync failed somewhere: the DB must refuse writes from now on, and say why.
        auto again = co_await db->put("after", "fault");
        auto s = db->stats();
        if (again || again.error() != make_error_code(Errc::read_only) || !s.read_only) {
          ++out.not_read_only;
          std::snprintf(out.detail, sizeof out.detail, "after a failed sync: put %s, stats().read_only=%d",
                        again ? "succeeded" : again.error().message().c_str(), s.read_only ? 1 : 0);
          if (again) acked["after"] = "fault";  // it was acknowledged: it must survive
        } else if (s.read_only_reason.empty()) {
          ++out.no_reason;
        }
      }
      (void)write_failed;
      (void)co_await db->close();  // may fail after the fault
    } else {
      ++out.open_failed;
    }
  }
  auto fstats = fs.stats();
  out.ops = fstats.ops_counted;
  out.faults_injected = fstats.faults_injected;
  out.fsync_retried = fstats.syncs_after_failed_sync;
  fs.clear_fail_plan();
  auto crashed = co_await fs.crash(mode);
  if (!crashed) {
    ++out.reopen_failed;
    std::snprintf(out.detail, sizeof out.detail, "crash() failed: %s", crashed.error().message().c_str());
    co_return out;
  }
  auto reopened = co_await DB::open(ex, "/db", fault_options(fs));
  if (!reopened) {
    ++out.reopen_failed;
    std::snprintf(out.detail, sizeof out.detail, "reopen failed: %s", reopened.error().message().c_str());
    co_return out;
  }
  auto db = std::move(*reopened);
  for (int k = 0; k <= kKeys; ++k) {
    std::string key = k == kKeys ? "after" : "key" + std::to_string(k);
    auto got = co_await db->get(key);
    if (!got) {
      ++out.read_failed;
      std::snprintf(out.detail, sizeof out.detail, "get %s after reopen: %s", key.c_str(),
                    got.error().message().c_str());
      continue;
    }
    std::string have = got->value_or("");
    auto it = acked.find(key);
    std::string want = it == acked.end() ? "" : it->second;
    if (have == want || (key == in_flight_key && have == in_flight_value)) continue;
    if (it != acked.end()) {
      ++out.lost;
      std::snprintf(out.detail, sizeof out.detail, "lost %s: want %.12s have %.12s", key.c_str(), want.c_str(),
                    have.c_str());
    } else {
      ++out.phantom;
      std::snprintf(out.detail, sizeof out.detail, "phantom %s: %.12s", key.c_str(), have.c_str());
    }
  }
  if (!(co_await db->close())) ++out.close_failed;
  co_return out;
}

struct Case {
  Sweep sweep;
  uint64_t nth;
  int err;
  bool sticky;
  io::CrashMode mode;
};

const char* sweep_name(Sweep s) { return s == Sweep::sync ? "sync" : "mutating"; }

// Runs one case in a forked child. Returns false when the child did not report (died by a
// signal, exited non-zero, or hung: *hung says which).
bool run_in_child(uint64_t seed, const Case& c, RunOutcome* out, bool* hung, std::string* how) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    RunOutcome o;
    try {
      o = run(sweep_run(seed, c.sweep, c.nth, c.err, c.sticky, c.mode));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: exception: %s\n", e.what());
      ::_exit(3);
    }
    const char* p = reinterpret_cast<const char*>(&o);
    size_t left = sizeof o;
    while (left > 0) {
      ssize_t n = ::write(fds[1], p, left);
      if (n <= 0) ::_exit(4);
      p += n;
      left -= static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  *hung = false;
  size_t got = 0;
  char* p = reinterpret_cast<char*>(out);
  const auto until = Clock::now() + kRunTimeout;
  while (got < sizeof *out) {
    pollfd pfd{fds[0], POLLIN, 0};
    int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
    if (ms <= 0 || ::poll(&pfd, 1, ms) == 0) {
      *hung = true;
      ::kill(pid, SIGKILL);
      break;
    }
    ssize_t n = ::read(fds[0], p + got, sizeof *out - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (*hung) {
    *how = "hung (killed after " + std::to_string(kRunTimeout.count()) + " s)";
    return false;
  }
  if (WIFSIGNALED(status)) {
    *how = std::string("died by signal ") + strsignal(WTERMSIG(status));
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != sizeof *out) {
    *how = "exited with status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return false;
  }
  return true;
}

struct Totals {
  uint64_t rounds = 0, runs = 0, faults = 0, acked = 0, aborts = 0, hangs = 0, lost = 0, phantom = 0;
  uint64_t fsync_retried = 0, wrong_error = 0, not_read_only = 0, no_reason = 0, open_failed = 0;
  uint64_t reopen_failed = 0, read_failed = 0, close_failed = 0, sync_runs = 0, mutating_runs = 0;
  uint64_t max_ops = 0;

  uint64_t bad() const {
    return aborts + hangs + lost + phantom + fsync_retried + wrong_error + not_read_only + no_reason + reopen_failed +
           read_failed + close_failed;
  }
};

void add(Totals& t, const RunOutcome& o) {
  t.faults += o.faults_injected > 0 ? 1 : 0;
  t.acked += o.acked;
  t.lost += o.lost;
  t.phantom += o.phantom;
  t.fsync_retried += o.fsync_retried;
  t.wrong_error += o.wrong_error;
  t.not_read_only += o.not_read_only;
  t.no_reason += o.no_reason;
  t.open_failed += o.open_failed;
  t.reopen_failed += o.reopen_failed;
  t.read_failed += o.read_failed;
  t.close_failed += o.close_failed;
}

// One round: for each sweep, count the operations of a clean run, then fail the k-th for every
// k of them, with ENOSPC and EIO, once and for good.
void one_round(uint64_t seed, Totals& t) {
  for (Sweep sweep : {Sweep::mutating, Sweep::sync}) {
    RunOutcome clean;
    bool hung = false;
    std::string how;
    REQUIRE_MESSAGE(run_in_child(seed, {sweep, 0, ENOSPC, false, io::CrashMode::drop}, &clean, &hung, &how),
                    "the run without a fault " << how << " (seed " << seed << ")");
    REQUIRE_MESSAGE(clean.lost + clean.phantom + clean.reopen_failed + clean.read_failed == 0,
                    "the run without a fault: " << clean.detail);
    REQUIRE(clean.faults_injected == 0);
    REQUIRE(clean.ops > 10);
    t.max_ops = std::max(t.max_ops, clean.ops);
    for (int err : {ENOSPC, EIO}) {
      for (bool sticky : {false, true}) {
        for (uint64_t k = 1; k <= clean.ops; ++k) {
          const io::CrashMode mode = k % 3 == 0   ? io::CrashMode::drop
                                     : k % 3 == 1 ? io::CrashMode::garble
                                                  : io::CrashMode::tear;
          const Case c{sweep, k, err, sticky, mode};
          RunOutcome o;
          ++t.runs;
          ++(sweep == Sweep::sync ? t.sync_runs : t.mutating_runs);
          const uint64_t bad_before = t.bad();
          if (!run_in_child(seed, c, &o, &hung, &how)) {
            ++(hung ? t.hangs : t.aborts);
            std::printf("# %s: seed=%" PRIu64 " STRATA_DISK_FULL_CASE=%s/%s/%s STRATA_DISK_FULL_K=%" PRIu64 "\n",
                        how.c_str(), seed, sweep_name(sweep), err == ENOSPC ? "ENOSPC" : "EIO",
                        sticky ? "sticky" : "once", k);
            continue;
          }
          add(t, o);
          if (t.bad() != bad_before) {
            std::printf("# failed: %s seed=%" PRIu64 " STRATA_DISK_FULL_CASE=%s/%s/%s STRATA_DISK_FULL_K=%" PRIu64 "\n",
                        o.detail, seed, sweep_name(sweep), err == ENOSPC ? "ENOSPC" : "EIO", sticky ? "sticky" : "once",
                        k);
          }
        }
      }
    }
  }
  ++t.rounds;
}

}  // namespace

TEST_CASE("disk full or EIO at the k-th file operation, for every k: no abort, read-only, no acknowledged write lost") {
  const uint64_t seed = env_u64("STRATA_SEED", Random::os_seed());
  const uint64_t soak_seconds = env_u64("STRATA_SOAK_SECONDS", 0);
  std::printf("# seed=%" PRIu64 " (replay: STRATA_SEED=%" PRIu64 ")\n", seed, seed);
  std::fflush(stdout);
  LogLevel saved = log_level();
  set_log_level(LogLevel::error);  // every run logs its read-only transition and torn WAL tail

  if (const char* one = std::getenv("STRATA_DISK_FULL_CASE")) {
    // In-process replay of one case: "<mutating|sync>/<ENOSPC|EIO>/<once|sticky>".
    std::string s = one;
    Case c{s.starts_with("sync") ? Sweep::sync : Sweep::mutating, env_u64("STRATA_DISK_FULL_K", 1),
           s.find("EIO") != std::string::npos ? EIO : ENOSPC, s.find("sticky") != std::string::npos,
           io::CrashMode::drop};
    c.mode = c.nth % 3 == 0 ? io::CrashMode::drop : c.nth % 3 == 1 ? io::CrashMode::garble : io::CrashMode::tear;
    RunOutcome o = run(sweep_run(seed, c.sweep, c.nth, c.err, c.sticky, c.mode));
    std::printf("# one case: ops=%" PRIu64 " faults_injected=%" PRIu64 " acked=%" PRIu64 " lost=%" PRIu64
                " phantom=%" PRIu64 " fsync_retried=%" PRIu64 " not_read_only=%" PRIu64 " reopen_failed=%" PRIu64
                " detail=%s\n",
                o.ops, o.faults_injected, o.acked, o.lost, o.phantom, o.fsync_retried, o.not_read_only, o.reopen_failed,
                o.detail);
    CHECK(o.lost + o.phantom + o.fsync_retried + o.not_read_only + o.reopen_failed + o.read_failed == 0);
    set_log_level(saved);
    return;
  }

  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(soak_seconds);
  Random seeds(seed);
  Totals t;
  for (uint64_t round = 0; round == 0 || Clock::now() < deadline; ++round) {
    const uint64_t round_seed = round == 0 ? seed : seeds.next();
    one_round(round_seed, t);
    if (t.bad() > 0) break;  // the printed seed and case replay it
  }
  set_log_level(saved);
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("# runs=%" PRIu64 " aborts=%" PRIu64 " acked_lost=%" PRIu64 " fsync_retried=%" PRIu64 " hangs=%" PRIu64
              " faults=%" PRIu64 " phantom_values=%" PRIu64 " not_read_only_after_failed_sync=%" PRIu64
              " wrong_error=%" PRIu64 " reopen_failed=%" PRIu64 " open_failed=%" PRIu64 " acked=%" PRIu64
              " mutating_runs=%" PRIu64 " sync_runs=%" PRIu64 " rounds=%" PRIu64 " seconds=%.0f seed=%" PRIu64 "\n",
              t.runs, t.aborts, t.lost, t.fsync_retried, t.hangs, t.faults, t.phantom, t.not_read_only, t.wrong_error,
              t.reopen_failed, t.open_failed, t.acked, t.mutating_runs, t.sync_runs, t.rounds, secs, seed);
  CHECK(t.aborts == 0);
  CHECK(t.hangs == 0);
  CHECK(t.lost == 0);
  CHECK(t.phantom == 0);
  CHECK(t.fsync_retried == 0);
  CHECK(t.not_read_only == 0);
  CHECK(t.no_reason == 0);
  CHECK(t.wrong_error == 0);
  CHECK(t.reopen_failed == 0);
  CHECK(t.read_failed == 0);
  CHECK(t.close_failed == 0);
  // Background work shifts the operation count a little between runs, so a run near the end may
  // finish before its k-th operation; almost every run must still have met its fault.
  CHECK(t.faults * 100 >= t.runs * 95);
}
