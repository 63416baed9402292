// raft::Core: construction, the Ready interface, elections and the follower side.
// The leader side lives in core_leader.cc.
#include "lib/raft/core.h"

#include <algorithm>

#include "lib/raft/codec.h"
#include "lib/raft/quorum.h"
#include "lib/util/assert.h"

// Messages are built with designated initializers that name only the fields their type uses
// (messages.h); the others keep their zero defaults on purpose. (The build already passes
// -Wno-missing-field-initializers to g++ for the same reason.)
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wmissing-designated-field-initializers"
#endif

namespace strata::raft {

const char* to_string(Role r) {
  switch (r) {
    case Role::follower: return "follower";
    case Role::pre_candidate: return "pre_candidate";
    case Role::candidate: return "candidate";
    case Role::leader: return "leader";
    case Role::learner: return "learner";
  }
  return "unknown";
}

Result<void> Config::validate() const {
  if (id == kNone || storage == nullptr || heartbeat_tick <= 0 || election_tick <= heartbeat_tick ||
      max_inflight == 0 || max_size_per_msg_bytes == 0) {
    return make_error_code(Errc::invalid_argument);
  }
  return ok();
}

namespace {

ConfState initial_conf(const Config& c, ConfState from_storage) {
  if (!from_storage.voters.empty()) return from_storage;
  ConfState cs{c.peers, c.learners};
  std::sort(cs.voters.begin(), cs.voters.end());
  std::sort(cs.learners.begin(), cs.learners.end());
  cs.voters.erase(std::unique(cs.voters.begin(), cs.voters.end()), cs.voters.end());
  cs.learners.erase(std::unique(cs.learners.begin(), cs.learners.end()), cs.learners.end());
  return cs;
}

}  // namespace

Core::Core(Config c)
    : id_(c.id),
      log_(c.storage),
      election_timeout_(c.election_tick),
      heartbeat_timeout_(c.heartbeat_tick),
      pre_vote_(c.pre_vote),
      check_quorum_(c.check_quorum),
      forwarding_(!c.disable_proposal_forwarding),
      max_msg_size_bytes_(c.max_size_per_msg_bytes),
      max_inflight_(c.max_inflight),
      rng_(c.seed ^ (c.id * 0x9e3779b97f4a7c15ull)) {
  STRATA_ASSERT_MSG(c.validate().has_value(), "invalid raft::Config");
  auto init = c.storage->initial_state();
  STRATA_ASSERT_MSG(init.has_value(), "cannot read the initial raft state");
  conf_ = initial_conf(c, init->conf_state);
  const HardState& hs = init->hard_state;
  if (!hs.empty()) {
    STRATA_ASSERT_MSG(hs.commit >= log_.committed() && hs.commit <= log_.last_index(),
                      "persisted commit index out of range");
    log_.commit_to(hs.commit);
    term_ = hs.term;
    vote_ = hs.vote;
  }
  if (c.applied > log_.applied()) {
    STRATA_ASSERT_MSG(c.applied <= log_.committed(), "applied index past the commit index");
    // Configuration changes applied before the restart but after the latest snapshot.
    auto ents = log_.slice(log_.applied() + 1, c.applied + 1, kNoLimit);
    STRATA_ASSERT(ents.has_value());
    for (const Entry& e : *ents) {
      if (e.type != EntryType::conf_change) continue;
      if (auto cc = decode_conf_change(e.data)) apply_conf_change(*cc);
    }
    log_.applied_to(c.applied);
  }
  become_follower(term_, kNone);
  prev_hard_ = hard_state();
  prev_soft_ = soft_state();
}

Role Core::role() const {
  if (role_ == Role::follower && conf_.is_learner(id_)) return Role::learner;
  return role_;
}

const Progress* Core::progress(uint64_t id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

// ---- Ready ----

bool Core::has_ready() const {
  return soft_state() != prev_soft_ || hard_state() != prev_hard_ || !log_.unstable().entries().empty() ||
         log_.unstable().snapshot().has_value() || !msgs_.empty() || log_.has_next_committed_entries() ||
         !read_states_.empty();
}

Ready Core::ready() {
  STRATA_ASSERT_MSG(!ready_outstanding_, "ready() called twice without advance()");
  ready_outstanding_ = true;
  Ready rd;
  if (soft_state() != prev_soft_) {
    rd.soft_state = soft_state();
    prev_soft_ = soft_state();
  }
  if (hard_state() != prev_hard_) rd.hard_state = hard_state();
  rd.entries = log_.unstable().entries();
  rd.snapshot = log_.unstable().snapshot();
  rd.committed_entries = log_.next_committed_entries();
  if (!rd.committed_entries.empty()) log_.applying_to(rd.committed_entries.back().index);
  drop_redundant_appends();
  rd.messages = std::move(msgs_);
  msgs_.clear();
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  return rd;
}

// Under load a commit-index update (an empty append, sent when an acknowledgement commits
// entries) and the append of the next batch usually leave in the same Ready, one right after
// the other. The second carries everything the first would tell the follower (the same term and
// previous entry, a commit index at least as high, plus entries), so the first goes: one message
// and one acknowledgement fewer per follower and batch. Progress needs no adjustment: an empty
// append in replicate state changed nothing there, and in probe state only one message leaves.
// Not in etcd-io/raft, which sends both.
void Core::drop_redundant_appends() {
  auto redundant = [this](size_t i) {
    const Message& m = msgs_[i];
    if (m.type != MessageType::app || !m.entries.empty()) return false;
    for (size_t j = i + 1; j < msgs_.size(); ++j) {
      const Message& later = msgs_[j];
      if (later.to == m.to && later.type == MessageType::app && later.term == m.term && later.index == m.index &&
          later.log_term == m.log_term && later.commit >= m.commit) {
        return true;
      }
    }
    return false;
  };
  size_t out = 0;
  for (size_t i = 0; i < msgs_.size(); ++i) {
    if (redundant(i)) continue;
    if (out != i) msgs_[out] = std::move(msgs_[i]);
    ++out;
  }
  msgs_.resize(out);
}

void Core::advance(const Ready& rd) {
  STRATA_ASSERT_MSG(ready_outstanding_, "advance() without ready()");
  ready_outstanding_ = false;
  if (rd.hard_state) prev_hard_ = *rd.hard_state;
  if (rd.snapshot) {
    log_.stable_snap_to(rd.snapshot->metadata.index);
    if (rd.snapshot->metadata.index > log_.applied()) log_.applied_to(rd.snapshot->metadata.index);
  }
  if (!rd.entries.empty()) log_.stable_to(rd.entries.back().index, rd.entries.back().term);
  for (const Entry& e : rd.committed_entries) {
    if (e.index <= log_.applied()) continue;
    log_.applied_to(e.index);
    if (e.type != EntryType::conf_change) continue;
    // A malformed conf change is a no-op on every node alike, so configurations cannot diverge.
    if (auto cc = decode_conf_change(e.data)) apply_conf_change(*cc);
  }
  // Entries taken early during this Ready (take_committed_entries: no conf change among them).
  log_.applied_to(log_.applying());
  if (role_ == Role::leader) release_pending_read_index();
}

std::vector<Entry> Core::take_committed_entries(uint64_t durable_index) {
  if (role_ != Role::leader) return {};
  uint64_t hi = std::min(log_.committed(), durable_index);
  uint64_t lo = std::max(log_.applying() + 1, log_.first_index());
  if (hi < lo) return {};
  auto ents = log_.slice(lo, hi + 1, kNoLimit);
  STRATA_ASSERT_MSG(ents.has_value(), "committed entries must be readable");
  auto cc = std::find_if(ents->begin(), ents->end(), [](const Entry& e) { return e.type == EntryType::conf_change; });
  ents->erase(cc, ents->end());
  if (ents->empty()) return {};
  log_.applying_to(ents->back().index);
  if (!ready_outstanding_) log_.applied_to(log_.applying());
  return std::move(*ents);
}

// ---- Role transitions (Raft §5.2) ----

void Core::reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  abort_leader_transfer();
  votes_.clear();
  rebuild_progress();
  pending_conf_index_ = 0;
  read_only_.reset();
  pending_read_index_.clear();
}

void Core::rebuild_progress() {
  std::map<uint64_t, Progress> fresh;
  auto add = [&](uint64_t id, bool learner) {
    auto [it, _] = fresh.emplace(id, Progress(log_.last_index() + 1, max_inflight_, learner));
    if (id == id_) it->second.set_match(log_.last_index());
  };
  for (uint64_t id : conf_.voters) add(id, false);
  for (uint64_t id : conf_.learners) add(id, true);
  progress_ = std::move(fresh);
}

void Core::reset_randomized_election_timeout() {
  // Raft §5.2: randomized election timeouts make split votes rare and resolve them quickly.
  randomized_election_timeout_ =
      election_timeout_ + static_cast<int>(rng_.uniform(static_cast<uint64_t>(election_timeout_)));
}

void Core::become_follower(uint64_t term, uint64_t lead) {
  reset(term);
  lead_ = lead;
  role_ = Role::follower;
}

void Core::become_pre_candidate() {
  STRATA_ASSERT_MSG(role_ != Role::leader, "leader cannot become pre-candidate");
  // Thesis §9.6: a pre-candidate changes neither its term nor its vote.
  votes_.clear();
  lead_ = kNone;
  role_ = Role::pre_candidate;
}

void Core::become_candidate() {
  STRATA_ASSERT_MSG(role_ != Role::leader, "leader cannot become candidate");
  reset(term_ + 1);
  vote_ = id_;
  role_ = Role::candidate;
}

void Core::become_leader() {
  STRATA_ASSERT_MSG(role_ == Role::candidate, "only a candidate can become leader");
  reset(term_);
  lead_ = id_;
  role_ = Role::leader;
  progress_.at(id_).become_replicate();
  progress_.at(id_).set_recent_active(true);
  // No conf change until everything up to here (including this term's first entry) is applied.
  pending_conf_index_ = log_.last_index();
  // Raft §5.4.2 / §8: a new leader commits an entry of its own term to learn (and commit) what
  // earlier terms committed; ReadIndex waits for it (thesis §6.4).
  bool appended = append_entries({Entry{}});
  STRATA_ASSERT(appended);
}

bool Core::has_unapplied_conf_changes() const {
  if (log_.applied() >= log_.committed()) return false;
  auto ents = log_.slice(log_.applied() + 1, log_.committed() + 1, kNoLimit);
  if (!ents) return true;  // be conservative
  return std::any_of(ents->begin(), ents->end(), [](const Entry& e) { return e.type == EntryType::conf_change; });
}

void Core::campaign() {
  if (role_ == Role::leader || !promotable() || has_unapplied_conf_changes()) return;
  do_campaign(pre_vote_ ? CampaignType::pre_election : CampaignType::election);
}

void Core::do_campaign(CampaignType type) {
  MessageType vote_type = MessageType::vote;
  uint64_t vote_term = 0;
  if (type == CampaignType::pre_election) {
    become_pre_candidate();
    vote_type = MessageType::pre_vote;
    vote_term = term_ + 1;  // the term the real election would use
  } else {
    become_candidate();
    vote_term = term_;
  }
  if (poll(id_, true) == VoteResult::won) {  // a single-voter cluster
    if (type == CampaignType::pre_election) {
      do_campaign(CampaignType::election);
    } else {
      become_leader();
    }
    return;
  }
  for (uint64_t id : conf_.voters) {
    if (id == id_) continue;
    Message m{.type = vote_type, .to = id, .term = vote_term, .log_term = log_.last_term(), .index = log_.last_index()};
    m.force = type == CampaignType::transfer;
    send(std::move(m));
  }
}

VoteResult Core::poll(uint64_t from, bool granted) {
  votes_.emplace(from, granted);  // the first answer from a voter counts
  return vote_result(conf_.voters, votes_);
}

void Core::tick() {
  if (role_ == Role::leader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

void Core::tick_election() {
  ++election_elapsed_;
  if (promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    campaign();
  }
}

// ---- Step ----

void Core::send(Message m) {
  m.from = id_;
  bool term_set_by_caller = m.type == MessageType::vote || m.type == MessageType::pre_vote ||
                            m.type == MessageType::vote_resp || m.type == MessageType::pre_vote_resp;
  if (term_set_by_caller) {
    STRATA_ASSERT_MSG(m.term != 0, "vote messages carry an explicit term");
  } else if (m.type != MessageType::prop && m.type != MessageType::read_index) {
    // Proposals and read requests forwarded to the leader are term-less, like local requests.
    m.term = term_;
  }
  msgs_.push_back(std::move(m));
}

Result<void> Core::step(Message m) {
  if (DropReason r = check_message(m); r != DropReason::none) {
    ++dropped_[static_cast<size_t>(r)];
    last_drop_ = r;
    return make_error_code(Errc::invalid_argument);
  }
  bool drop = false;
  STRATA_TRY(step_term(m, &drop));
  if (drop) return ok();
  if (m.type == MessageType::vote || m.type == MessageType::pre_vote) {
    handle_vote_request(m);
    return ok();
  }
  switch (role_) {
    case Role::leader: return step_leader(std::move(m));
    case Role::pre_candidate:
    case Role::candidate: return step_candidate(std::move(m));
    default: return step_follower(std::move(m));
  }
}

// Raft §5.1: terms act as logical clocks. Sets *drop for messages that must not be processed.
Result<void> Core::step_term(const Message& m, bool* drop) {
  if (m.term == 0) {
    if (m.type != MessageType::prop && m.type != MessageType::read_index) {
      return make_error_code(Errc::invalid_argument);
    }
    return ok();
  }
  if (m.term > term_) {
    if (m.type == MessageType::vote || m.type == MessageType::pre_vote) {
      // Thesis §4.2.3 / §9.6: a node that heard from a live leader within the minimum election
      // timeout ignores (pre-)votes, so a disruptive node cannot depose a healthy leader.
      bool in_lease = check_quorum_ && lead_ != kNone && election_elapsed_ < election_timeout_;
      if (in_lease && !m.force) {
        *drop = true;
        return ok();
      }
    }
    if (m.type == MessageType::pre_vote) {
      // A pre-vote never changes our term.
    } else if (m.type == MessageType::pre_vote_resp && !m.reject) {
      // A granted pre-vote carries the future term; we move to it when the real election starts.
    } else if (m.type == MessageType::app || m.type == MessageType::heartbeat || m.type == MessageType::snap) {
      become_follower(m.term, m.from);
    } else {
      become_follower(m.term, kNone);
    }
    return ok();
  }
  if (m.term < term_) {
    *drop = true;
    if ((check_quorum_ || pre_vote_) && (m.type == MessageType::heartbeat || m.type == MessageType::app)) {
      // A stale leader (e.g. one a partition cut off) learns the newer term from this reply and
      // steps down; without it, pre-vote/check-quorum could leave it stuck forever.
      send(Message{.type = MessageType::app_resp, .to = m.from});
    } else if (m.type == MessageType::pre_vote) {
      send(Message{.type = MessageType::pre_vote_resp, .to = m.from, .term = term_, .reject = true});
    }
  }
  return ok();
}

// Raft §5.2 and §5.4.1 (election restriction); pre-votes per thesis §9.6.
void Core::handle_vote_request(const Message& m) {
  bool is_pre = m.type == MessageType::pre_vote;
  bool can_vote = vote_ == m.from || (vote_ == kNone && lead_ == kNone) || (is_pre && m.term > term_);
  MessageType resp = is_pre ? MessageType::pre_vote_resp : MessageType::vote_resp;
  if (can_vote && log_.is_up_to_date(m.index, m.log_term)) {
    // The reply carries the candidate's term so that it counts toward that election.
    send(Message{.type = resp, .to = m.from, .term = m.term});
    if (!is_pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    send(Message{.type = resp, .to = m.from, .term = term_, .reject = true});
  }
}

Result<void> Core::step_candidate(Message m) {
  MessageType my_resp = role_ == Role::pre_candidate ? MessageType::pre_vote_resp : MessageType::vote_resp;
  switch (m.type) {
    case MessageType::prop: return make_error_code(Errc::not_leader);
    case MessageType::app:
      become_follower(m.term, m.from);  // Raft §5.2: another server won this term
      handle_append(m);
      return ok();
    case MessageType::heartbeat:
      become_follower(m.term, m.from);
      handle_heartbeat(m);
      return ok();
    case MessageType::snap:
      become_follower(m.term, m.from);
      handle_snapshot(m);
      return ok();
    default: break;
  }
  if (m.type != my_resp) return ok();
  switch (poll(m.from, !m.reject)) {
    case VoteResult::won:
      if (role_ == Role::pre_candidate) {
        do_campaign(CampaignType::election);
      } else {
        become_leader();
        bcast_append();  // announce the new term's first entry at once
      }
      break;
    case VoteResult::lost: become_follower(term_, kNone); break;
    case VoteResult::pending: break;
  }
  return ok();
}

Result<void> Core::step_follower(Message m) {
  switch (m.type) {
    case MessageType::prop:
      if (lead_ == kNone || !forwarding_) return make_error_code(Errc::not_leader);
      m.to = lead_;
      send(std::move(m));
      return ok();
    case MessageType::app:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_append(m);
      return ok();
    case MessageType::heartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_heartbeat(m);
      return ok();
    case MessageType::snap:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_snapshot(m);
      return ok();
    case MessageType::timeout_now:
      // Thesis §3.10: start an election at once, skipping pre-vote, and bypass leases.
      if (promotable()) do_campaign(CampaignType::transfer);
      return ok();
    case MessageType::read_index:
      if (lead_ == kNone) return ok();  // dropped: the caller retries
      m.to = lead_;
      send(std::move(m));
      return ok();
    case MessageType::read_index_resp: read_states_.push_back(ReadState{m.index, std::move(m.context)}); return ok();
    default: return ok();
  }
}

// Raft §5.3: the AppendEntries receiver, with fast backtracking on rejection.
void Core::handle_append(const Message& m) {
  if (m.index < log_.committed()) {
    send(Message{.type = MessageType::app_resp, .to = m.from, .index = log_.committed()});
    return;
  }
  if (auto last_new = log_.maybe_append(m.index, m.log_term, m.commit, m.entries)) {
    send(Message{.type = MessageType::app_resp, .to = m.from, .index = *last_new});
    return;
  }
  // Hint: the largest index <= prevLogIndex whose term is <= prevLogTerm. Every entry after it
  // either is missing or has a term > prevLogTerm, so none can match the leader's entry there.
  uint64_t hint = std::min(m.index, log_.last_index());
  hint = log_.find_conflict_by_term(hint, m.log_term);
  send(Message{.type = MessageType::app_resp,
               .to = m.from,
               .log_term = log_.term_or_zero(hint),
               .index = m.index,
               .reject = true,
               .reject_hint = hint});
}

void Core::handle_heartbeat(const Message& m) {
  // The leader sends min(our match, its commit), so every index here is in our log and agrees
  // with the leader's; check_message dropped a heartbeat whose commit is past our log.
  log_.commit_to(m.commit);
  send(Message{.type = MessageType::heartbeat_resp, .to = m.from, .context = m.context});
}

// Raft §7: InstallSnapshot receiver.
void Core::handle_snapshot(const Message& m) {
  if (!m.snapshot) return;
  if (restore(*m.snapshot)) {
    send(Message{.type = MessageType::app_resp, .to = m.from, .index = log_.last_index()});
  } else {
    send(Message{.type = MessageType::app_resp, .to = m.from, .index = log_.committed()});
  }
}

bool Core::restore(const Snapshot& snap) {
  const SnapshotMetadata& md = snap.metadata;
  if (md.index <= log_.committed()) return false;
  // Unlike etcd we accept a snapshot whose configuration does not list us yet: a node that was
  // just added may be sent a snapshot taken before its addition; the conf change entry that
  // adds it follows in the log, and until it is applied we are not promotable.
  if (log_.match_term(md.index, md.term)) {
    // Raft §7: our log already holds the snapshot's last entry; keep the entries after it.
    log_.commit_to(md.index);
    return false;
  }
  log_.restore(snap);
  conf_ = md.conf_state;
  rebuild_progress();
  return true;
}

// ---- Client requests ----

Result<void> Core::propose(std::string data) {
  Message m{.type = MessageType::prop, .to = id_, .from = id_};
  m.entries.push_back(Entry{.data = std::move(data)});
  return step(std::move(m));
}

void Core::read_index(std::string ctx) {
  Message m{.type = MessageType::read_index, .to = id_, .from = id_};
  m.context = std::move(ctx);
  (void)step(std::move(m));
}

}  // namespace strata::raft
