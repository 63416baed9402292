// KvService: what the HTTP handlers need from a node — writes, reads at a consistency level,
// scans in either direction, the engine's admin surface (stats, lookup traces, runtime options,
// flush, manual compaction, reads at a sequence number) and, in a cluster, the cluster's status
// and membership. Implemented by
// LocalKvService (one plain DB: single-node mode, today's key encoding) and by
// replication::Node (a Raft-replicated DB).
//
// Errors (Result): those of DB (invalid_argument, read_only, shutting_down, corruption, ...) plus,
// in a cluster:
//   not_leader    the write or read was refused before anything was proposed (no leader known,
//                 leadership transfer): it was NOT applied;
//   timed_out     no answer before the deadline: a write MAY have been applied;
//   unavailable   no quorum (the node knows no leader when the deadline passed): a write MAY
//                 have been applied.
//   removed       this node was removed from the cluster (removed()): nothing was done;
//   not_supported the call has no meaning here: get_at and trace with a sequence number in a
//                 cluster (sequence numbers are per node; they are not Raft indexes).
// Admin calls (trace, option_list, set_option, flush, compact_range) act on THIS node's local DB
// only; in a cluster they are not replicated and read no quorum.
// Thread-safety: every method may be called concurrently from any thread or coroutine.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/db.h"
#include "strata/histogram.h"
#include "lib/raft/message_check.h"
#include "lib/replication/transport.h"
#include "strata/result.h"

namespace strata::replication {

enum class ReadConsistency { linearizable, stale };

// One scan: pairs with start <= key < end (empty end: no upper bound), at most `limit` of them
// (0: no limit), in ascending key order, or descending with `reverse` (from the last key < end
// down to start; a reverse page continues with end = the last key it returned).
struct ScanOptions {
  std::string start;
  std::string end;
  size_t limit = 0;
  bool reverse = false;
  ReadConsistency consistency = ReadConsistency::linearizable;
};

struct MemberStatus {
  uint64_t id = 0;
  bool voter = true;
  std::string peer_address;  // host:port
  std::string url;           // HTTP URL, empty when unknown
  uint64_t match_index = 0;  // leader only: the highest log index known replicated there
};

// A replication::Node's counters since it opened (GET /v1/stats "replication", /metrics
// strata_raft_*). Times in microseconds.
struct NodeStats {
  uint64_t proposals = 0;
  uint64_t proposals_refused = 0;  // overloaded: max_pending_proposals were waiting
  uint64_t proposal_batches = 0;   // prop messages stepped into the Core (each one or more proposals)
  uint64_t applied_entries = 0;
  uint64_t snapshots_sent = 0;
  uint64_t snapshots_installed = 0;
  uint64_t compactions = 0;
  uint64_t read_index_rounds = 0;
  uint64_t learners_removed = 0;  // by the leader's learner_timeout_ms
  // The Ready loop (node_ready.cc): Readies handled, log entries they persisted, the time spent
  // persisting them (the write and its fdatasync), and Raft messages handed to the transport.
  // persist_micros / ready_cycles is the fsync's share of a cycle; entries_persisted /
  // ready_cycles is the batch size (group commit at the Raft level).
  uint64_t ready_cycles = 0;
  uint64_t entries_persisted = 0;
  uint64_t persist_micros = 0;
  uint64_t messages_sent = 0;
  // Committed entries a leader handed to the apply task as soon as a follower's acknowledgement
  // committed them, during a Ready (Node::on_message), instead of with the next Ready.
  uint64_t entries_applied_early = 0;
  // Times the leader this node knows of changed to another node (not to "none"): elections won
  // by anyone, as this node saw them.
  uint64_t leader_changes = 0;
  // Durations: each Ready's Raft log persist (the append and its fdatasync), and each proposal
  // from Node::write (or a membership command) to its result on this node (committed by a
  // quorum and applied here, or failed).
  HistogramSnapshot persist_latency;
  HistogramSnapshot proposal_latency;
  // Peer messages raft::Core dropped without acting on them (raft::Core::check_message), by
  // raft::DropReason: values a correct peer never sends, or a sender outside the configuration.
  // Each is logged (at most one line a second, with the count).
  std::array<uint64_t, raft::kDropReasonCount> messages_invalid{};
};

struct ClusterStatus {
  uint64_t node_id = 0;
  std::string role;  // leader | follower | candidate | learner (pre_candidate reads as candidate)
  uint64_t leader_id = 0;
  std::string leader_url;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t first_log_index = 0;
  uint64_t snapshot_index = 0;
  bool removed = false;  // this node was removed from the cluster (KvService::removed)
  std::vector<MemberStatus> members;
  NodeStats stats;
  TransportStats transport;  // the peer transport's counters and limits
};

class KvService {
 public:
  virtual ~KvService() = default;
  // Applies `batch` atomically. The result is the DB sequence number (single node) or the Raft
  // log index of the entry (cluster) once the write is applied on this node.
  virtual boost::asio::awaitable<Result<uint64_t>> write(WriteBatch batch, WriteOptions options) = 0;
  virtual boost::asio::awaitable<Result<std::optional<std::string>>> get(std::string key, ReadConsistency c) = 0;
  // The values of `keys` (nullopt: absent), all read at one point in time: DB::multi_get after
  // one read barrier when linearizable.
  virtual boost::asio::awaitable<Result<std::vector<std::optional<std::string>>>> multi_get(
      std::vector<std::string> keys, ReadConsistency c) = 0;
  // See ScanOptions.
  virtual boost::asio::awaitable<Result<std::vector<KeyValue>>> scan(ScanOptions options) = 0;
  // The forward scan of [start, end), as scan(ScanOptions).
  boost::asio::awaitable<Result<std::vector<KeyValue>>> scan(std::string start, std::string end, size_t limit,
                                                             ReadConsistency c) {
    co_return co_await scan(ScanOptions{std::move(start), std::move(end), limit, false, c});
  }
  virtual DbStats stats() const = 0;

