// raft::Core: the Raft consensus state machine of one node, modelled on etcd-io/raft's raft and
// RawNode. It is pure: no clock, sockets, files or threads. The driver (lib/replication, or a
// test) feeds it peer messages (step), clock ticks (tick) and client requests (propose,
// read_index, ...), and collects its output as one Ready at a time:
//
//   while (core.has_ready()) {
//     Ready rd = core.ready();
//     persist rd.hard_state, rd.entries, rd.snapshot      // e.g. MemoryStorage / the WAL
//     send rd.messages                                     // ONLY after the persist completed
//     apply rd.snapshot, rd.committed_entries to the state machine; serve rd.read_states
//     core.advance(rd);
//   }
//
// Persistence rule (etcd's): every message in a Ready may be sent only after that Ready's
// entries, hard state and snapshot are durable. Votes (Raft §5.2), append acknowledgements
// (Raft §5.3) and the leader's own appends all depend on it. Because of it, the leader counts its
// own log toward the commit quorum as soon as it appends: no follower can acknowledge an entry
// before the leader's Ready carrying it was persisted.
//
// What is implemented, with the section of Ongaro & Ousterhout's paper ("Raft") or Ongaro's
// thesis ("thesis") it follows:
//   - leader election with randomized timeouts in [election_tick, 2*election_tick) (Raft §5.2)
//   - log replication, the AppendEntries consistency check and the current-term commit rule
//     (Raft §5.3, §5.4.2, Figure 8)
//   - fast conflict backtracking (thesis §5.3 end, etcd's findConflictByTerm): a rejecting
//     follower returns the largest index <= prevLogIndex whose term is <= prevLogTerm with that
//     term; the leader then skips to the largest index in its own log at or below the hint with
//     a term <= the hint's term, jumping over whole terms instead of one entry per round trip
//   - pre-vote and check-quorum with a leader lease (thesis §9.6, §4.2.3)
//   - InstallSnapshot (Raft §7)
//   - single-server membership changes with learners (thesis §4.1, §4.2.1). A conf change takes
//     effect when its entry is APPLIED (in advance()), as in etcd, not when appended as the thesis
//     suggests. That is safe because (a) only one change may be pending: a new one is refused
//     until the previous one is applied, and (b) a new leader sets the pending index to its
//     last index, so it cannot propose a change before its own term's first entry is applied —
//     the fix for the single-server change bug Ongaro described on raft-dev (2015). A node with
//     a committed but unapplied conf change does not campaign.
//   - leadership transfer (thesis §3.10): the leader stops taking proposals, catches the
//     transferee up, then sends timeout_now; aborted after an election timeout
//   - ReadIndex (thesis §6.4): served only once the leader has committed an entry in its term
//     (requests wait until then), and confirmed by a heartbeat round acknowledged by a quorum
//   - proposal forwarding from followers to the known leader (optional)
//
// Thread-safety: none — single-threaded driver.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/raft/log.h"
#include "lib/raft/message_check.h"
#include "lib/raft/messages.h"
#include "lib/raft/progress.h"
#include "lib/raft/quorum.h"
#include "lib/raft/read_only.h"
#include "lib/raft/storage.h"
#include "lib/util/random.h"
#include "strata/result.h"

namespace strata::raft {

enum class Role : uint8_t { follower, pre_candidate, candidate, leader, learner };
const char* to_string(Role r);

struct Config {
  uint64_t id = kNone;
  // The initial voters and learners, used only when storage holds no configuration yet.
  std::vector<uint64_t> peers;
  std::vector<uint64_t> learners;
  // The stable log. REQUIRES: outlives the Core.
  const Storage* storage = nullptr;
  int election_tick = 10;  // an election timeout is randomized in [election_tick, 2*election_tick)
  int heartbeat_tick = 1;  // REQUIRES: heartbeat_tick < election_tick
  bool pre_vote = true;
  bool check_quorum = true;
  uint64_t max_size_per_msg_bytes = 1 << 20;  // entry bytes per append message (at least one)
  size_t max_inflight = 256;                  // appends in flight per follower
  uint64_t seed = 1;                          // seeds the randomized election timeout
  // The last index the state machine applied before a restart (0: replay all committed entries).
  uint64_t applied = 0;
  bool disable_proposal_forwarding = false;

