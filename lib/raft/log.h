// RaftLog: the Raft log as raft::Core sees it — the stable prefix in a Storage plus an unstable
// suffix (entries and possibly a snapshot) that the Core has accepted but the driver has not yet
// persisted. Modelled on etcd-io/raft's raftLog and unstable.
//
// Invariants:
//   applied <= committed <= last_index()
//   unstable entries start at unstable offset; an unstable snapshot, if any, ends at offset - 1.
//   Entries below first_index() are compacted; term(first_index() - 1) is still known.
//
// Thread-safety: none — single-threaded driver.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "lib/raft/messages.h"
#include "lib/raft/storage.h"
#include "strata/result.h"

namespace strata::raft {

// Entries and a snapshot not yet written to Storage. Entry i lives at entries[i - offset].
class Unstable {
 public:
  explicit Unstable(uint64_t offset) : offset_(offset) {}

  std::optional<uint64_t> maybe_first_index() const;
  std::optional<uint64_t> maybe_last_index() const;
  std::optional<uint64_t> maybe_term(uint64_t i) const;

  // The driver persisted entries up to i (with term t): drop them from the unstable suffix.
  void stable_to(uint64_t i, uint64_t t);
  void stable_snap_to(uint64_t i);
  void restore(Snapshot snap);
  // Appends entries, truncating any unstable entries at or after the first new index.
  void truncate_and_append(const std::vector<Entry>& ents);
  // Entries [lo, hi). REQUIRES: offset <= lo <= hi <= offset + size.
  void slice(uint64_t lo, uint64_t hi, std::vector<Entry>* out) const;

  uint64_t offset() const { return offset_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }

 private:
  std::optional<Snapshot> snapshot_;
  std::vector<Entry> entries_;
  uint64_t offset_;
};

class RaftLog {
 public:
  // REQUIRES: storage outlives the RaftLog.
  explicit RaftLog(const Storage* storage);

  uint64_t first_index() const;
  uint64_t last_index() const;
  uint64_t last_term() const;
  // The term of entry i; err_compacted() below first_index() - 1, err_unavailable() past the end.
  Result<uint64_t> term(uint64_t i) const;
  // term(i), or 0 when i is out of range.
  uint64_t term_or_zero(uint64_t i) const;
  bool match_term(uint64_t i, uint64_t t) const;

  // The follower side of AppendEntries (Raft §5.3): if the entry at `index` has `log_term`,
  // appends `ents` (truncating the first conflicting suffix) and commits up to
  // min(committed, index + ents.size()); returns the last new index. nullopt: no match.
  std::optional<uint64_t> maybe_append(uint64_t index, uint64_t log_term, uint64_t committed,
                                       const std::vector<Entry>& ents);
  // Appends entries after truncating conflicts; returns last_index().
  // REQUIRES: ents.front().index > committed.
  uint64_t append(const std::vector<Entry>& ents);
  // The index of the first entry in ents whose term differs from ours (or that is new), or 0.
  uint64_t find_conflict(const std::vector<Entry>& ents) const;
  // The largest index <= index whose term is <= term (fast backtracking, see core.h).
  uint64_t find_conflict_by_term(uint64_t index, uint64_t term) const;

  // Entries [lo, last_index()] limited to max_size_bytes (at least one).
  Result<std::vector<Entry>> entries(uint64_t lo, uint64_t max_size_bytes) const;
  // Entries [lo, hi). err_compacted() if lo < first_index().
  Result<std::vector<Entry>> slice(uint64_t lo, uint64_t hi, uint64_t max_size_bytes) const;
  std::vector<Entry> all_entries() const;  // for tests

  // Committed entries not yet handed to the driver: (applying, committed].
  std::vector<Entry> next_committed_entries() const;
  bool has_next_committed_entries() const;
  Result<Snapshot> snapshot() const;

  // Raft §5.4.1: a candidate's log is at least as up to date as ours.
  bool is_up_to_date(uint64_t last_index, uint64_t term) const;
  // Commits max_index if it is past the commit index and has term `term` (the current-term
  // commit rule, Raft §5.4.2).
  bool maybe_commit(uint64_t max_index, uint64_t term);
  void commit_to(uint64_t index);
  void applied_to(uint64_t index);
  // The driver was handed the committed entries up to `index` (in a Ready, or taken early by
  // Core::take_committed_entries) and will apply them; applied_to() follows. etcd's
  // raftLog.applying. REQUIRES: applying() <= index <= committed().
  void applying_to(uint64_t index);
  void stable_to(uint64_t i, uint64_t t) { unstable_.stable_to(i, t); }
  void stable_snap_to(uint64_t i) { unstable_.stable_snap_to(i); }
  // Replaces the log with a snapshot (InstallSnapshot, Raft §7).
  void restore(Snapshot snap);

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  uint64_t applying() const { return applying_; }
  const Unstable& unstable() const { return unstable_; }
  const Storage& storage() const { return *storage_; }

 private:
  const Storage* storage_;
  Unstable unstable_;
  uint64_t committed_;
  uint64_t applied_;
  uint64_t applying_;  // applied_ <= applying_ <= committed_
};

}  // namespace strata::raft