  // The value of `key` as of DB sequence number `seq` (TinyLSM's get(key, at=seq)): the newest
  // version with sequence <= seq. Exact for sequences pinned by a DB snapshot; an older, unpinned
  // sequence may read nothing once compaction dropped the versions it needed (see ReadOptions).
  // Errors: invalid_argument (seq > latest_sequence()), not_supported (cluster), the DB's.
  virtual boost::asio::awaitable<Result<std::optional<std::string>>> get_at(std::string key, uint64_t seq) = 0;
  // DB::trace of `key` (at `seq` when given), with `key` and every step as the user sees them.
  // Errors: as get_at (not_supported only when `seq` is given in a cluster).
  virtual boost::asio::awaitable<Result<LookupTrace>> trace(std::string key, std::optional<uint64_t> seq) = 0;
  // DB::option_list / DB::set_option of the local DB (invalid_argument with *why).
  virtual std::vector<OptionInfo> option_list() const = 0;
  virtual Result<void> set_option(std::string_view name, std::string_view value, std::string* why) = 0;
  // DB::flush of the local DB.
  virtual boost::asio::awaitable<Result<void>> flush() = 0;
  // A consistent copy of the store in directory `dir` (created; must not exist), openable with
  // DB::open: DB::checkpoint. Returns the last sequence number it holds. Errors: the DB's;
  // not_supported where there is no single DB to copy. A cluster node copies its replicated DB
  // (keys under "u", metadata under "m"; replication::Node::checkpoint).
  virtual boost::asio::awaitable<Result<uint64_t>> checkpoint(std::string dir) {
    co_return make_error_code(Errc::not_supported);
  }
  // DB::compact_range of the local DB over user keys [begin, end] (empty: unbounded).
  virtual boost::asio::awaitable<Result<void>> compact_range(std::string begin, std::string end) = 0;

