// ReadOnly: the leader's pending ReadIndex requests (thesis §6.4). Each request records the
// commit index at the time it arrived; it becomes safe to serve once a quorum of voters has
// answered a heartbeat that carried its context, proving that the leader was still the leader
// when the request arrived. Requests are confirmed in arrival order: an acknowledgement for a
// later context also confirms every earlier request.
//
// Invariants: at most kMaxPendingReadIndex requests; contexts are unique among pending requests.
//
// Thread-safety: none — single-threaded driver.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lib/raft/messages.h"

namespace strata::raft {

inline constexpr size_t kMaxPendingReadIndex = 4096;

struct ReadIndexRequest {
  Message request;  // the read_index message (from = the node that asked)
  uint64_t index = 0;
  std::set<uint64_t> acks;
};

class ReadOnly {
 public:
  // Returns false (and drops the request) when the context is already pending or the queue is
  // full; the caller's read then times out and is retried.
  bool add_request(uint64_t index, Message request);
  // Records a heartbeat acknowledgement; returns the acks for ctx, or nullptr if unknown.
  const std::set<uint64_t>* recv_ack(uint64_t from, const std::string& ctx);
  // Removes and returns every request up to and including ctx.
  std::vector<ReadIndexRequest> advance(const std::string& ctx);
  // The context of the newest pending request ("" if none): heartbeats carry it.
  std::string last_pending_context() const;
  void reset();
  size_t pending() const { return queue_.size(); }

 private:
  std::map<std::string, ReadIndexRequest> by_ctx_;
  std::deque<std::string> queue_;
};

}  // namespace strata::raft
