// replication::Node: applying committed entries to the DB, exactly once, in a task of its own
// fed by the Ready loop (pipelining: the Ready loop persists Ready N+1 while the entries of
// Ready N are applied).
//
// Ordering argument (why the apply task applies every committed entry once, in index order, and
// only once it is durable in the local log):
//   1. Queued in the order raft::Core hands entries out (asserted in enqueue_apply_locked).
//      Core's committed_entries are consecutive and ascending across Readies (its applying
//      index moves past each Ready's), and within a Ready the loop queues a prefix before the
//      persist and the rest after it. A leader's on_message may also queue, during a Ready,
//      the entries an acknowledgement just committed (Core::take_committed_entries): they
//      follow the Ready's own, and they are taken only up to the last index durable before the
//      Ready, so when the Ready still has a non-durable rest to queue after its persist, there
//      is nothing to take (the Ready's committed entries already reach past that index).
//   2. Durability: the prefix queued before the persist (and what on_message takes) holds only
//      entries that the local log
//      held durably before this Ready and that this Ready's append does not touch (index at or
//      below the stored last index and below the Ready's first new entry: a follower's append
//      may replace uncommitted entries there, never these). The rest is queued after the
//      persist returned.
//   3. One consumer, FIFO: the apply task takes everything queued, skips entries at or below the
//      DB's applied index, and writes the effects with "mapplied" = the last index in one DB
//      WriteBatch (exactly once across crashes: node.h). applied_ moves only after that write.
//   4. A snapshot install (the only other DB writer) runs in the Ready loop after
//      wait_for_apply(0): the queue is empty and no batch is in flight; entries queued after it
//      at or below the snapshot's index are skipped by 3.
//   5. Waiters: a proposal is acknowledged, and a ReadIndex read served, only once applied_
//      covers its index, i.e. after the DB write; a leader change queued as a marker fails the
//      proposals still waiting only after the entries committed before it were applied, as
//      when the loop applied them itself.
#include "lib/replication/node.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cinttypes>
#include <iterator>

#include "lib/memtable/write_batch_internal.h"
#include "lib/raft/codec.h"
#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/logging.h"

namespace strata::replication {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using raft::Role;

namespace {

// Re-encodes a client batch into the state machine's key space ("u" + key).
class Prefixer final : public WriteBatch::Handler {
 public:
  explicit Prefixer(WriteBatch* out) : out_(out) {}
  void put(SequenceNumber, std::string_view k, std::string_view v) override { out_->put(user_key(k), v); }
  void del(SequenceNumber, std::string_view k) override { out_->del(user_key(k)); }

 private:
  WriteBatch* out_;
};

}  // namespace

void Node::enqueue_apply_locked(std::vector<raft::Entry>& committed, size_t begin, size_t end) {
  if (begin >= end) return;
  ApplyItem item;
  item.entries.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    raft::Entry& e = committed[i];
    STRATA_ASSERT_MSG(e.index > last_enqueued_index_, "committed entries queued out of index order");
    last_enqueued_index_ = e.index;
    item.bytes += e.data.size();
    if (e.type == raft::EntryType::conf_change) {
      item.entries.push_back(e);  // Core::advance() decodes it
    } else {
      item.entries.push_back(raft::Entry{.term = e.term, .index = e.index, .type = e.type, .data = std::move(e.data)});
    }
  }
  apply_queue_bytes_ += item.bytes;
  apply_queue_.push_back(std::move(item));
  wake_apply_locked();
}

void Node::enqueue_leader_change_locked() {
  apply_queue_.push_back(ApplyItem{.fail_proposals_upto = next_proposal_id_ - 1});
  wake_apply_locked();
}

void Node::wake_apply_locked() {
  if (apply_wake_) {
    apply_wake_->set(true);
    apply_wake_.reset();
  }
}

asio::awaitable<bool> Node::wait_for_apply(uint64_t max_bytes) {
  for (;;) {
    std::optional<Oneshot<bool>> progress;
    {
      std::lock_guard lock(mu_);
      if (stopping_) co_return false;
      bool enough = max_bytes == 0 ? apply_queue_.empty() && !apply_busy_ : apply_queue_bytes_ <= max_bytes;
      if (enough) co_return true;
      if (!apply_progress_) apply_progress_.emplace();
      progress = *apply_progress_;
    }
    co_await progress->wait();
  }
}

// Runs on: executor_, spawned by start(); counted in loops_running_. Ends when the node stops
// (what is still queued is applied again from the log on the next start) or an apply fails.
asio::awaitable<void> Node::apply_loop() {
  std::vector<raft::Entry> batch;
  for (;;) {
    std::optional<Oneshot<bool>> wait;
    uint64_t bytes = 0, fail_upto = 0;
    batch.clear();
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      if (apply_queue_.empty()) {
        apply_wake_.emplace();
        wait = *apply_wake_;
      } else {
        // Everything queued, up to and including the first leader-change marker, in one batch.
        while (!apply_queue_.empty() && fail_upto == 0) {
          ApplyItem& item = apply_queue_.front();
          bytes += item.bytes;
          fail_upto = item.fail_proposals_upto;
          if (batch.empty()) {
            batch = std::move(item.entries);
          } else {
            std::move(item.entries.begin(), item.entries.end(), std::back_inserter(batch));
          }
          apply_queue_.pop_front();
        }
        apply_busy_ = true;
      }
    }
    if (wait) {
      co_await wait->wait();
      continue;
    }
    auto applied = co_await apply_entries(batch);
    std::lock_guard lock(mu_);
    apply_busy_ = false;
    apply_queue_bytes_ -= bytes;
    if (apply_progress_) {
      apply_progress_->set(true);
      apply_progress_.reset();
    }
    if (!applied) {
      // A failed DB write is never retried (RELIABILITY.md): the node stops serving.
      STRATA_LOG(error, "node %" PRIu64 ": cannot apply committed entries: %s; the node stops", options_.id,
                 applied.error().message().c_str());
      stopping_ = true;
      fail_all_locked(make_error_code(Errc::read_only));
      notify_locked();
      break;
    }
    if (fail_upto != 0) {
      for (auto it = proposals_.begin(); it != proposals_.end() && it->first <= fail_upto;) {
        it->second.done.set(make_error_code(Errc::timed_out));
        it = proposals_.erase(it);
      }
    }
    complete_applied_waiters_locked();
  }
}

