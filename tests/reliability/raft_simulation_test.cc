// Randomized simulation of 3- and 5-node Raft clusters (RELIABILITY.md, "Raft simulation"; suite
// reliability, `raft_simulation`).
// Each seed runs a chaos phase — lossy, duplicating, reordering network, partitions, crashes
// that lose unpersisted state, log compaction, random proposals, reads and leadership
// transfers — with every safety invariant checked after every step (sim_harness.h), then heals
// everything and requires convergence: one leader, every node applied the same log, and every
// proposal a leader acknowledged (applied on the node that accepted it) applied everywhere.
//
//   STRATA_SOAK_SECONDS=S runs consecutive seeds for S seconds (default 60: as many seeds as fit
//                         in about a minute; at least kMinSeeds)
//   STRATA_SEED=N         the first seed (default: random, printed)
//   STRATA_RAFT_SEED=N    replays seed N alone, printing its violations
//   STRATA_RAFT_SEEDS=N   runs exactly N seeds from the first one, whatever the time
// Seeds alternate between 5 nodes (odd) and 3 nodes (even); pre-vote and check-quorum are
// switched on and off across seeds.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "tests/unit/raft/sim_harness.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::raft;
using strata::testing::env_u64;

namespace {

constexpr uint64_t kDefaultSeconds = 60;
constexpr uint64_t kMinSeeds = 1000;  // even on a loaded machine
constexpr int kChaosSteps = 10000;
constexpr int kHealRounds = 3000;
constexpr size_t kHealMessagesPerRound = 2000;  // bounds a livelock instead of hanging

struct SimOutcome {
  bool converged = false;
  std::vector<std::string> violations;
  uint64_t committed = 0;
  size_t acked = 0;
  int crashes = 0;
  uint64_t dropped = 0;
  uint64_t early_applied = 0;  // entries applied through Core::take_committed_entries
};

uint64_t pick(Random& rng, const std::vector<uint64_t>& v) { return v[rng.uniform(v.size())]; }

bool converged(sim::Cluster& c, const std::map<std::string, uint64_t>& acked) {
  uint64_t lead = c.leader();
  if (lead == 0 || !c.queue().empty()) return false;
  const Core& l = c.core(lead);
  if (l.log().committed() != l.log().last_index()) return false;
  for (uint64_t id : c.ids()) {
    if (c.node(id).applied_index != l.log().committed()) return false;
  }
  return true;
}

// Prints each node's state: what a failing seed's report needs.
void dump(sim::Cluster& c) {
  for (uint64_t id : c.ids()) {
    const Core& n = c.core(id);
    std::printf("#   node %llu %s term=%llu lead=%llu commit=%llu applied=%llu last=%llu first=%llu\n",
                (unsigned long long)id, to_string(n.role()), (unsigned long long)n.term(),
                (unsigned long long)n.leader(), (unsigned long long)n.log().committed(),
                (unsigned long long)c.node(id).applied_index, (unsigned long long)n.log().last_index(),
                (unsigned long long)n.log().first_index());
    if (n.role() != Role::leader) continue;
    for (uint64_t p : c.ids()) {
      if (const Progress* pr = n.progress(p)) {
        std::printf("#     progress %llu %s match=%llu next=%llu inflight=%zu\n", (unsigned long long)p,
                    to_string(pr->state()), (unsigned long long)pr->match(), (unsigned long long)pr->next(),
                    pr->inflights().count());
      }
    }
  }
}

SimOutcome run_seed(uint64_t seed) {
  Random rng(seed * 0x2545f4914f6cdd1dull + 17);
  std::vector<uint64_t> ids = seed % 2 == 1 ? std::vector<uint64_t>{1, 2, 3, 4, 5} : std::vector<uint64_t>{1, 2, 3};
  bool pre_vote = (seed / 2) % 2 == 0, check_quorum = (seed / 4) % 2 == 0;
  sim::Cluster c(ids, {}, seed, [&](Config& cfg) {
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 2;
    cfg.pre_vote = pre_vote;
    cfg.check_quorum = check_quorum;
    cfg.max_inflight = 4;
    cfg.max_size_per_msg_bytes = 64;  // a few entries per append: exercises pipelining
  });
  // Every other group of four seeds: leaders also apply entries as soon as they commit
  // (Core::take_committed_entries), also while a Ready is outstanding, as lib/replication does.
  uint32_t early_apply = (seed / 8) % 2 == 0 ? 300 : 0;
  c.faults() = {.drop_per_mille = 60,
                .duplicate_per_mille = 20,
                .reorder_window = 8,
                .defer_ready_per_mille = 150,
                .early_apply_per_mille = early_apply};
  std::map<std::string, uint64_t> proposer;  // data -> the leader that accepted it
  std::map<std::string, uint64_t> acked;     // data -> node that applied it as proposer
  c.set_on_apply([&](uint64_t node, const Entry& e) {
    auto it = proposer.find(e.data);
    if (it != proposer.end() && it->second == node) acked.emplace(e.data, node);
  });
  SimOutcome out;
  uint64_t next_proposal = 0, next_read = 0;
  for (int step = 0; step < kChaosSteps; ++step) {
    uint64_t r = rng.uniform(1000), id = pick(rng, ids);
    if (r < 450) {
      c.deliver_one();
    } else if (r < 750) {
      c.tick(id);
    } else if (r < 850) {
      if (c.up(id)) {
        std::string data = "s" + std::to_string(seed) + "-" + std::to_string(next_proposal++);
        bool leader = c.core(id).role() == Role::leader;
        if (c.core(id).propose(data) && leader) proposer[data] = id;
        c.process_ready(id);
      }
    } else if (r < 870) {
      c.read_index(id, "r" + std::to_string(next_read++));
    } else if (r < 900) {
      c.process_ready(id);
    } else if (r < 904) {
      if (c.up(id)) {
        c.crash(id);
        ++out.crashes;
      }
    } else if (r < 935) {
      c.restart(id);
    } else if (r < 945) {
      if (rng.one_in(3)) {
        c.heal();
      } else {
        std::vector<std::vector<uint64_t>> groups(2);
        for (uint64_t n : ids) groups[rng.uniform(2)].push_back(n);
        c.partition(groups);
      }
    } else if (r < 960) {
      c.compact(id, rng.uniform(6));
    } else if (r < 965) {
      if (uint64_t lead = c.leader()) {
        c.core(lead).transfer_leadership(pick(rng, ids));
        c.process_ready(lead);
      }
    }
    c.check_step();
    if (!c.violations().empty()) break;  // the first violation is the interesting one
  }
  // Heal: a reliable network, everyone up, then let the cluster settle.
  c.faults() = {};
  c.heal();
  for (uint64_t id : ids) c.restart(id);
  c.process_all_ready();
  for (int round = 0; round < kHealRounds && c.violations().empty() && !converged(c, acked); ++round) {
    c.stabilize(kHealMessagesPerRound);
    c.tick_all();
  }
  c.stabilize(kHealMessagesPerRound);
  for (uint64_t id : c.ids()) out.early_applied += c.node(id).early_applied;
  out.converged = converged(c, acked);
  if (!out.converged) dump(c);
  for (const auto& [data, node] : acked) {
    for (uint64_t id : ids) {
      bool found = false;
      for (const auto& [index, applied] : c.node(id).state_machine) {
        if (applied == data) {
          found = true;
          break;
        }
      }
      if (!found) {
        out.violations.push_back("acked proposal " + data + " missing on node " + std::to_string(id));
        break;
      }
    }
  }
  out.violations.insert(out.violations.end(), c.violations().begin(), c.violations().end());
  out.committed = c.max_committed();
  out.acked = acked.size();
  out.dropped = c.messages_dropped();
  return out;
}

}  // namespace

