// A deterministic in-process Raft cluster for tests: N raft::Cores, each with a MemoryStorage
// (what the Ready loop "persisted"), a toy state machine (index -> entry data), and a simulated
// network that can drop, duplicate, reorder and partition messages. Crash-restarts keep only the
// storage and the applied state machine; everything a Core held in memory is lost.
//
// Every persisted entry, applied entry, commit and election is checked against cluster-wide
// records, so the safety properties of Raft (Figure 3 of the paper) are verified as the run goes:
//   election safety     at most one leader per term
//   log matching        an (index, term) pair always names the same entry and predecessor term
//   leader completeness a new leader of term T holds every entry committed in a term < T
//   state machine safety no two nodes apply different entries at one index
//   commit monotonic    a node's commit index (in memory, and persisted) never decreases
//   read index          a ReadState's index is >= every index committed before the read began
// Violations are collected as strings in violations().
//
// Thread-safety: none — single-threaded tests.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lib/raft/core.h"
#include "lib/raft/storage.h"
#include "lib/util/random.h"

namespace strata::raft::sim {

struct NetworkFaults {
  uint32_t drop_per_mille = 0;
  uint32_t duplicate_per_mille = 0;
  size_t reorder_window = 1;  // deliver one of the first N queued messages (1 = FIFO)
  // A node's Ready is left unprocessed (so a crash loses it) with this probability after a
  // delivery or tick; it is processed at its next event or by process_ready().
  uint32_t defer_ready_per_mille = 0;
  // A leader applies committed entries without waiting for a Ready, as lib/replication's Node
  // does (Core::take_committed_entries, up to its durable log): after a delivery with this
  // probability, and in process_ready with this probability one message queued for the node is
  // delivered while its Ready is outstanding (between the persist and advance()), followed by
  // such a take.
  uint32_t early_apply_per_mille = 0;
};

struct Node {
  uint64_t id = 0;
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<Core> core;                     // null while crashed
  std::map<uint64_t, std::string> state_machine;  // applied index -> entry data; survives crashes
  uint64_t applied_index = 0;
  std::vector<ReadState> read_states;
  uint64_t commit_seen = 0;        // this incarnation's highest in-memory commit index
  uint64_t persisted_commit = 0;   // highest commit index persisted, across incarnations
  uint64_t leader_term_seen = 0;   // the last term in which we saw this node lead
  bool ready_outstanding = false;  // inside process_ready: no nested Ready
  uint64_t early_applied = 0;      // entries applied through take_committed_entries
  int restarts = 0;
};

class Cluster {
 public:
  // Voters and learners are the initial configuration. `tweak` may adjust each node's Config.
  Cluster(std::vector<uint64_t> voters, std::vector<uint64_t> learners, uint64_t seed,
          std::function<void(Config&)> tweak = {});

  Node& node(uint64_t id) { return nodes_.at(id); }
  Core& core(uint64_t id) { return *nodes_.at(id).core; }
  std::vector<uint64_t> ids() const;
  bool up(uint64_t id) const { return nodes_.at(id).core != nullptr; }

  // Persists, sends, applies and advances one Ready of the node (no-op without one).
  void process_ready(uint64_t id);
  void process_all_ready();
  // Steps a message into its destination now (if it is up and reachable) and processes Readies.
  void deliver(const Message& m);
  // Delivers queued messages (and the messages they cause) until none is left or max_messages.
  // Returns the number delivered.
  size_t stabilize(size_t max_messages = 100000);
  // Delivers one queued message chosen within the reorder window; false if none is queued.
  bool deliver_one();
  void tick(uint64_t id);
  void tick_all();
  // Ticks every node and stabilizes until `pred` holds, at most max_rounds rounds.
  bool run_until(const std::function<bool()>& pred, int max_rounds = 1000);
  // Campaigns at `id` and stabilizes; returns the leader afterwards (0 if none).
  uint64_t elect(uint64_t id);

