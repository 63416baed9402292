#include "lib/raft/progress.h"

#include <algorithm>

#include "lib/util/assert.h"

namespace strata::raft {

void Inflights::add(uint64_t index) {
  STRATA_ASSERT_MSG(!full(), "inflight window overflow");
  STRATA_ASSERT(window_.empty() || index > window_.back());
  window_.push_back(index);
}

void Inflights::free_le(uint64_t index) {
  while (!window_.empty() && window_.front() <= index) window_.pop_front();
}

void Inflights::free_first_one() {
  if (!window_.empty()) window_.pop_front();
}

const char* to_string(ProgressState s) {
  switch (s) {
    case ProgressState::probe: return "probe";
    case ProgressState::replicate: return "replicate";
    case ProgressState::snapshot: return "snapshot";
  }
  return "unknown";
}

void Progress::reset_state(ProgressState s) {
  state_ = s;
  probe_sent_ = false;
  pending_snapshot_ = 0;
  snapshot_ticks_ = 0;
  inflights_.reset();
}

void Progress::become_probe() {
  // Leaving snapshot state: the follower has at least the snapshot, if it was applied.
  if (state_ == ProgressState::snapshot) {
    uint64_t pending = pending_snapshot_;
    reset_state(ProgressState::probe);
    next_ = std::max(match_ + 1, pending + 1);
  } else {
    reset_state(ProgressState::probe);
    next_ = match_ + 1;
  }
}

void Progress::become_replicate() {
  reset_state(ProgressState::replicate);
  next_ = match_ + 1;
}

void Progress::become_snapshot(uint64_t snapshot_index) {
  reset_state(ProgressState::snapshot);
  pending_snapshot_ = snapshot_index;
}

bool Progress::maybe_update(uint64_t n) {
  bool updated = false;
  if (match_ < n) {
    match_ = n;
    updated = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, n + 1);
  return updated;
}

bool Progress::maybe_decr_to(uint64_t rejected, uint64_t match_hint) {
  if (state_ == ProgressState::replicate) {
    // Appends are pipelined: a rejection at or below match is a stale reply.
    if (rejected <= match_) return false;
    next_ = match_ + 1;
    return true;
  }
  // Probe (or snapshot): only the rejection of the last probe counts.
  if (next_ - 1 != rejected) return false;
  next_ = std::max(std::min(rejected, match_hint + 1), match_ + 1);
  probe_sent_ = false;
  return true;
}

bool Progress::is_paused() const {
  switch (state_) {
    case ProgressState::probe: return probe_sent_;
    case ProgressState::replicate: return inflights_.full();
    case ProgressState::snapshot: return true;
  }
  return true;
}

}  // namespace strata::raft
