// replication::Node: one member of a Strata Raft cluster. It drives raft::Core on Asio and serves
// the KvService API over a replicated DB (DESIGN.md, "Replication").
//
// Directory layout under NodeOptions::data_dir:
//   raft/      the Raft log (RaftStorage, docs/format/raft_log.md)
//   db/        the state machine: a strata::DB with the key encoding of command.h
//   snap-in/   checkpoints being received from the leader; snap-out/ checkpoints being sent
//   db.old/    the previous DB during a snapshot install (see install_snapshot)
//
// Loops (coroutines on the executor passed to open(); they synchronize through mu_):
//   - tick loop: every tick_ms, Core::tick(), and expiry of proposals and reads past their
//     deadline;
//   - Ready loop (node_ready.cc): steps the queued proposals into the Core as one batch, takes
//     one Ready at a time and, in this order, installs a received snapshot (after the apply
//     task drained), queues the committed entries that are already durable in the local log
//     for the apply task, persists the Ready (RaftStorage::persist: one fdatasync; a leader
//     sends its appends and heartbeats before it), sends its messages, queues the remaining
//     committed entries, calls Core::advance(), and compacts the log past the threshold (the
//     DB flush that must precede a compaction runs in the background; see maybe_compact). While
//     a leader's Ready is handled, an acknowledgement that commits entries already durable
//     here queues them for the apply task at once (on_message), so a write is answered one
//     Ready cycle sooner. With
//     NodeOptions::pipeline_apply it does not wait for the DB writes: the next Ready is
//     persisted while the previous one's entries are applied, unless more than
//     kMaxApplyQueueBytes are queued; without (the default), it waits for the apply task after
//     queueing the durable prefix (so that prefix is applied before the fsync, as a leader did
//     before) and after queueing the rest.
//   - apply task (node_apply.cc): takes everything queued, applies it to the DB in one
//     WriteBatch that also records the applied index, completes this node's proposals and the
//     waiters for that index. One task, FIFO: entries are applied in index order (the ordering
//     argument is in node_apply.cc and docs/format/raft_log.md).
//
// Exactly-once application: an entry's effect and "mapplied" = its index are one atomic DB
// write, and entries at or below the DB's applied index are skipped, so neither a crash nor a
// snapshot that ran ahead of the Raft log applies an entry twice or loses one. The DB is written
// without fdatasync (the Raft log is the durable record); the log is compacted only after
// DB::flush() made the applied state durable in SSTables. Raft's own applied index
// (core_->log().applied(), which drives conf changes) may run ahead of the DB's (applied_) by
// what is queued; everything about the DB (reads, compaction, status) uses applied_.
// Tasks: the two loops, the apply task and a compaction flush in flight are counted in
// loops_running_.
//
// Writes: propose a Command; a follower's proposal is forwarded by Raft to the leader. At most
// max_pending_proposals writes wait at a time (beyond: overloaded, not proposed). Proposals
// are queued and the Ready loop steps all queued ones into the Core as one batch (one log append,
// one fsync, one append message per follower for the lot). The caller
// waits until the entry is applied on THIS node (so a write through a follower is acknowledged
// only once that follower applied it), or fails: overloaded or not_leader (not proposed), timed_out or
// unavailable after proposal_timeout_ms (may have been applied).
// Removal: applying a configuration change that removes a node records it in the DB of every
// member ("mremoved/<id>", command.h); the removed node itself, once it applied that change (the
// leader tells the commit index to every node of the old configuration, it included), refuses
// every read and write with Errc::removed instead of forwarding writes it would never see
// applied. A node that was down during its removal does not learn of it this way (it campaigns
// in vain and answers not_leader).
// Linearizable reads: ReadIndex (thesis §6.4). Concurrent readers share one read_index request;
// each waits until the node applied the confirmed index, then reads its local DB.
//
// Thread-safety: public methods may be called from any thread. raft::Core is not thread-safe: it
// is touched only under mu_, which is never held across co_await.
// Lifetime: stop() must complete before destruction; the Transport must outlive stop().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "strata/db.h"
#include "lib/io/file_system.h"
#include "lib/raft/core.h"
#include "lib/replication/command.h"
#include "lib/replication/kv_service.h"
#include "lib/replication/raft_storage.h"
#include "lib/replication/transport.h"
#include "strata/histogram.h"
#include "lib/util/oneshot.h"