TEST_CASE("Raft simulation: safety after every step, convergence after heal (Raft §5, Figure 3)") {
  auto start = std::chrono::steady_clock::now();
  uint64_t first = 0, count = 0;  // count 0: until the deadline
  if (const char* one = std::getenv("STRATA_RAFT_SEED")) {
    first = std::strtoull(one, nullptr, 10);
    count = 1;
  } else {
    first = env_u64("STRATA_SEED", 1 + Random::os_seed() % 1000000000);
    count = env_u64("STRATA_RAFT_SEEDS", 0);
  }
  const auto deadline = start + std::chrono::seconds(env_u64("STRATA_SOAK_SECONDS", kDefaultSeconds));
  std::printf("# first seed=%llu (replay the run: STRATA_SEED=%llu; one seed: STRATA_RAFT_SEED=N)\n",
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(first));
  std::fflush(stdout);
  size_t violations = 0, not_converged = 0, idle = 0, ran = 0;
  uint64_t committed = 0, acked = 0, crashes = 0, early_applied = 0;
  for (uint64_t seed = first;; ++seed) {
    if (count != 0 ? ran >= count : ran >= kMinSeeds && std::chrono::steady_clock::now() >= deadline) break;
    ++ran;
    SimOutcome o = run_seed(seed);
    violations += o.violations.size();
    committed += o.committed;
    acked += o.acked;
    crashes += static_cast<uint64_t>(o.crashes);
    early_applied += o.early_applied;
    if (!o.converged) ++not_converged;
    if (o.committed == 0 || o.acked == 0) ++idle;
    if (!o.violations.empty() || !o.converged || o.committed == 0 || count == 1) {
      std::printf(
          "# seed=%llu nodes=%d converged=%d committed=%llu acked=%zu crashes=%d violations=%zu"
          " (replay: STRATA_RAFT_SEED=%llu)\n",
          static_cast<unsigned long long>(seed), seed % 2 ? 5 : 3, o.converged ? 1 : 0,
          static_cast<unsigned long long>(o.committed), o.acked, o.crashes, o.violations.size(),
          static_cast<unsigned long long>(seed));
      for (size_t i = 0; i < o.violations.size() && i < 10; ++i) {
        std::printf("#   %s\n", o.violations[i].c_str());
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "# seeds=%zu safety_violations=%zu converged=%s committed_total=%llu acked_total=%llu"
      " crashes=%llu early_applied=%llu seconds=%.1f first_seed=%llu last_seed=%llu\n",
      ran, violations, not_converged == 0 ? "all" : std::to_string(not_converged).append("_not").c_str(),
      static_cast<unsigned long long>(committed), static_cast<unsigned long long>(acked),
      static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(early_applied), secs,
      static_cast<unsigned long long>(first), static_cast<unsigned long long>(first + ran - 1));
  std::fflush(stdout);
  CHECK(violations == 0);
  CHECK(not_converged == 0);
  CHECK(idle == 0);  // a run that committed nothing exercised nothing
  CHECK(ran > 0);
  if (ran >= 16) CHECK(early_applied > 0);  // of any 16 consecutive seeds, 8 take entries early
}
