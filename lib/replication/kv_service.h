// KvService: what the HTTP handlers need from a node — writes, reads at a consistency level,
// statistics and, in a cluster, the cluster's status and membership. Implemented by
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
// Thread-safety: every method may be called concurrently from any thread or coroutine.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/db/db.h"
#include "lib/util/result.h"

namespace strata::replication {

enum class ReadConsistency { linearizable, stale };

struct MemberStatus {
  uint64_t id = 0;
  bool voter = true;
  std::string peer_address;  // host:port
  std::string url;           // HTTP URL, empty when unknown
  uint64_t match_index = 0;  // leader only: the highest log index known replicated there
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
  std::vector<MemberStatus> members;
};

class KvService {
 public:
  virtual ~KvService() = default;
  // Applies `batch` atomically. The result is the DB sequence number (single node) or the Raft
  // log index of the entry (cluster) once the write is applied on this node.
  virtual boost::asio::awaitable<Result<uint64_t>> write(WriteBatch batch, WriteOptions options) = 0;
  virtual boost::asio::awaitable<Result<std::optional<std::string>>> get(std::string key, ReadConsistency c) = 0;
  virtual boost::asio::awaitable<Result<std::vector<KeyValue>>> scan(std::string start, std::string end, size_t limit,
                                                                     ReadConsistency c) = 0;
  virtual DbStats stats() const = 0;
  virtual uint64_t latest_sequence() const = 0;
  // nullopt in single-node mode.
  virtual std::optional<ClusterStatus> cluster_status() const { return std::nullopt; }
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
  boost::asio::awaitable<Result<std::vector<KeyValue>>> scan(std::string start, std::string end, size_t limit,
                                                             ReadConsistency) override {
    co_return co_await db_.scan(std::move(start), std::move(end), limit);
  }
  DbStats stats() const override { return db_.stats(); }
  uint64_t latest_sequence() const override { return db_.latest_sequence(); }

 private:
  DB& db_;
};

}  // namespace strata::replication