namespace strata::replication {

struct NodeOptions {
  uint64_t id = 0;
  // The initial voters (this node included) and their peer addresses. The voters are recorded on
  // the first start and ignored afterwards; the addresses are defaults that replicated address
  // updates override. A node that joins an existing cluster lists the current members without
  // itself (it waits to be added).
  std::map<uint64_t, std::string> initial_members;
  std::string data_dir;
  std::string http_url;  // this node's HTTP URL, reported by cluster_status()
  Options db_options;    // the DB's sync policy is forced to none (see above)
  uint32_t tick_ms = 50;
  int election_tick = 16;  // election timeout = election_tick .. 2x ticks (0.8-1.6 s)
  int heartbeat_tick = 2;
  uint32_t proposal_timeout_ms = 5000;
  // Writes accepted by this node and not yet applied (or failed) at most; beyond it write()
  // fails at once with overloaded (nothing proposed). Bounds the memory of a node whose writes
  // arrive faster than the cluster commits them (or while it cannot commit at all).
  size_t max_pending_proposals = 8192;
  // true: the Ready loop persists the next Ready while the apply task applies the previous one
  // (pipelining). false (default): it waits for the apply task after queueing: it applies the
  // durable prefix, persists, applies the rest, in sequence. Pipelining measured no gain here
  // (and -10% at 64 connections: the loop then cycles faster, with smaller batches per fsync;
  // benchmarks/RESULTS.md), so it is off by default and kept for slower disks / idle CPUs.
  bool pipeline_apply = false;
  uint32_t read_timeout_ms = 5000;
  // The leader removes a learner (a joining node) it has not heard from for this long before it
  // caught up and was promoted; 0: never. See maybe_promote_learners_locked (node_members.cc).
  uint32_t learner_timeout_ms = 60000;
  // Compact the Raft log once it holds this many applied entries (TinyLSM's
  // LOG_COMPACTION_THRESHOLD); 0 disables compaction.
  uint64_t snapshot_threshold_entries = 10000;
  // Entries kept after the compaction point, so that a briefly lagging follower catches up from
  // the log rather than by snapshot.
  uint64_t snapshot_trailing_entries = 1000;
  // The Raft log segment is preallocated in steps of this many bytes (RaftStorageOptions).
  uint64_t raft_log_preallocate_bytes = 16 << 20;
  uint64_t seed = 0;  // 0: random
};

class Node final : public KvService, public TransportHandler {
 public:
  // Opens the Raft log and the DB (finishing an interrupted snapshot install) in
  // options.data_dir. Errors: the DB's and RaftStorage's (corruption, io_error, busy).
  // REQUIRES: fs outlives the Node.
  static boost::asio::awaitable<Result<std::unique_ptr<Node>>> open(boost::asio::any_io_executor executor,
                                                                    io::FileSystem& fs, NodeOptions options);
  ~Node() override;

  // REQUIRES: called once, before start(); the transport outlives the Node's stop().
  void set_transport(Transport* transport);
  // Spawns the tick and Ready loops.
  void start();
  // Stops the loops, fails every waiter with shutting_down, and closes the DB.
  boost::asio::awaitable<Result<void>> stop();

