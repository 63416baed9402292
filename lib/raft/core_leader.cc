// raft::Core, leader side: replication (Raft §5.3), commitment (§5.4.2), heartbeats and
// check-quorum (thesis §9.6), InstallSnapshot sending (§7), ReadIndex (thesis §6.4),
// leadership transfer (thesis §3.10) and membership changes (thesis §4.1).
#include <algorithm>

#include "lib/raft/codec.h"
#include "lib/raft/core.h"
#include "lib/raft/quorum.h"
#include "lib/util/assert.h"

// Messages are built with designated initializers that name only the fields their type uses
// (messages.h); the others keep their zero defaults on purpose. (The build already passes
// -Wno-missing-field-initializers to g++ for the same reason.)
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wmissing-designated-field-initializers"
#endif

namespace strata::raft {

Result<void> Core::step_leader(Message m) {
  if (m.type == MessageType::prop) {
    if (m.entries.empty()) return make_error_code(Errc::invalid_argument);
    // Thesis §3.10: proposals stop during a transfer; a removed leader takes none either.
    if (lead_transferee_ != kNone || !promotable()) return make_error_code(Errc::not_leader);
    for (Entry& e : m.entries) {
      // Membership changes only enter through propose_conf_change (one at a time).
      if (e.type != EntryType::normal) return make_error_code(Errc::invalid_argument);
    }
    append_entries(std::move(m.entries));
    bcast_append();
    return ok();
  }
  if (m.type == MessageType::read_index) {
    handle_read_index(std::move(m));
    return ok();
  }
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return ok();  // not (or no longer) a member
  switch (m.type) {
    case MessageType::app_resp: handle_append_response(m, it->second); break;
    case MessageType::heartbeat_resp: handle_heartbeat_response(m, it->second); break;
    default: break;
  }
  return ok();
}

void Core::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    // Thesis §9.6: a leader that has not heard from a quorum for an election timeout steps
    // down, so that clients find the real leader and its lease-based vote denial is sound.
    if (check_quorum_ && !quorum_active()) {
      become_follower(term_, kNone);
      return;
    }
    abort_leader_transfer();  // thesis §3.10: the transfer did not finish within a timeout
  }
  for (auto& [id, pr] : progress_) {
    // A snapshot that was neither acknowledged nor reported within an election timeout is
    // presumed lost: probe again (which resends it if still needed).
    if (pr.state() == ProgressState::snapshot && pr.tick_snapshot() >= election_timeout_) {
      pr.become_snapshot(0);
      pr.become_probe();
    }
  }
  if (heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    bcast_heartbeat();
  }
}

bool Core::quorum_active() {
  std::map<uint64_t, bool> active;
  for (auto& [id, pr] : progress_) {
    if (id == id_) {
      active[id] = true;
      continue;
    }
    if (pr.recent_active()) active[id] = true;
    pr.set_recent_active(false);
  }
  return vote_result(conf_.voters, active) == VoteResult::won;
}

bool Core::append_entries(std::vector<Entry> ents) {
  uint64_t li = log_.last_index();
  for (size_t i = 0; i < ents.size(); ++i) {
    ents[i].term = term_;
    ents[i].index = li + 1 + i;
  }
  li = log_.append(ents);
  // The leader's own log counts toward the quorum at once (see the persistence rule in core.h).
  progress_.at(id_).maybe_update(li);
  maybe_commit();
  return true;
}

// Raft §5.3 / §5.4.2 (Figure 8): commit the largest index a majority holds, but only if it is
// from the current term; earlier terms' entries are then committed indirectly.
bool Core::maybe_commit() {
  uint64_t mci = committed_index(conf_.voters, [this](uint64_t id) {
    auto it = progress_.find(id);
    return it == progress_.end() ? 0 : it->second.match();
  });
  if (!log_.maybe_commit(mci, term_)) return false;
  release_pending_read_index();
  return true;
}

bool Core::maybe_send_append(uint64_t to, bool send_if_empty) {
  Progress& pr = progress_.at(to);
  if (pr.is_paused()) return false;
  auto prev_term = log_.term(pr.next() - 1);
  auto ents = log_.entries(pr.next(), max_msg_size_bytes_);
  if (!prev_term || !ents) return send_snapshot(to, pr);  // compacted: Raft §7
  if (ents->empty() && !send_if_empty) return false;
  Message m{
      .type = MessageType::app, .to = to, .log_term = *prev_term, .index = pr.next() - 1, .commit = log_.committed()};
  m.entries = std::move(*ents);
  if (pr.state() == ProgressState::replicate && !m.entries.empty()) {
    uint64_t last = m.entries.back().index;
    pr.optimistic_update(last);
    pr.inflights().add(last);
  } else if (pr.state() == ProgressState::probe) {
    pr.set_probe_sent(true);  // one probe per heartbeat interval or response
  }
  send(std::move(m));
  return true;
}