  // Adds a node to the simulation (e.g. before add_learner): it starts empty, not as a voter.
  void add_node(uint64_t id);
  // Replaces the node's persisted log and hard state (entries with terms[i] at index i + 1) and
  // restarts it: sets up the divergent logs of the paper's figures.
  void set_log(uint64_t id, const std::vector<uint64_t>& terms, HardState hs);
  void crash(uint64_t id);
  void restart(uint64_t id);
  // Partitions: messages between different groups are dropped. heal() joins everything.
  void partition(const std::vector<std::vector<uint64_t>>& groups);
  void isolate(uint64_t id);
  void heal();
  bool connected(uint64_t a, uint64_t b) const;
  // Drops every message matching the filter when it is sent, until cleared (called once per
  // message, so it may count).
  void set_drop_filter(std::function<bool(const Message&)> f) { drop_filter_ = std::move(f); }
  NetworkFaults& faults() { return faults_; }
  // Called for every entry a node applies (after the safety checks).
  void set_on_apply(std::function<void(uint64_t, const Entry&)> f) { on_apply_ = std::move(f); }
  std::vector<Message>& queue() { return queue_; }

  // Checks the per-step invariants (election safety, commit monotonic, leader completeness).
  void check_step();
  // The up node that leads with the highest term, or 0.
  uint64_t leader() const;
  // Snapshot-and-compact the node's storage at its applied index, keeping `keep` entries.
  void compact(uint64_t id, uint64_t keep);
  void read_index(uint64_t id, std::string ctx);

  const std::vector<std::string>& violations() const { return violations_; }
  uint64_t max_committed() const { return commit_term_.empty() ? 0 : commit_term_.rbegin()->first; }
  uint64_t messages_delivered() const { return delivered_; }
  uint64_t messages_dropped() const { return dropped_; }

 private:
  Config make_config(uint64_t id);
  void send(Message m);
  void persist(Node& n, const Ready& rd);
  void apply(Node& n, const Entry& e);
  void install_snapshot(Node& n, const Snapshot& snap);
  void check_entry(Node& n, const Entry& e);
  void check_leader_completeness(Node& n);
  void violation(std::string what);
  void maybe_process_ready(uint64_t id);
  // Applies what Core::take_committed_entries(durable) hands out.
  void take_committed(Node& n, uint64_t durable);

  std::vector<uint64_t> initial_voters_, initial_learners_;
  std::function<void(Config&)> tweak_;
  std::map<uint64_t, Node> nodes_;
  std::map<uint64_t, int> group_;  // node -> partition group
  std::vector<Message> queue_;
  std::function<bool(const Message&)> drop_filter_;
  std::function<void(uint64_t, const Entry&)> on_apply_;
  NetworkFaults faults_;
  Random rng_;
  uint64_t seed_;
  bool trace_;  // STRATA_RAFT_TRACE set: print every delivered message to stderr
  uint64_t delivered_ = 0, dropped_ = 0;

  // Cluster-wide records for the invariants.
  std::map<uint64_t, uint64_t> leader_of_term_;
  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::string, uint64_t>> entries_;  // (i,t) -> (data, prev term)
  std::map<uint64_t, std::pair<uint64_t, std::string>> applied_;                       // index -> (term, data)
  std::map<uint64_t, uint64_t> commit_term_;    // index -> lowest term whose leader committed it
  std::map<uint64_t, uint64_t> committed_at_;   // index -> term of the entry committed there
  std::map<std::string, uint64_t> read_floor_;  // read ctx -> max committed when it was issued
  std::vector<std::string> violations_;
};

// The state machine image a snapshot carries: every applied (index, data) pair.
std::string encode_state_machine(const std::map<uint64_t, std::string>& sm, uint64_t upto);
bool decode_state_machine(std::string_view data, std::map<uint64_t, std::string>* sm);

}  // namespace strata::raft::sim
