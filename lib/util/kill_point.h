// Kill points: named places in the engine where a crash test can make the process die as if
// kill -9 hit it exactly there (RocksDB's TEST_KILL_RANDOM / kill points in db_stress).
//
//   STRATA_KILL_POINT("flush.after_table_written");
//
// Armed only by the environment variable STRATA_KILL_POINT=NAME[:N], read once at first use: the
// N-th time (default 1) the point named NAME is reached, the process writes
// "kill point NAME hit" to stderr and raises SIGKILL. Unarmed, a kill point costs one relaxed
// atomic load, so they stay compiled into every build (the server the crash tests start is the
// one users run).
//
// kAllKillPoints lists every name in use, so a test can arm each one in turn and check that it is
// reached (tests/reliability/kill_loop_test.cc).
// Thread-safety: any thread.
#pragma once

#include <array>
#include <atomic>
#include <string_view>

namespace strata {

inline constexpr std::array<std::string_view, 10> kAllKillPoints = {
    "write.after_wal_before_memtable",   // group commit: the WAL holds the group, not yet acked
    "memtable.after_new_wal",            // a memtable switch created the next WAL segment
    "flush.after_table_written",         // an L0 table is synced, the manifest does not name it
    "flush.after_manifest",              // the manifest names it, the old WAL is not yet deleted
    "compaction.after_outputs_written",  // outputs synced, the manifest still names the inputs
    "compaction.after_manifest",         // the manifest names the outputs, inputs not deleted
    "manifest.before_write",             // a version edit is about to be appended
    "manifest.after_sync",               // the edit is durable, not yet installed in memory
    "manifest.new_before_current",       // a fresh manifest is written, CURRENT names the old one
    "obsolete.after_delete",             // cleanup removed one obsolete file of several
};

namespace detail {
bool kill_points_armed();
void kill_point_reached(std::string_view name);
}  // namespace detail

}  // namespace strata

#define STRATA_KILL_POINT(name)                                                            \
  do {                                                                                     \
    if (::strata::detail::kill_points_armed()) ::strata::detail::kill_point_reached(name); \
  } while (0)
