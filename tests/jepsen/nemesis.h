// The nemesis of the Jepsen-style test: on its own thread, one fault at a time, each healed
// before the next:
//   kill      SIGKILL a node (the leader half of the time), keep it down, start it again
//   pause     SIGSTOP a node (the leader half of the time) for 1-3 s, then SIGCONT
//   partition isolate one node: cut both directions between it and every other node through the
//             debug endpoint (POST /v1/debug/link-fault, strata-server --enable-fault-hooks), then heal
// Kinds are drawn as shuffled rounds of all three, so even a short run exercises each kind.
// A seed fixes the sequence of choices (kind, node, durations); the timing of the processes
// around them is not deterministic.
// Thread-safety: run() on one thread; the counters may be read from any thread; heal_all() only
// after run() returned. The Cluster is driven only by this thread while run() executes.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "tests/system/cluster_harness.h"

namespace strata::jepsen {

enum class FaultKind : uint8_t { kill, pause, partition };
std::string_view to_string(FaultKind k);

struct NemesisOptions {
  std::chrono::milliseconds quiet_before_first_fault{3000};  // measures throughput without faults
  std::chrono::milliseconds min_gap{800};                    // healthy time between faults
  std::chrono::milliseconds max_gap{2000};
  std::chrono::milliseconds min_fault{1000};  // how long a fault lasts
  std::chrono::milliseconds max_fault{3000};
};

class Nemesis {
 public:
  Nemesis(testing::Cluster& cluster, uint64_t seed, NemesisOptions options);

  // Injects faults until `stop`; the fault in progress is healed before returning.
  // Runs on: its own thread.
  void run(const std::atomic<bool>& stop);

  // Brings every node back: SIGCONT, restart the dead, clear every link cut. Returns false when
  // a node does not answer within the deadline. REQUIRES: run() is not executing.
  bool heal_all();

  uint64_t faults() const { return faults_.load(); }
  uint64_t injection_failures() const { return injection_failures_.load(); }
  uint64_t count(FaultKind k) const { return counts_[static_cast<size_t>(k)].load(); }
  // now_ns() of the first injected fault, 0 if none yet.
  int64_t first_fault_ns() const { return first_fault_ns_.load(); }
  // One line per fault ("t+12.3s pause node 2 for 1840 ms"), for the failure report.
  std::vector<std::string> journal() const;

 private:
  // Each returns whether the fault was injected (a failed injection is not counted as a fault).
  bool kill_and_restart(uint64_t id, std::chrono::milliseconds down, const std::atomic<bool>& stop);
  bool pause(uint64_t id, std::chrono::milliseconds how_long, const std::atomic<bool>& stop);
  bool partition(uint64_t id, std::chrono::milliseconds how_long, const std::atomic<bool>& stop);
  bool set_cut(uint64_t on, uint64_t to, bool cut);
  bool wait_answering(uint64_t id);
  uint64_t pick_node();
  void note(std::string line);
  std::chrono::milliseconds between(std::chrono::milliseconds lo, std::chrono::milliseconds hi);

  testing::Cluster& cluster_;
  std::mt19937_64 rng_;
  NemesisOptions options_;
  testing::Http http_;
  int64_t start_ns_;
  std::atomic<uint64_t> faults_{0};
  std::atomic<uint64_t> injection_failures_{0};
  std::array<std::atomic<uint64_t>, 3> counts_{};
  std::atomic<int64_t> first_fault_ns_{0};
  mutable std::mutex journal_mu_;
  std::vector<std::string> journal_;
};

}  // namespace strata::jepsen