  // KvService.
  boost::asio::awaitable<Result<uint64_t>> write(WriteBatch batch, WriteOptions options) override;
  boost::asio::awaitable<Result<std::optional<std::string>>> get(std::string key, ReadConsistency c) override;
  boost::asio::awaitable<Result<std::vector<std::optional<std::string>>>> multi_get(std::vector<std::string> keys,
                                                                                    ReadConsistency c) override;
  using KvService::scan;
  boost::asio::awaitable<Result<std::vector<KeyValue>>> scan(ScanOptions options) override;
  DbStats stats() const override;
  uint64_t latest_sequence() const override;
  // Admin calls act on this node's DB: user keys are encoded ("u" + key) on the way in and
  // decoded on the way out. get_at, and trace with a sequence number, are not_supported: DB
  // sequence numbers differ from node to node.
  boost::asio::awaitable<Result<std::optional<std::string>>> get_at(std::string key, uint64_t seq) override;
  boost::asio::awaitable<Result<LookupTrace>> trace(std::string key, std::optional<uint64_t> seq) override;
  std::vector<OptionInfo> option_list() const override;
  Result<void> set_option(std::string_view name, std::string_view value, std::string* why) override;
  boost::asio::awaitable<Result<void>> flush() override;
  // A consistent copy of this node's replicated DB in `dir` (DB::checkpoint): the user keys under
  // "u" and the state machine's metadata under "m" (command.h), as of some applied log index. It
  // is not a Raft snapshot and cannot seed a member by itself: `strata export` reads its user keys
  // out, and `strata import` loads them into a new cluster (docs/operations.md, "Restoring a
  // cluster"). Errors: removed; the DB's.
  boost::asio::awaitable<Result<uint64_t>> checkpoint(std::string dir) override;
  boost::asio::awaitable<Result<void>> compact_range(std::string begin, std::string end) override;
  std::optional<ClusterStatus> cluster_status() const override;
  boost::asio::awaitable<Result<void>> add_member(uint64_t id, std::string peer_address) override;
  boost::asio::awaitable<Result<void>> remove_member(uint64_t id) override;
  // True once this node applied a configuration change that removed it (and none that added it
  // back since); then every read and write fails with Errc::removed. Its Raft core keeps running
  // (a leader may add it back).
  bool removed() const override;

  // Waits until a linearizable read may be served locally (ReadIndex). Errors as write().
  boost::asio::awaitable<Result<void>> read_barrier();

  // TransportHandler.
  void on_message(raft::Message m) override;
  void on_peer_hello(uint64_t id, std::string http_url) override;
  boost::asio::awaitable<Result<void>> on_snapshot_chunk(uint64_t from, SnapshotChunk chunk) override;
  boost::asio::awaitable<Result<void>> on_snapshot_end(uint64_t snapshot_id, raft::Message m) override;

  uint64_t id() const { return options_.id; }
  NodeStats node_stats() const;
  // Peer addresses as known now (from the options and replicated address commands).
  std::map<uint64_t, std::string> peer_addresses() const;

 private:
  struct ProposalWaiter {
    Oneshot<Result<uint64_t>> done;
    std::chrono::steady_clock::time_point deadline;
  };
  struct PendingProposal {  // accepted by write(), not yet stepped into the Core
    uint64_t proposal_id;
    std::string data;
  };
  struct ReadWaiter {
    Oneshot<Result<uint64_t>> index;  // the confirmed read index
    std::chrono::steady_clock::time_point deadline;
  };
  struct AppliedWaiter {
    uint64_t index;
    Oneshot<Result<uint64_t>> done;
    std::chrono::steady_clock::time_point deadline;
  };
  // A run of committed entries queued for the apply task, in index order. `fail_proposals_upto`
  // (non-zero) marks a leader change seen after these entries: once they are applied, this
  // node's proposals with ids up to it that are still waiting fail with timed_out (they may be
  // committed by the new leader, or lost).
  struct ApplyItem {
    std::vector<raft::Entry> entries;
    uint64_t bytes = 0;
    uint64_t fail_proposals_upto = 0;
  };
  struct PendingCompaction {  // the DB is durable up to index; the log may be compacted there
    uint64_t index = 0;
    raft::ConfState conf_state;
  };
  struct Incoming {  // a snapshot being received
    uint64_t id = 0;
    uint64_t from = 0;
    std::string dir;
    std::string file;  // the file being written
    std::unique_ptr<io::File> out;
    uint64_t next_offset = 0;
  };
  struct Staged {  // a received, durable checkpoint waiting for its Ready
    std::string dir;
    uint64_t index = 0;
    uint64_t term = 0;
  };

