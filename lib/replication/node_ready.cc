// replication::Node: the tick loop, the Ready loop (persist, send, hand committed entries to
// the apply task) and log compaction. See node.h for the loops and their order.
#include "lib/replication/node.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cinttypes>

#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/logging.h"

namespace strata::replication {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using raft::Role;

// ---- Loops ----

void Node::notify_locked() {
  wake_pending_ = true;
  if (loop_wake_) {
    loop_wake_->set(true);
    loop_wake_.reset();
  }
  if (stopping_) {  // the apply task and a Ready loop waiting for it look at stopping_
    wake_apply_locked();
    if (apply_progress_) {
      apply_progress_->set(true);
      apply_progress_.reset();
    }
  }
}

asio::awaitable<void> Node::tick_loop() {
  asio::steady_timer timer(executor_);
  auto next = Clock::now();
  for (;;) {
    next += std::chrono::milliseconds(options_.tick_ms);
    timer.expires_at(next);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    std::lock_guard lock(mu_);
    if (stopping_) break;
    core_->tick();
    expire_waiters_locked(Clock::now());
    maybe_promote_learners_locked();
    notify_locked();
  }
}

asio::awaitable<void> Node::ready_loop() {
  for (;;) {
    std::optional<Oneshot<bool>> wait;
    raft::Ready rd;
    bool leader = false;
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      wake_pending_ = false;
      early_apply_limit_ = 0;  // a Ready abandoned when the node stopped
      step_pending_proposals_locked();
      if (!core_->has_ready()) {
        loop_wake_.emplace();
        wait = *loop_wake_;
      } else {
        rd = core_->ready();
        leader = core_->role() == Role::leader;
      }
    }
    if (wait) {
      co_await wait->wait();
      continue;
    }
    auto handled = co_await handle_ready(std::move(rd), leader);
    if (!handled) {
      // A failed fsync or DB write is never retried (RELIABILITY.md): the node stops serving.
      STRATA_LOG(error, "node %" PRIu64 ": cannot persist or apply: %s; the node stops", options_.id,
                 handled.error().message().c_str());
      std::lock_guard lock(mu_);
      stopping_ = true;
      fail_all_locked(make_error_code(Errc::read_only));
      notify_locked();
      break;
    }
  }
}

