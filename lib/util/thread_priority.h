// CPU priority of the calling thread, for background work that should only use CPU time the
// foreground leaves idle (RocksDB's Env::LowerThreadPoolCPUPriority with CpuPriority::kLow).
//
// On Linux a nice value belongs to one thread (setpriority(PRIO_PROCESS, tid, ...)), and the
// scheduler weighs the threads of one process against each other by it: next to two busy nice-0
// threads a nice-19 thread gets about 1.5% of a core, and a whole core when one is idle.
// Raising the nice value needs no privilege; lowering it again needs CAP_SYS_NICE or
// RLIMIT_NICE, so a thread lowered here stays lowered: lower only threads that run nothing else
// (a pool of their own).
//
// Thread-safety: affects the calling thread only.
#pragma once

#include "strata/result.h"

namespace strata {

// The lowest CPU priority for a normal thread (nice 19).
inline constexpr int kLowestNice = 19;

// Sets the calling thread's nice value to `nice` (0..19; never below the current value).
// Errors: invalid_argument for a value outside 0..19; where the kernel refuses, the code of
// setpriority's errno (error_from_errno), also logged.
Result<void> set_current_thread_nice(int nice);

// The calling thread's nice value.
int current_thread_nice();

}  // namespace strata