  Result<void> validate() const;
};

struct SoftState {
  uint64_t leader = kNone;
  Role role = Role::follower;
  bool operator==(const SoftState&) const = default;
};

// A confirmed ReadIndex: reads that see the state machine at >= index are linearizable.
struct ReadState {
  uint64_t index = 0;
  std::string context;
  bool operator==(const ReadState&) const = default;
};

struct Ready {
  std::optional<SoftState> soft_state;   // set when it changed; not persisted
  std::optional<HardState> hard_state;   // set when it changed; persist before sending
  std::vector<Entry> entries;            // persist (Storage::append) before sending
  std::optional<Snapshot> snapshot;      // persist and install before applying committed_entries
  std::vector<Entry> committed_entries;  // apply in order, after persisting the above
  std::vector<Message> messages;         // send after persisting the above
  std::vector<ReadState> read_states;
};

class Core {
 public:
  // Restores term, vote, commit index and configuration from config.storage.
  // REQUIRES: config.validate() succeeds.
  explicit Core(Config config);

  // Feeds a message from a peer (or a forwarded proposal / read request). Stale and irrelevant
  // messages are ignored (ok). Every message is validated first (check_message, see
  // message_check.h): one that a correct peer can never send is dropped, counted under its
  // DropReason (dropped(), last_drop()) and changes nothing. Errors: invalid_argument for such a
  // message (the driver logs last_drop()); not_leader for a forwarded proposal this node cannot
  // take. A message with from == id() is a local request (prop or read_index) or is dropped.
  Result<void> step(Message m);
  // Advances the logical clock by one tick.
  void tick();
  // Starts an election now (etcd's MsgHup); a no-op for leaders, learners and removed nodes.
  void campaign();

  // Appends data to the log (leader) or forwards it to the known leader (follower). The
  // proposal may still be lost: the caller retries until the entry is applied.
  // Errors: not_leader (no leader known, forwarding disabled, candidate, or a leadership
  // transfer in progress).
  Result<void> propose(std::string data);
  // Proposes a single-server membership change (leader only). Errors: not_leader; busy when a
  // previous change is not yet applied; invalid_argument for a no-op or one that would remove
  // the last voter.
  Result<void> propose_conf_change(ConfChange cc);
  // Requests a linearizable read point; it arrives as a ReadState with this context. Dropped
  // silently when no leader is known (the caller times out and retries). REQUIRES: ctx unique
  // among this node's pending reads and non-empty.
  void read_index(std::string ctx);
  // Leader only: hands leadership to `to` (thesis §3.10). Ignored elsewhere.
  void transfer_leadership(uint64_t to);
  // Leader only: the driver's report on a snapshot it tried to send to `to`.
  void report_snapshot(uint64_t to, bool success);

  bool has_ready() const;
  // REQUIRES: ready() and advance() alternate.
  Ready ready();
  void advance(const Ready& rd);

  // Leader only (empty elsewhere): the committed entries that no Ready carried yet, up to
  // `durable_index`, which the caller guarantees is durable in this node's own log; cut before
  // the first conf change (those go out in a Ready, whose advance() applies them to the
  // configuration). For a driver that persists a Ready while acknowledgements keep arriving:
  // it can apply (and answer) a write as soon as its commit is known instead of one more Ready
  // cycle later. The driver applies them after the entries of the outstanding Ready; they count
  // as applied at the next advance() (at once when no Ready is outstanding). Follows etcd-io/
  // raft's applying index (raftLog.applying), which separates entries handed to the
  // application from entries it reported applied.
  std::vector<Entry> take_committed_entries(uint64_t durable_index);