asio::awaitable<Result<void>> Node::handle_ready(raft::Ready rd, bool leader) {
  if (rd.snapshot) {
    // The install swaps the DB: nothing may be queued for (or being written by) the apply task.
    if (!co_await wait_for_apply(0)) co_return ok();  // stopping
    STRATA_CO_TRY(co_await install_snapshot(*rd.snapshot));
  }
  std::optional<raft::SnapshotMetadata> md;
  if (rd.snapshot) md = rd.snapshot->metadata;
  // The leader's appends and heartbeats go out before its own fsync (thesis §10.2.1: the leader
  // writes its log in parallel with replicating it), when its term and vote are already durable.
  // Safe with raft::Core counting the leader's log toward the quorum at append time because
  // (1) a commit index only leaves this node in a LATER Ready, taken after this Ready's entries
  // are durable (this loop is sequential, and a follower can acknowledge an entry only after the
  // message carrying it was sent, which is in this Ready or a later one: entries and the
  // messages carrying them always come out in the same Ready); (2) nothing is applied, read or
  // acknowledged to a client before a Ready carries it as committed, and that Ready is taken
  // after this persist. Everything else (votes, responses, snapshots) waits for the fsync.
  bool early = leader && !rd.snapshot && (!rd.hard_state || !storage_->must_sync(rd.hard_state, {}, std::nullopt));
  if (early) {
    for (raft::Message& m : rd.messages) {
      if (m.type == raft::MessageType::app || m.type == raft::MessageType::heartbeat) {
        transport_->send(std::move(m));
        m.type = raft::MessageType::prop;  // marks it as sent
        m.to = raft::kNone;
      }
    }
  }
  // The committed entries that are already durable in the local log go to the apply task now,
  // so they are applied (and acknowledged) while this Ready's fsync runs, instead of after it:
  // otherwise every write would wait for two fsyncs in a row. Durable: at or below the stored
  // last index (persisted by an earlier Ready) and below this Ready's first new entry (a
  // follower's append may replace a suffix of its log; never a committed entry, but the stored
  // copy at that index could be the old one until this persist). The rest (a single-voter
  // leader's own entries, a follower's append whose commit covers it) is queued after the
  // persist. Followers still send their acknowledgements right after the persist.
  size_t durable = 0;
  if (!rd.snapshot) {
    uint64_t stable_last = storage_->last_index();
    if (!rd.entries.empty()) stable_last = std::min(stable_last, rd.entries.front().index - 1);
    while (durable < rd.committed_entries.size() && rd.committed_entries[durable].index <= stable_last) ++durable;
    std::lock_guard lock(mu_);
    enqueue_apply_locked(rd.committed_entries, 0, durable);
    // Until advance(): entries that a follower's acknowledgement commits meanwhile and that are
    // durable here (at or below stable_last) go to the apply task from on_message, after the
    // ones just queued (Core::take_committed_entries hands out only entries past this Ready's).
    // Leader only: a leader's log is never truncated, and the Core counts its own log toward the
    // quorum at append time, so "committed" alone would not mean "durable here".
    if (leader) early_apply_limit_ = stable_last;
  }
  if (!options_.pipeline_apply && !co_await wait_for_apply(0)) co_return ok();
  auto persist_start = Clock::now();
  STRATA_CO_TRY(co_await storage_->persist(rd.hard_state, rd.entries, md));
  {
    std::lock_guard lock(mu_);
    ++stats_.ready_cycles;
    stats_.entries_persisted += rd.entries.size();
    const auto persist_micros = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - persist_start).count());
    stats_.persist_micros += persist_micros;
    persist_latency_.observe(persist_micros);
    stats_.messages_sent += rd.messages.size();
  }
  for (raft::Message& m : rd.messages) {
    if (m.to == raft::kNone) continue;  // sent early
    if (m.type == raft::MessageType::snap) {
      bool start = false;
      {
        std::lock_guard lock(mu_);
        start = !snapshot_in_flight_[m.to];
        snapshot_in_flight_[m.to] = true;
      }
      if (start) {
        loops_running_.fetch_add(1);  // stop() waits for the send (it uses this Node)
        asio::co_spawn(executor_, send_snapshot(std::move(m)), [this](std::exception_ptr e) { task_finished(e); });
      }
      continue;
    }
    transport_->send(std::move(m));
  }
  if (!options_.pipeline_apply) {
    {
      std::lock_guard lock(mu_);
      enqueue_apply_locked(rd.committed_entries, durable, rd.committed_entries.size());
    }
    if (!co_await wait_for_apply(0)) co_return ok();
  }
  {
    std::lock_guard lock(mu_);
    if (options_.pipeline_apply) enqueue_apply_locked(rd.committed_entries, durable, rd.committed_entries.size());
    early_apply_limit_ = 0;
    core_->advance(rd);
    if (rd.soft_state) log_soft_state_locked(*rd.soft_state);
    if (rd.soft_state && rd.soft_state->leader != last_leader_) {
      // The leader changed: a proposal in flight may be committed by the new leader or lost.
      // Say so now (timed_out: may have been applied) rather than at the deadline, so that
      // clients retry against the new leader promptly; once the entries committed before the
      // change are applied (their proposals succeed), see ApplyItem.
      if (last_leader_ != raft::kNone) enqueue_leader_change_locked();
      if (rd.soft_state->leader != raft::kNone) ++stats_.leader_changes;
      last_leader_ = rd.soft_state->leader;
    }
    handle_read_states_locked(rd.read_states);
    complete_applied_waiters_locked();
  }
  // Backpressure: the loop runs at most kMaxApplyQueueBytes ahead of the DB.
  if (!co_await wait_for_apply(kMaxApplyQueueBytes)) co_return ok();
  co_return co_await maybe_compact();
}

void Node::log_soft_state_locked(const raft::SoftState& soft) {
  const uint64_t term = core_->term();
  if (soft.role != last_role_) {
    switch (soft.role) {
      case raft::Role::pre_candidate:
        STRATA_LOG(info, "node %" PRIu64 ": no word from a leader; pre-vote for term %" PRIu64 " started", options_.id,
                   term + 1);
        break;
      case raft::Role::candidate:
        STRATA_LOG(info, "node %" PRIu64 ": election for term %" PRIu64 " started", options_.id, term);
        break;
      case raft::Role::leader:
        STRATA_LOG(info, "node %" PRIu64 ": won the election for term %" PRIu64 "; now the leader", options_.id, term);
        break;
      case raft::Role::follower:
        STRATA_LOG(info, "node %" PRIu64 ": follower in term %" PRIu64 " (was %s)", options_.id, term,
                   raft::to_string(last_role_));
        break;
      case raft::Role::learner:
        STRATA_LOG(info, "node %" PRIu64 ": learner in term %" PRIu64, options_.id, term);
        break;
    }
    last_role_ = soft.role;
  }
  if (soft.leader != last_leader_ && soft.leader != options_.id) {
    if (soft.leader == raft::kNone) {
      STRATA_LOG(info, "node %" PRIu64 ": lost the leader (node %" PRIu64 ") in term %" PRIu64, options_.id,
                 last_leader_, term);
    } else {
      STRATA_LOG(info, "node %" PRIu64 ": the leader is node %" PRIu64 " (term %" PRIu64 ")", options_.id, soft.leader,
                 term);
    }
  }
}