bool Core::send_snapshot(uint64_t to, Progress& pr) {
  auto snap = log_.snapshot();
  if (!snap) return false;  // not available yet: retried on a later heartbeat response
  STRATA_ASSERT_MSG(!snap->empty(), "log compacted but there is no snapshot");
  pr.become_snapshot(snap->metadata.index);
  Message m{.type = MessageType::snap, .to = to};
  m.snapshot = std::move(*snap);
  send(std::move(m));
  return true;
}

void Core::bcast_append() {
  for (auto& [id, pr] : progress_) {
    if (id != id_) maybe_send_append(id, true);
  }
}

void Core::bcast_heartbeat() {
  std::string ctx = read_only_.last_pending_context();
  for (auto& [id, pr] : progress_) {
    if (id != id_) send_heartbeat(id, ctx);
  }
}

void Core::send_heartbeat(uint64_t to, const std::string& ctx) {
  // Never more than the follower's match: it may not hold (or may disagree on) later entries.
  uint64_t commit = std::min(progress_.at(to).match(), log_.committed());
  send(Message{.type = MessageType::heartbeat, .to = to, .commit = commit, .context = ctx});
}

void Core::handle_append_response(const Message& m, Progress& pr) {
  pr.set_recent_active(true);
  if (m.reject) {
    // Fast backtracking (see core.h): skip whole terms the follower cannot match.
    uint64_t next_probe = m.reject_hint;
    if (m.log_term > 0) next_probe = log_.find_conflict_by_term(m.reject_hint, m.log_term);
    if (pr.maybe_decr_to(m.index, next_probe)) {
      if (pr.state() == ProgressState::replicate) pr.become_probe();
      maybe_send_append(m.from, true);
    }
    return;
  }
  bool was_paused = pr.is_paused();
  if (!pr.maybe_update(m.index)) return;
  switch (pr.state()) {
    case ProgressState::probe: pr.become_replicate(); break;
    case ProgressState::snapshot:
      if (pr.match() + 1 >= log_.first_index()) {
        pr.become_probe();
        pr.become_replicate();
      }
      break;
    case ProgressState::replicate: pr.inflights().free_le(m.index); break;
  }
  if (maybe_commit()) {
    bcast_append();  // tell followers the new commit index
  } else if (was_paused) {
    maybe_send_append(m.from, true);
  }
  while (maybe_send_append(m.from, false)) {
  }
  if (m.from == lead_transferee_ && pr.match() == log_.last_index()) {
    send(Message{.type = MessageType::timeout_now, .to = m.from});  // thesis §3.10
  }
}

void Core::handle_heartbeat_response(const Message& m, Progress& pr) {
  pr.set_recent_active(true);
  pr.set_probe_sent(false);
  // Lost appends would otherwise keep a full window closed forever.
  if (pr.state() == ProgressState::replicate && pr.inflights().full()) pr.inflights().free_first_one();
  if (pr.match() < log_.last_index() || pr.state() == ProgressState::probe) {
    maybe_send_append(m.from, true);
  }
  if (m.context.empty()) return;
  // Thesis §6.4 step 3: a quorum answered a heartbeat sent after the read arrived.
  const std::set<uint64_t>* acks = read_only_.recv_ack(m.from, m.context);
  if (acks == nullptr) return;
  std::map<uint64_t, bool> votes{{id_, true}};
  for (uint64_t id : *acks) votes[id] = true;
  if (vote_result(conf_.voters, votes) != VoteResult::won) return;
  for (const ReadIndexRequest& req : read_only_.advance(m.context)) {
    respond_read_index(req.request, req.index);
  }
}

bool Core::committed_entry_in_current_term() const { return log_.term_or_zero(log_.committed()) == term_; }

// Thesis §6.4: record the commit index as the read index, then confirm leadership.
void Core::handle_read_index(Message m) {
  if (m.context.empty()) return;
  if (!committed_entry_in_current_term()) {
    // Step 1: the commit index is only known to be current once this term committed an entry.
    if (pending_read_index_.size() < kMaxPendingReadIndex) pending_read_index_.push_back(std::move(m));
    return;
  }
  if (conf_.voters.size() == 1) {
    respond_read_index(m, log_.committed());
    return;
  }
  std::string ctx = m.context;
  if (read_only_.add_request(log_.committed(), std::move(m))) bcast_heartbeat();
}