  uint64_t id() const { return id_; }
  uint64_t term() const { return term_; }
  uint64_t vote() const { return vote_; }
  uint64_t leader() const { return lead_; }
  Role role() const;
  uint64_t lead_transferee() const { return lead_transferee_; }
  const RaftLog& log() const { return log_; }
  const ConfState& conf_state() const { return conf_; }
  const Progress* progress(uint64_t id) const;
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return {lead_, role()}; }

  // Messages step() dropped as invalid, by reason (indexed by DropReason), and the reason of the
  // last one (none before any).
  const std::array<uint64_t, kDropReasonCount>& dropped() const { return dropped_; }
  uint64_t dropped_total() const;
  DropReason last_drop() const { return last_drop_; }
  // The checks step() applies before acting on m, against this node's state: the shape
  // (check_message_shape), the sender (a member; not ourselves unless a local request), leader
  // messages only from the known leader of their term, a heartbeat's commit within our log, an
  // acknowledgement within the leader's log.
  DropReason check_message(const Message& m) const;

 private:
  enum class CampaignType { pre_election, election, transfer };

  // Ready (core.cc).
  void drop_redundant_appends();

  // Role transitions (core.cc).
  void reset(uint64_t term);
  void become_follower(uint64_t term, uint64_t lead);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset_randomized_election_timeout();
  bool promotable() const { return conf_.is_voter(id_); }
  bool has_unapplied_conf_changes() const;
  void do_campaign(CampaignType type);
  VoteResult poll(uint64_t from, bool granted);

  // Messages common to every role (core.cc).
  Result<void> step_term(const Message& m, bool* drop);
  void handle_vote_request(const Message& m);
  Result<void> step_follower(Message m);
  Result<void> step_candidate(Message m);
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  bool restore(const Snapshot& snap);
  void send(Message m);
  void tick_election();

  // Leader (core_leader.cc).
  Result<void> step_leader(Message m);
  void tick_heartbeat();
  bool append_entries(std::vector<Entry> ents);
  bool maybe_commit();
  bool maybe_send_append(uint64_t to, bool send_if_empty);
  bool send_snapshot(uint64_t to, Progress& pr);
  void bcast_append();
  void bcast_heartbeat();
  void send_heartbeat(uint64_t to, const std::string& ctx);
  void handle_append_response(const Message& m, Progress& pr);
  void handle_heartbeat_response(const Message& m, Progress& pr);
  bool quorum_active();
  bool committed_entry_in_current_term() const;
  void handle_read_index(Message m);
  void release_pending_read_index();
  void respond_read_index(const Message& req, uint64_t index);
  void abort_leader_transfer() { lead_transferee_ = kNone; }
  void apply_conf_change(const ConfChange& cc);
  void rebuild_progress();

  uint64_t id_;
  uint64_t term_ = 0;
  uint64_t vote_ = kNone;
  uint64_t lead_ = kNone;
  Role role_ = Role::follower;  // never Role::learner: role() derives it from conf_
  RaftLog log_;
  ConfState conf_;
  std::map<uint64_t, Progress> progress_;  // every voter and learner, the leader included
  std::map<uint64_t, bool> votes_;

  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;
  ReadOnly read_only_;
  std::vector<Message> pending_read_index_;  // reads waiting for a commit in the leader's term

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int election_timeout_;
  int heartbeat_timeout_;
  int randomized_election_timeout_ = 0;
  bool pre_vote_;
  bool check_quorum_;
  bool forwarding_;
  uint64_t max_msg_size_bytes_;
  size_t max_inflight_;
  Random rng_;

  uint64_t lead_transferee_ = kNone;
  uint64_t pending_conf_index_ = 0;

  SoftState prev_soft_;
  HardState prev_hard_;
  bool ready_outstanding_ = false;

  std::array<uint64_t, kDropReasonCount> dropped_{};
  DropReason last_drop_ = DropReason::none;
};

}  // namespace strata::raft
