#include "tests/unit/raft/sim_harness.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "lib/util/assert.h"
#include "lib/util/coding.h"

namespace strata::raft::sim {

std::string encode_state_machine(const std::map<uint64_t, std::string>& sm, uint64_t upto) {
  std::string out;
  for (const auto& [index, data] : sm) {
    if (index > upto) break;
    put_varint64(&out, index);
    put_length_prefixed(&out, data);
  }
  return out;
}

bool decode_state_machine(std::string_view data, std::map<uint64_t, std::string>* sm) {
  sm->clear();
  while (!data.empty()) {
    uint64_t index = 0;
    std::string_view v;
    if (!get_varint64(&data, &index) || !get_length_prefixed(&data, &v)) return false;
    (*sm)[index] = std::string(v);
  }
  return true;
}

Cluster::Cluster(std::vector<uint64_t> voters, std::vector<uint64_t> learners, uint64_t seed,
                 std::function<void(Config&)> tweak)
    : initial_voters_(std::move(voters)),
      initial_learners_(std::move(learners)),
      tweak_(std::move(tweak)),
      rng_(seed),
      seed_(seed),
      trace_(std::getenv("STRATA_RAFT_TRACE") != nullptr) {
  for (uint64_t id : initial_voters_) add_node(id);
  for (uint64_t id : initial_learners_) add_node(id);
}

Config Cluster::make_config(uint64_t id) {
  Config c;
  c.id = id;
  c.peers = initial_voters_;
  c.learners = initial_learners_;
  c.storage = nodes_.at(id).storage.get();
  c.seed = seed_ * 1000003 + id * 7919 + static_cast<uint64_t>(nodes_.at(id).restarts);
  // The state machine may be ahead of the persisted commit index (entries taken early are
  // applied before the hard state that commits them is persisted), and Core refuses an applied
  // index past the commit index it restores: as lib/replication's Node, pass at most that; the
  // entries past it are delivered again and apply() checks that they are the same.
  const Node& n = nodes_.at(id);
  c.applied = std::min(n.applied_index, std::max(n.storage->hard_state().commit, n.storage->first_index() - 1));
  if (tweak_) tweak_(c);
  return c;
}

void Cluster::add_node(uint64_t id) {
  Node& n = nodes_[id];
  n.id = id;
  n.storage = std::make_unique<MemoryStorage>();
  // A node added later than the bootstrap starts with no configuration of its own; it learns it
  // from the leader's snapshot or log. We give it the bootstrap config like etcd's "join".
  n.core = std::make_unique<Core>(make_config(id));
  group_[id] = 0;
}

std::vector<uint64_t> Cluster::ids() const {
  std::vector<uint64_t> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

void Cluster::violation(std::string what) {
  if (violations_.size() < 100) violations_.push_back(std::move(what));
}

// ---- The Ready loop ----

void Cluster::process_ready(uint64_t id) {
  Node& n = nodes_.at(id);
  if (!n.core || n.ready_outstanding || !n.core->has_ready()) return;
  Ready rd = n.core->ready();
  n.ready_outstanding = true;
  // What this node's log held durably before this Ready (its append may replace a suffix).
  uint64_t durable = n.storage->last_index();
  if (!rd.entries.empty()) durable = std::min(durable, rd.entries.front().index - 1);
  persist(n, rd);
  for (const Message& m : rd.messages) send(m);  // only after persisting (core.h)
  for (const Entry& e : rd.committed_entries) apply(n, e);
  if (faults_.early_apply_per_mille > 0 && rng_.uniform(1000) < faults_.early_apply_per_mille) {
    // An acknowledgement arriving while the Ready is outstanding commits more entries.
    auto it = std::find_if(queue_.begin(), queue_.end(), [&](const Message& m) { return m.to == id; });
    if (it != queue_.end()) {
      Message m = std::move(*it);
      queue_.erase(it);
      deliver(m);  // no nested Ready: ready_outstanding
    }
    if (n.core) {
      uint64_t before = n.early_applied;
      take_committed(n, durable);
      // lib/replication queues this Ready's committed entries past `durable` only after its
      // persist, so it relies on a take finding nothing when there are any.
      if (n.early_applied != before && !rd.committed_entries.empty() && rd.committed_entries.back().index > durable) {
        violation("node " + std::to_string(n.id) + " took entries early past a Ready's non-durable commits");
      }
    }
  }
  n.ready_outstanding = false;
  for (const ReadState& rs : rd.read_states) {
    auto it = read_floor_.find(rs.context);
    if (it != read_floor_.end() && rs.index < it->second) {
      violation("read index " + std::to_string(rs.index) + " below committed " + std::to_string(it->second) + " for " +
                rs.context);
    }
    n.read_states.push_back(rs);
  }
  n.core->advance(rd);
}

void Cluster::maybe_process_ready(uint64_t id) {
  if (faults_.defer_ready_per_mille > 0 && rng_.uniform(1000) < faults_.defer_ready_per_mille) return;
  process_ready(id);
}

void Cluster::process_all_ready() {
  for (auto& [id, n] : nodes_) process_ready(id);
}

void Cluster::persist(Node& n, const Ready& rd) {
  if (rd.snapshot) {
    auto r = n.storage->apply_snapshot(*rd.snapshot);
    if (!r) violation("storage refused snapshot at " + std::to_string(rd.snapshot->metadata.index));
    install_snapshot(n, *rd.snapshot);
  }
  n.storage->append(rd.entries);
  for (const Entry& e : rd.entries) check_entry(n, e);
  if (rd.hard_state) {
    if (rd.hard_state->commit < n.persisted_commit) {
      violation("node " + std::to_string(n.id) + " persisted commit decreased");
    }
    n.persisted_commit = std::max(n.persisted_commit, rd.hard_state->commit);
    n.storage->set_hard_state(*rd.hard_state);
  }
}

// Log matching (Raft §5.3): (index, term) identifies the entry and its predecessor's term.
void Cluster::check_entry(Node& n, const Entry& e) {
  auto prev = n.storage->term(e.index - 1);
  uint64_t prev_term = prev ? *prev : UINT64_MAX;
  std::string data = std::string(1, static_cast<char>(e.type)) + e.data;
  auto [it, inserted] = entries_.emplace(std::make_pair(e.index, e.term), std::make_pair(data, prev_term));
  if (inserted) return;
  if (it->second.first != data) {
    violation("log matching: node " + std::to_string(n.id) + " has a different entry at index " +
              std::to_string(e.index) + " term " + std::to_string(e.term));
  }
  if (prev_term != UINT64_MAX && it->second.second != UINT64_MAX && it->second.second != prev_term) {
    violation("log matching: node " + std::to_string(n.id) + " predecessor term differs before " +
              std::to_string(e.index));
  }
}

// State machine safety (Raft §5.4.3).
void Cluster::apply(Node& n, const Entry& e) {
  if (e.index <= n.applied_index) {
    auto it = n.state_machine.find(e.index);
    if (it != n.state_machine.end() && it->second != e.data) {
      violation("node " + std::to_string(n.id) + " re-applied a different entry at " + std::to_string(e.index));
    }
    return;
  }
  if (e.index != n.applied_index + 1) {
    violation("node " + std::to_string(n.id) + " applied " + std::to_string(e.index) + " after " +
              std::to_string(n.applied_index));
  }
  auto [it, inserted] = applied_.emplace(e.index, std::make_pair(e.term, e.data));
  if (!inserted && (it->second.first != e.term || it->second.second != e.data)) {
    violation("state machine safety: node " + std::to_string(n.id) + " applied a different entry at " +
              std::to_string(e.index));
  }
  n.state_machine[e.index] = e.data;
  n.applied_index = e.index;
  if (on_apply_) on_apply_(n.id, e);
}

void Cluster::install_snapshot(Node& n, const Snapshot& snap) {
  std::map<uint64_t, std::string> sm;
  if (!decode_state_machine(snap.data, &sm)) {
    violation("undecodable snapshot");
    return;
  }
  for (const auto& [index, data] : sm) {
    auto it = applied_.find(index);
    if (it != applied_.end() && it->second.second != data) {
      violation("state machine safety: snapshot on node " + std::to_string(n.id) + " disagrees at " +
                std::to_string(index));
    }
  }
  n.state_machine = std::move(sm);
  n.applied_index = snap.metadata.index;
}

// ---- Network ----

bool Cluster::connected(uint64_t a, uint64_t b) const {
  auto ga = group_.find(a), gb = group_.find(b);
  return ga != group_.end() && gb != group_.end() && ga->second == gb->second;
}

void Cluster::send(Message m) {
  if (!connected(m.from, m.to) || (drop_filter_ && drop_filter_(m)) ||
      (faults_.drop_per_mille > 0 && rng_.uniform(1000) < faults_.drop_per_mille)) {
    ++dropped_;
    return;
  }
  if (faults_.duplicate_per_mille > 0 && rng_.uniform(1000) < faults_.duplicate_per_mille) {
    queue_.push_back(m);
  }
  queue_.push_back(std::move(m));
}

void Cluster::deliver(const Message& m) {
  auto it = nodes_.find(m.to);
  if (it == nodes_.end() || !it->second.core || !connected(m.from, m.to)) {
    ++dropped_;
    return;
  }
  ++delivered_;
  if (trace_)
    std::fprintf(stderr, "deliver %s %llu->%llu term=%llu idx=%llu lt=%llu commit=%llu rej=%d hint=%llu n=%zu\n",
                 to_string(m.type), (unsigned long long)m.from, (unsigned long long)m.to, (unsigned long long)m.term,
                 (unsigned long long)m.index, (unsigned long long)m.log_term, (unsigned long long)m.commit, m.reject,
                 (unsigned long long)m.reject_hint, m.entries.size());
  uint64_t dropped_before = it->second.core->dropped_total();
  (void)it->second.core->step(m);
  Node& n = it->second;
  // Every message here comes from a correct node: validation may drop only what a removed node
  // that does not know of its removal still sends (DropReason::not_a_member).
  if (n.core->dropped_total() != dropped_before && n.core->last_drop() != DropReason::not_a_member) {
    violation(std::string("valid message dropped as ") + to_string(n.core->last_drop()) + ": " + to_string(m.type) +
              " " + std::to_string(m.from) + "->" + std::to_string(m.to) + " term=" + std::to_string(m.term) +
              " index=" + std::to_string(m.index) + " commit=" + std::to_string(m.commit));
  }
  if (!n.ready_outstanding && faults_.early_apply_per_mille > 0 && rng_.uniform(1000) < faults_.early_apply_per_mille) {
    take_committed(n, n.storage->last_index());
  }
  maybe_process_ready(m.to);
}

void Cluster::take_committed(Node& n, uint64_t durable) {
  auto ents = n.core->take_committed_entries(durable);
  for (const Entry& e : ents) {
    if (e.index > durable) violation("node " + std::to_string(n.id) + " took a non-durable entry early");
    if (e.type == EntryType::conf_change) violation("a conf change was taken early");
    apply(n, e);
  }
  n.early_applied += ents.size();
}

bool Cluster::deliver_one() {
  if (queue_.empty()) return false;
  size_t window = std::min(queue_.size(), std::max<size_t>(faults_.reorder_window, 1));
  size_t pos = window == 1 ? 0 : rng_.uniform(window);
  Message m = std::move(queue_[pos]);
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(pos));
  deliver(m);
  return true;
}

size_t Cluster::stabilize(size_t max_messages) {
  process_all_ready();
  size_t n = 0;
  while (n < max_messages && deliver_one()) {
    ++n;
    check_step();
  }
  process_all_ready();
  check_step();
  return n;
}

void Cluster::tick(uint64_t id) {
  Node& n = nodes_.at(id);
  if (!n.core) return;
  n.core->tick();
  maybe_process_ready(id);
}

void Cluster::tick_all() {
  for (auto& [id, n] : nodes_) tick(id);
}

bool Cluster::run_until(const std::function<bool()>& pred, int max_rounds) {
  for (int i = 0; i < max_rounds; ++i) {
    stabilize();
    if (pred()) return true;
    tick_all();
  }
  stabilize();
  return pred();
}

uint64_t Cluster::elect(uint64_t id) {
  // A second attempt covers a first election lost to voters that already voted in that term.
  for (int attempt = 0; attempt < 3 && (leader() != id); ++attempt) {
    core(id).campaign();
    process_ready(id);
    stabilize();
  }
  return leader();
}

void Cluster::crash(uint64_t id) {
  Node& n = nodes_.at(id);
  n.core.reset();  // unpersisted entries, hard state and queued output are lost
  n.commit_seen = 0;
}

void Cluster::set_log(uint64_t id, const std::vector<uint64_t>& terms, HardState hs) {
  crash(id);
  Node& n = nodes_.at(id);
  n.storage = std::make_unique<MemoryStorage>();
  std::vector<Entry> ents;
  for (size_t i = 0; i < terms.size(); ++i) {
    ents.push_back(Entry{.term = terms[i], .index = i + 1, .data = "t" + std::to_string(terms[i])});
  }
  n.storage->append(ents);
  n.storage->set_hard_state(hs);
  restart(id);
}

void Cluster::restart(uint64_t id) {
  Node& n = nodes_.at(id);
  if (n.core) return;
  ++n.restarts;
  n.core = std::make_unique<Core>(make_config(id));
  n.commit_seen = n.core->log().committed();
}

void Cluster::partition(const std::vector<std::vector<uint64_t>>& groups) {
  for (auto& [id, g] : group_) g = -1 - static_cast<int>(id);  // alone unless listed
  for (size_t i = 0; i < groups.size(); ++i) {
    for (uint64_t id : groups[i]) group_[id] = static_cast<int>(i);
  }
}

void Cluster::isolate(uint64_t id) {
  for (auto& [other, g] : group_) g = 0;
  group_[id] = 1;
}

void Cluster::heal() {
  for (auto& [id, g] : group_) g = 0;
}

// ---- Invariants ----

uint64_t Cluster::leader() const {
  uint64_t best = 0, best_term = 0;
  for (const auto& [id, n] : nodes_) {
    if (n.core && n.core->role() == Role::leader && n.core->term() >= best_term) {
      best = id;
      best_term = n.core->term();
    }
  }
  return best;
}

void Cluster::check_step() {
  for (auto& [id, n] : nodes_) {
    if (!n.core) continue;
    const Core& c = *n.core;
    uint64_t committed = c.log().committed();
    if (committed < n.commit_seen) {
      violation("node " + std::to_string(id) + " commit index decreased");
    }
    if (c.role() == Role::leader) {
      // Election safety (Raft §5.2).
      auto [it, inserted] = leader_of_term_.emplace(c.term(), id);
      if (!inserted && it->second != id) {
        violation("election safety: nodes " + std::to_string(it->second) + " and " + std::to_string(id) +
                  " both lead term " + std::to_string(c.term()));
      }
      if (n.leader_term_seen != c.term()) {
        n.leader_term_seen = c.term();
        check_leader_completeness(n);
      }
      for (uint64_t i = n.commit_seen + 1; i <= committed; ++i) {
        auto t = c.log().term(i);
        if (!t) continue;
        auto [ct, fresh] = commit_term_.emplace(i, c.term());
        if (!fresh) ct->second = std::min(ct->second, c.term());
        auto [ca, fresh2] = committed_at_.emplace(i, *t);
        if (!fresh2 && ca->second != *t) {
          violation("two leaders committed different terms at index " + std::to_string(i));
        }
      }
    }
    n.commit_seen = std::max(n.commit_seen, committed);
  }
}

// Leader completeness (Raft §5.4): entries committed in earlier terms are in the new leader's log.
void Cluster::check_leader_completeness(Node& n) {
  const Core& c = *n.core;
  uint64_t first = c.log().first_index();
  for (auto it = commit_term_.lower_bound(first); it != commit_term_.end(); ++it) {
    if (it->second >= c.term()) continue;
    auto t = c.log().term(it->first);
    if (!t || *t != committed_at_.at(it->first)) {
      violation("leader completeness: leader " + std::to_string(n.id) + " of term " + std::to_string(c.term()) +
                " lacks committed index " + std::to_string(it->first));
      return;
    }
  }
}

void Cluster::compact(uint64_t id, uint64_t keep) {
  Node& n = nodes_.at(id);
  if (!n.core) return;
  // Not past the persisted commit index (entries taken early are applied before it is
  // persisted): a restart must find the log's start at or below it, as in lib/replication.
  uint64_t at = std::min(n.applied_index, n.storage->hard_state().commit);
  if (at <= n.storage->first_index() || at > n.storage->last_index()) return;
  auto snap = n.storage->snapshot();
  if (snap && snap->metadata.index >= at) return;
  auto r = n.storage->create_snapshot(at, n.core->conf_state(), encode_state_machine(n.state_machine, at));
  STRATA_ASSERT(r.has_value());
  uint64_t cut = at > keep ? at - keep : 0;
  if (cut > n.storage->first_index()) (void)n.storage->compact(cut);
}

void Cluster::read_index(uint64_t id, std::string ctx) {
  Node& n = nodes_.at(id);
  if (!n.core) return;
  read_floor_[ctx] = max_committed();
  n.core->read_index(std::move(ctx));
  process_ready(id);
}

}  // namespace strata::raft::sim