asio::awaitable<Result<void>> Node::apply_entries(std::span<const raft::Entry> entries) {
  uint64_t applied = 0;
  {
    std::lock_guard lock(mu_);
    applied = applied_;
  }
  WriteBatch batch;
  uint64_t last = 0, count = 0;
  std::vector<std::pair<uint64_t, uint64_t>> mine;  // (proposal id, index)
  std::vector<std::pair<uint64_t, std::string>> addresses;
  std::vector<std::pair<uint64_t, uint64_t>> removals;  // (node id, index), 0 index: added back
  for (const raft::Entry& e : entries) {
    if (e.index <= applied) continue;  // already in the DB (restart, or a snapshot ran ahead)
    last = e.index;
    ++count;
    if (e.type == raft::EntryType::conf_change) {
      // The Core applies the configuration itself; the DB records who was removed (command.h).
      if (auto cc = raft::decode_conf_change(e.data)) {
        bool removal = cc->type == raft::ConfChangeType::remove;
        if (removal) {
          batch.put(removed_key(cc->node_id), "");
        } else {
          batch.del(removed_key(cc->node_id));
        }
        removals.emplace_back(cc->node_id, removal ? e.index : 0);
      }
      continue;
    }
    if (e.type != raft::EntryType::normal || e.data.empty()) continue;
    auto cmd = decode_command(e.data);
    if (!cmd) {
      STRATA_LOG(warn, "node %" PRIu64 ": entry %" PRIu64 " is not a command; skipped", options_.id, e.index);
      continue;
    }
    if (cmd->origin == options_.id && cmd->incarnation == incarnation_) mine.emplace_back(cmd->proposal_id, e.index);
    if (cmd->kind == CommandKind::write) {
      auto wb = WriteBatchInternal::from_contents(std::move(cmd->body));
      Prefixer prefixer(&batch);
      if (!wb || !wb->iterate(prefixer)) {
        STRATA_LOG(warn, "node %" PRIu64 ": entry %" PRIu64 " holds a malformed batch; skipped", options_.id, e.index);
      }
    } else if (cmd->kind == CommandKind::peer_address) {
      auto pa = decode_peer_address(cmd->body);
      if (pa) {
        batch.put(peer_key(pa->first), pa->second);
        addresses.push_back(std::move(*pa));
      }
    }
  }
  if (last == 0) co_return ok();
  std::string idx;
  put_fixed64(&idx, last);
  batch.put(kAppliedKey, idx);
  auto db = this->db();
  STRATA_CO_TRY(co_await db->write(std::move(batch), WriteOptions{.sync = SyncPolicy::none}));
  for (auto& [id, addr] : addresses) {
    if (id != options_.id) transport_->set_peer_address(id, addr);
  }
  std::lock_guard lock(mu_);
  applied_ = last;
  stats_.applied_entries += count;
  for (auto& [addr_id, addr] : addresses) peer_addresses_[addr_id] = addr;
  for (auto [member, index] : removals) {
    bool was_removed = removed_locked();
    if (index != 0) {
      removed_ids_.insert(member);
    } else {
      removed_ids_.erase(member);
    }
    removed_self_.store(removed_ids_.count(options_.id) != 0);
    if (member != options_.id || was_removed == removed_locked()) continue;
    if (index != 0) {
      STRATA_LOG(warn,
                 "node %" PRIu64 ": removed from the cluster by the configuration change at index %" PRIu64
                 "; it serves no client requests from now on (503 node_removed)",
                 options_.id, index);
    } else {
      STRATA_LOG(info, "node %" PRIu64 ": added back to the cluster; serving again", options_.id);
    }
  }
  for (auto [pid, index] : mine) {
    auto it = proposals_.find(pid);
    if (it == proposals_.end()) continue;  // timed out already
    it->second.done.set(index);
    proposals_.erase(it);
  }
  co_return ok();
}

// Log compaction in two steps, so that the Ready loop never waits for a memtable flush (which
// would stall every write for the flush's duration): (1) here, pick the index and its
// configuration and start flush_for_compaction() in the background; (2) once that flush made the
// DB's state up to the index durable, a later call here rewrites the Raft log (storage_->compact
// must not run concurrently with persist(), so it stays on the Ready loop). The configuration
// picked in (1) stays valid for the index: no conf change lies in (index, applied] at that point,
// and later ones are after the index.

}  // namespace strata::replication
