#include "lib/raft/read_only.h"

namespace strata::raft {

bool ReadOnly::add_request(uint64_t index, Message request) {
  if (queue_.size() >= kMaxPendingReadIndex) return false;
  std::string ctx = request.context;
  if (by_ctx_.count(ctx) != 0) return false;
  by_ctx_.emplace(ctx, ReadIndexRequest{std::move(request), index, {}});
  queue_.push_back(std::move(ctx));
  return true;
}

const std::set<uint64_t>* ReadOnly::recv_ack(uint64_t from, const std::string& ctx) {
  auto it = by_ctx_.find(ctx);
  if (it == by_ctx_.end()) return nullptr;
  it->second.acks.insert(from);
  return &it->second.acks;
}

std::vector<ReadIndexRequest> ReadOnly::advance(const std::string& ctx) {
  std::vector<ReadIndexRequest> out;
  if (by_ctx_.count(ctx) == 0) return out;
  while (!queue_.empty()) {
    std::string front = std::move(queue_.front());
    queue_.pop_front();
    auto node = by_ctx_.extract(front);
    out.push_back(std::move(node.mapped()));
    if (front == ctx) break;
  }
  return out;
}

std::string ReadOnly::last_pending_context() const { return queue_.empty() ? std::string() : queue_.back(); }

void ReadOnly::reset() {
  by_ctx_.clear();
  queue_.clear();
}

}  // namespace strata::raft