asio::awaitable<Result<void>> Node::maybe_compact() {
  if (options_.snapshot_threshold_entries == 0) co_return ok();
  std::optional<PendingCompaction> flushed;
  {
    std::lock_guard lock(mu_);
    flushed = std::move(compaction_flushed_);
    compaction_flushed_.reset();
  }
  if (flushed) {
    // A no-op when a snapshot installed meanwhile already moved the log past the index.
    STRATA_CO_TRY(co_await storage_->compact(flushed->index, flushed->conf_state));
    std::lock_guard lock(mu_);
    ++stats_.compactions;
    STRATA_LOG(info, "node %" PRIu64 ": raft log compacted up to %" PRIu64, options_.id, flushed->index);
    co_return ok();
  }
  uint64_t index = 0;
  raft::ConfState cs;
  {
    std::lock_guard lock(mu_);
    if (compaction_flush_done_) co_return ok();  // a flush is in flight
    // The DB's applied index (the flush below makes the DB durable up to it), not Raft's, which
    // runs ahead by what the apply task has queued; and never past the persisted commit index:
    // a leader applies entries as soon as they commit (on_message), before a Ready persists
    // the commit index, and a restart must find its log's snapshot at or below that index.
    uint64_t core_applied = core_->log().applied();
    uint64_t db_applied = std::min({applied_, core_applied, storage_->hard_state().commit});
    uint64_t first = storage_->first_index();
    if (db_applied < first || db_applied - first + 1 < options_.snapshot_threshold_entries) co_return ok();
    if (db_applied <= options_.snapshot_trailing_entries) co_return ok();
    index = db_applied - options_.snapshot_trailing_entries;
    if (index < first) co_return ok();
    // The configuration as of `index` is the current one unless a conf change was applied after
    // it; then wait until the trailing window has moved past that change.
    auto tail = storage_->entries(index + 1, core_applied + 1, raft::kNoLimit);
    if (!tail) co_return ok();
    for (const raft::Entry& e : *tail) {
      if (e.type == raft::EntryType::conf_change) co_return ok();
    }
    cs = core_->conf_state();
    compaction_flush_done_.emplace();
    loops_running_.fetch_add(1);  // stop() waits for the flush too
  }
  asio::co_spawn(executor_, flush_for_compaction(index, std::move(cs)),
                 [this](std::exception_ptr e) { task_finished(e); });
  co_return ok();
}

// Runs on: executor_, spawned by maybe_compact; counted in loops_running_ so stop() waits for it.
asio::awaitable<void> Node::flush_for_compaction(uint64_t index, raft::ConfState cs) {
  // The DB's state up to `index` must be durable before the log forgets it.
  auto db = this->db();
  auto flushed = co_await db->flush();
  std::lock_guard lock(mu_);
  if (flushed) {
    compaction_flushed_ = PendingCompaction{index, std::move(cs)};
  } else {
    // The DB is now read-only (a failed flush is never retried); the next apply fails and stops
    // the node. The log is simply not compacted.
    STRATA_LOG(error, "node %" PRIu64 ": flush before log compaction failed: %s", options_.id,
               flushed.error().message().c_str());
  }
  compaction_flush_done_->set(true);
  compaction_flush_done_.reset();
  notify_locked();
}

asio::awaitable<void> Node::wait_for_compaction_flush() {
  std::optional<Oneshot<bool>> done;
  {
    std::lock_guard lock(mu_);
    if (compaction_flush_done_) done = *compaction_flush_done_;
  }
  if (done) co_await done->wait();
}

// Group commit at the Raft level: every proposal that arrived while the Ready loop was busy
// (persisting, applying) enters the Core as ONE prop message, so the leader appends them as one
// batch and sends one append per follower for all of them, instead of one append per follower
// per write (and one response each). The batch is cut at kMaxProposalBatchBytes so that one
// append message stays within the Core's max_size_per_msg_bytes default.
void Node::step_pending_proposals_locked() {
  constexpr size_t kMaxProposalBatchBytes = 512 << 10;
  size_t i = 0;
  while (i < pending_proposals_.size()) {
    raft::Message m{.type = raft::MessageType::prop, .to = options_.id, .from = options_.id};
    size_t begin = i, bytes = 0;
    while (i < pending_proposals_.size() &&
           (i == begin || bytes + pending_proposals_[i].data.size() <= kMaxProposalBatchBytes)) {
      bytes += pending_proposals_[i].data.size();
      m.entries.push_back(raft::Entry{.data = std::move(pending_proposals_[i].data)});
      ++i;
    }
    ++stats_.proposal_batches;
    auto stepped = core_->step(std::move(m));
    if (stepped) continue;
    // Not proposed: fail the waiters of this batch (those not already expired or failed).
    for (size_t j = begin; j < i; ++j) {
      auto it = proposals_.find(pending_proposals_[j].proposal_id);
      if (it == proposals_.end()) continue;
      it->second.done.set(make_error_code(Errc::not_leader));
      proposals_.erase(it);
    }
  }
  pending_proposals_.clear();
}

}  // namespace strata::replication
