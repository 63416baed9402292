// Progress: the leader's view of one follower's log (Raft §5.3 nextIndex/matchIndex), and the
// flow control that etcd-io/raft layers on top (tracker/progress.go, tracker/inflights.go):
//
//   probe      the leader does not know where the follower's log matches; it sends at most one
//              append per heartbeat interval and backs off on rejections.
//   replicate  the follower's log matches up to `match`; the leader streams appends
//              optimistically (next advances on send) within a window of max_inflight messages.
//   snapshot   the follower needs a snapshot; nothing else is sent until the snapshot is
//              acknowledged, reported failed, or times out.
//
// Invariants: match < next; in replicate state the inflight window holds increasing indexes,
// each <= next - 1; the window never holds more than its capacity.
//
// Thread-safety: none — single-threaded driver.
#pragma once

#include <cstdint>
#include <cstddef>
#include <deque>

namespace strata::raft {

// A bounded window of in-flight appends, each recorded by the last index it carried.
class Inflights {
 public:
  explicit Inflights(size_t capacity) : capacity_(capacity) {}

  // REQUIRES: !full(), index larger than any recorded.
  void add(uint64_t index);
  // Frees every in-flight append whose last index is <= index (acknowledged).
  void free_le(uint64_t index);
  void free_first_one();
  void reset() { window_.clear(); }
  bool full() const { return window_.size() >= capacity_; }
  size_t count() const { return window_.size(); }

 private:
  size_t capacity_;
  std::deque<uint64_t> window_;
};

enum class ProgressState : uint8_t { probe, replicate, snapshot };

const char* to_string(ProgressState s);

class Progress {
 public:
  Progress(uint64_t next, size_t max_inflight, bool is_learner)
      : next_(next), inflights_(max_inflight), is_learner_(is_learner) {}

  void become_probe();
  void become_replicate();
  void become_snapshot(uint64_t snapshot_index);

  // An acknowledgement that the follower's log matches up to n. Returns false if it is stale.
  bool maybe_update(uint64_t n);
  // Replicate state: an append carrying entries up to n was sent.
  void optimistic_update(uint64_t n) { next_ = n + 1; }
  // A rejection of the append at `rejected` with the follower's hint `match_hint` (the largest
  // index at which its log may still match). Returns false if the rejection is stale.
  bool maybe_decr_to(uint64_t rejected, uint64_t match_hint);
  // The leader should not send appends now (probe already sent, window full, snapshot pending).
  bool is_paused() const;

  uint64_t match() const { return match_; }
  uint64_t next() const { return next_; }
  ProgressState state() const { return state_; }
  uint64_t pending_snapshot() const { return pending_snapshot_; }
  bool recent_active() const { return recent_active_; }
  bool is_learner() const { return is_learner_; }
  Inflights& inflights() { return inflights_; }
  const Inflights& inflights() const { return inflights_; }

  void set_recent_active(bool v) { recent_active_ = v; }
  void set_learner(bool v) { is_learner_ = v; }
  void set_probe_sent(bool v) { probe_sent_ = v; }
  void set_match(uint64_t m) { match_ = m; }  // the leader's own progress
  // Snapshot state: ticks since the snapshot was sent (see Core's snapshot timeout).
  int tick_snapshot() { return ++snapshot_ticks_; }

 private:
  void reset_state(ProgressState s);

  uint64_t match_ = 0;
  uint64_t next_;
  ProgressState state_ = ProgressState::probe;
  uint64_t pending_snapshot_ = 0;
  int snapshot_ticks_ = 0;
  bool probe_sent_ = false;
  bool recent_active_ = false;
  Inflights inflights_;
  bool is_learner_;
};

}  // namespace strata::raft