  // The Ready loop waits for the apply task while more entry data than this is queued.
  static constexpr uint64_t kMaxApplyQueueBytes = 8 << 20;

  Node(boost::asio::any_io_executor executor, io::FileSystem& fs, NodeOptions options);
  boost::asio::awaitable<Result<void>> open_impl();
  boost::asio::awaitable<Result<void>> open_db();
  boost::asio::awaitable<Result<void>> load_metadata();
  boost::asio::awaitable<Result<std::vector<uint64_t>>> bootstrap_voters();

  // node.cc
  boost::asio::awaitable<void> tick_loop();
  boost::asio::awaitable<void> ready_loop();
  boost::asio::awaitable<Result<void>> handle_ready(raft::Ready rd, bool leader);
  // Logs (info) what changed in the Raft role and the known leader: an election started, won or
  // lost, a new leader, no leader. Updates last_role_ (last_leader_ is the caller's).
  void log_soft_state_locked(const raft::SoftState& soft);
  // node_stats() under mu_.
  NodeStats node_stats_locked() const;
  // node_apply.cc
  // Queues committed[begin, end) for the apply task. Normal entries' data is moved out (the
  // Core's advance() reads only their index and type); conf changes are copied.
  // REQUIRES: the entries are committed and durable in the local Raft log, and follow what was
  // queued before.
  void enqueue_apply_locked(std::vector<raft::Entry>& committed, size_t begin, size_t end);
  // Queues a leader change: see ApplyItem.
  void enqueue_leader_change_locked();
  boost::asio::awaitable<void> apply_loop();
  // Waits until at most `max_bytes` of entry data are queued and, with max_bytes == 0, until
  // the apply task is idle. Returns false if the node is stopping.
  boost::asio::awaitable<bool> wait_for_apply(uint64_t max_bytes);
  void wake_apply_locked();
  // Applies the entries above applied_ in one WriteBatch and completes this node's proposals.
  // REQUIRES: every entry is committed and durable in the local Raft log; called by the apply
  // task only (or with it idle).
  boost::asio::awaitable<Result<void>> apply_entries(std::span<const raft::Entry> entries);
  boost::asio::awaitable<Result<void>> maybe_compact();
  boost::asio::awaitable<void> flush_for_compaction(uint64_t index, raft::ConfState cs);
  // Waits until a flush started by maybe_compact() (if any) has finished.
  boost::asio::awaitable<void> wait_for_compaction_flush();
  void task_finished(std::exception_ptr e);
  void notify_locked();
  void step_pending_proposals_locked();
  void expire_waiters_locked(std::chrono::steady_clock::time_point now);
  void issue_read_index_locked();
  void handle_read_states_locked(const std::vector<raft::ReadState>& states);
  void complete_applied_waiters_locked();
  // Proposes a Command of `kind` with `body` (a fresh proposal id) and waits until it is applied
  // here; the result is its log index. Errors: shutting_down, not_leader, overloaded, timed_out.
  boost::asio::awaitable<Result<uint64_t>> propose_and_wait(CommandKind kind, std::string body);
  // Proposes `cc` (again while another change is in flight: busy) and polls every 20 ms until the
  // configuration has it (the node is, or for a removal is no longer, a member). Errors:
  // not_leader, timed_out after proposal_timeout_ms, the Core's refusal.
  boost::asio::awaitable<Result<void>> change_membership(raft::ConfChange cc);
  boost::asio::awaitable<Result<void>> wait_applied(uint64_t index);
  ErrorCode timeout_error_locked() const;
  bool removed_locked() const;
  // ok, or removed (see removed()).
  Result<void> check_serving() const;
  std::shared_ptr<DB> db() const;
  void fail_all_locked(ErrorCode ec);
  void maybe_promote_learners_locked();

  // node_snapshot.cc
  boost::asio::awaitable<void> send_snapshot(raft::Message m);
  boost::asio::awaitable<Result<void>> install_snapshot(const raft::Snapshot& snap);
  boost::asio::awaitable<Result<void>> remove_tree(std::string dir);