  virtual uint64_t latest_sequence() const = 0;
  // nullopt in single-node mode.
  virtual std::optional<ClusterStatus> cluster_status() const { return std::nullopt; }
  // Cluster: this node was removed from the cluster by a membership change; it serves no reads or
  // writes (they fail with removed). Always false for a single node.
  virtual bool removed() const { return false; }
  // Membership (cluster only; not_supported otherwise). add_member adds a learner that is
  // promoted to voter once it has caught up. Errors: not_leader (ask the leader), busy (a change
  // is pending), invalid_argument, timed_out.
  virtual boost::asio::awaitable<Result<void>> add_member(uint64_t id, std::string peer_address) {
    co_return make_error_code(Errc::not_supported);
  }
  virtual boost::asio::awaitable<Result<void>> remove_member(uint64_t id) {
    co_return make_error_code(Errc::not_supported);
  }
};

// Runs `options` over `db` through an Iterator whose keys all start with `key_prefix` (the
// replicated DB's "u"; empty for a plain DB), which the returned keys are stripped of. Reverse
// scans walk the iterator backward from seek_to_last. Errors: the iterator's.
// Runs on: the caller's executor. REQUIRES: db stays open during the call.
boost::asio::awaitable<Result<std::vector<KeyValue>>> scan_db(DB& db, ScanOptions options, std::string key_prefix);

// Single-node mode: a plain DB with its keys as they are.
// REQUIRES: the DB outlives the service.
class LocalKvService final : public KvService {
 public:
  explicit LocalKvService(DB& db) : db_(db) {}
  boost::asio::awaitable<Result<uint64_t>> write(WriteBatch batch, WriteOptions options) override {
    co_return co_await db_.write(std::move(batch), options);
  }
  boost::asio::awaitable<Result<std::optional<std::string>>> get(std::string key, ReadConsistency) override {
    co_return co_await db_.get(std::move(key));
  }
  boost::asio::awaitable<Result<std::vector<std::optional<std::string>>>> multi_get(std::vector<std::string> keys,
                                                                                    ReadConsistency) override {
    co_return co_await db_.multi_get(std::move(keys));
  }
  using KvService::scan;
  boost::asio::awaitable<Result<std::vector<KeyValue>>> scan(ScanOptions options) override {
    co_return co_await scan_db(db_, std::move(options), {});
  }
  DbStats stats() const override { return db_.stats(); }
  uint64_t latest_sequence() const override { return db_.latest_sequence(); }
  boost::asio::awaitable<Result<std::optional<std::string>>> get_at(std::string key, uint64_t seq) override {
    if (seq > db_.latest_sequence()) co_return make_error_code(Errc::invalid_argument);
    co_return co_await db_.get(std::move(key), ReadOptions{.snapshot = seq});
  }
  boost::asio::awaitable<Result<LookupTrace>> trace(std::string key, std::optional<uint64_t> seq) override {
    if (seq && *seq > db_.latest_sequence()) co_return make_error_code(Errc::invalid_argument);
    co_return co_await db_.trace(std::move(key), ReadOptions{.snapshot = seq});
  }
  std::vector<OptionInfo> option_list() const override { return db_.option_list(); }
  Result<void> set_option(std::string_view name, std::string_view value, std::string* why) override {
    return db_.set_option(name, value, why);
  }
  boost::asio::awaitable<Result<void>> flush() override { co_return co_await db_.flush(); }
  boost::asio::awaitable<Result<uint64_t>> checkpoint(std::string dir) override {
    co_return co_await db_.checkpoint(std::move(dir));
  }
  boost::asio::awaitable<Result<void>> compact_range(std::string begin, std::string end) override {
    co_return co_await db_.compact_range(std::move(begin), std::move(end));
  }

 private:
  DB& db_;
};

}  // namespace strata::replication