void Core::release_pending_read_index() {
  if (pending_read_index_.empty() || !committed_entry_in_current_term()) return;
  std::vector<Message> pending = std::move(pending_read_index_);
  pending_read_index_.clear();
  for (Message& m : pending) handle_read_index(std::move(m));
}

void Core::respond_read_index(const Message& req, uint64_t index) {
  if (req.from == id_) {
    read_states_.push_back(ReadState{index, req.context});
    return;
  }
  send(Message{.type = MessageType::read_index_resp, .to = req.from, .index = index, .context = req.context});
}

void Core::transfer_leadership(uint64_t to) {
  if (role_ != Role::leader || to == id_ || to == lead_transferee_) return;
  auto it = progress_.find(to);
  if (it == progress_.end() || it->second.is_learner()) return;
  lead_transferee_ = to;
  election_elapsed_ = 0;  // the transfer must finish within one election timeout
  if (it->second.match() == log_.last_index()) {
    send(Message{.type = MessageType::timeout_now, .to = to});
  } else {
    maybe_send_append(to, true);
  }
}

void Core::report_snapshot(uint64_t to, bool success) {
  if (role_ != Role::leader) return;
  auto it = progress_.find(to);
  if (it == progress_.end() || it->second.state() != ProgressState::snapshot) return;
  Progress& pr = it->second;
  if (!success) pr.become_snapshot(0);  // forget the pending snapshot: it never arrived
  pr.become_probe();
  pr.set_probe_sent(true);  // wait for the next heartbeat response before probing
}

Result<void> Core::propose_conf_change(ConfChange cc) {
  if (role_ != Role::leader || lead_transferee_ != kNone) return make_error_code(Errc::not_leader);
  if (pending_conf_index_ > log_.applied()) return make_error_code(Errc::busy);
  bool voter = conf_.is_voter(cc.node_id), learner = conf_.is_learner(cc.node_id);
  bool valid = cc.node_id != kNone;
  switch (cc.type) {
    case ConfChangeType::add_voter: valid = valid && !voter; break;
    case ConfChangeType::add_learner: valid = valid && !learner && cc.node_id != id_; break;
    case ConfChangeType::remove: valid = valid && (voter || learner) && !(voter && conf_.voters.size() == 1); break;
  }
  if (!valid) return make_error_code(Errc::invalid_argument);
  append_entries({Entry{.type = EntryType::conf_change, .data = encode_conf_change(cc)}});
  pending_conf_index_ = log_.last_index();
  bcast_append();
  return ok();
}

// Thesis §4.1: the new configuration takes effect here, when its entry is applied.
void Core::apply_conf_change(const ConfChange& cc) {
  auto erase = [](std::vector<uint64_t>* v, uint64_t id) { v->erase(std::remove(v->begin(), v->end(), id), v->end()); };
  auto insert = [](std::vector<uint64_t>* v, uint64_t id) {
    v->insert(std::upper_bound(v->begin(), v->end(), id), id);
  };
  ConfState next = conf_;
  erase(&next.voters, cc.node_id);
  erase(&next.learners, cc.node_id);
  if (cc.type == ConfChangeType::add_voter) insert(&next.voters, cc.node_id);
  if (cc.type == ConfChangeType::add_learner) insert(&next.learners, cc.node_id);
  if (next.voters.empty()) return;  // never reachable through propose_conf_change
  conf_ = std::move(next);
  // Keep existing progress, add new members, drop removed ones.
  for (auto it = progress_.begin(); it != progress_.end();) {
    bool member = conf_.is_voter(it->first) || conf_.is_learner(it->first);
    it = member ? std::next(it) : progress_.erase(it);
  }
  auto track = [&](uint64_t id, bool is_learner) {
    auto [it, inserted] = progress_.emplace(id, Progress(log_.last_index() + 1, max_inflight_, is_learner));
    it->second.set_learner(is_learner);
    if (inserted && id == id_) it->second.set_match(log_.last_index());
  };
  for (uint64_t id : conf_.voters) track(id, false);
  for (uint64_t id : conf_.learners) track(id, true);
  if (role_ != Role::leader) return;
  if (!promotable()) {
    // Thesis §4.2.2: a removed leader steps down once its removal is committed.
    become_follower(term_, kNone);
    return;
  }
  if (lead_transferee_ != kNone && !conf_.is_voter(lead_transferee_)) abort_leader_transfer();
  maybe_commit();  // the quorum may have shrunk
  bcast_append();  // new members start probing now, not at the next heartbeat
}

}  // namespace strata::raft