  const boost::asio::any_io_executor executor_;
  io::FileSystem& fs_;
  NodeOptions options_;
  const uint64_t incarnation_;
  std::unique_ptr<RaftStorage> storage_;
  Transport* transport_ = nullptr;

  mutable std::mutex mu_;
  // Guarded by mu_:
  std::unique_ptr<raft::Core> core_;
  std::shared_ptr<DB> db_;
  uint64_t applied_ = 0;  // last index whose effect is in the DB
  uint64_t next_proposal_id_ = 1;
  std::map<uint64_t, ProposalWaiter> proposals_;
  std::vector<PendingProposal> pending_proposals_;  // stepped by the Ready loop as one batch
  std::vector<ReadWaiter> reads_waiting_;           // not yet part of a read_index round
  std::vector<ReadWaiter> reads_inflight_;          // waiting for the round `read_ctx_`
  std::string read_ctx_;
  std::chrono::steady_clock::time_point read_issued_at_;
  uint64_t read_counter_ = 0;
  std::vector<AppliedWaiter> applied_waiters_;
  std::deque<ApplyItem> apply_queue_;
  uint64_t apply_queue_bytes_ = 0;
  uint64_t last_enqueued_index_ = 0;             // the apply queue is in index order
  bool apply_busy_ = false;                      // the apply task is applying a batch
  std::optional<Oneshot<bool>> apply_wake_;      // the apply task waits for entries
  std::optional<Oneshot<bool>> apply_progress_;  // the Ready loop waits for the apply task
  std::optional<Oneshot<bool>> loop_wake_;
  bool wake_pending_ = false;
  bool stopping_ = false;
  std::map<uint64_t, std::string> peer_addresses_;
  std::map<uint64_t, std::string> peer_urls_;
  std::set<uint64_t> removed_ids_;         // the "mremoved/" keys of the DB (command.h)
  std::atomic<bool> removed_self_{false};  // removed_ids_ holds this node; written under mu_
  std::map<uint64_t, std::chrono::steady_clock::time_point> learner_heard_;  // leader: learner -> last heard
  std::map<uint64_t, bool> snapshot_in_flight_;
  std::optional<Staged> staged_;
  std::optional<Oneshot<bool>> compaction_flush_done_;  // set while a flush_for_compaction runs
  std::optional<PendingCompaction> compaction_flushed_;
  uint64_t last_leader_ = raft::kNone;           // as of the last Ready's soft state
  raft::Role last_role_ = raft::Role::follower;  // as of the last Ready's soft state
  // See NodeStats (any thread).
  LatencyHistogram persist_latency_;
  LatencyHistogram proposal_latency_;
  // While a leader's Ready is being handled: the last index durable in the local log before it
  // (0 otherwise). on_message hands committed entries up to it to the apply task at once.
  uint64_t early_apply_limit_ = 0;
  NodeStats stats_;

  // What an invalid message's log line shows (not its entries or context).
  struct MessageHead {
    raft::MessageType type;
    uint64_t from, term, index, commit;
    size_t entries;
  };
  // Logs a message the Core dropped as invalid (at most one line a second). REQUIRES: mu_ held.
  void log_invalid_message_locked(const MessageHead& m);
  std::chrono::steady_clock::time_point last_invalid_log_{};
  uint64_t invalid_since_log_ = 0;

  // Used only by the transport's inbound snapshot coroutines (strand: one runs at a time between
  // its co_awaits). A chunk that arrives while another one is being written (a second stream)
  // is refused (busy) instead of replacing incoming_ under the pending write.
  std::optional<Incoming> incoming_;
  bool snapshot_chunk_busy_ = false;
  std::atomic<uint64_t> snapshot_counter_{0};
  std::atomic<int> loops_running_{0};
  Oneshot<bool> loops_done_;
  // One thread for blocking file-system work that io::FileSystem does not offer (remove_tree).
  boost::asio::thread_pool blocking_pool_{1};
};

}  // namespace strata::replication
