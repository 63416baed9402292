// Storage: the stable (persisted) part of the Raft log as raft::Core reads it, modelled on
// etcd-io/raft's Storage interface. The Core never writes to Storage: the driver persists each
// Ready's entries, hard state and snapshot into its Storage, then calls Core::advance().
//
// Log indexes: the log holds entries [first_index(), last_index()]. The entry just before
// first_index() is the last one covered by the latest snapshot; its term stays readable via
// term(first_index() - 1) so that AppendEntries consistency checks work at the boundary.
//
// Errors: an index that was compacted into a snapshot yields Errc::not_found (see
// is_compacted()); an index past last_index() yields Errc::unavailable.
//
// MemoryStorage is the in-memory implementation for tests and for lib/replication to wrap.
// Invariant: ents_[0] is a dummy entry holding the snapshot's index and term.
//
// Thread-safety: none — single-threaded driver.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/raft/messages.h"
#include "strata/result.h"

namespace strata::raft {

// "No limit" for max_size_bytes arguments.
inline constexpr uint64_t kNoLimit = UINT64_MAX;

inline ErrorCode err_compacted() { return make_error_code(Errc::not_found); }
inline ErrorCode err_unavailable() { return make_error_code(Errc::unavailable); }
inline bool is_compacted(const ErrorCode& ec) { return ec == err_compacted(); }
inline bool is_unavailable(const ErrorCode& ec) { return ec == err_unavailable(); }

// The bytes an entry costs against max_size_bytes limits.
inline uint64_t entry_size_bytes(const Entry& e) { return e.data.size() + 16; }

struct InitialState {
  HardState hard_state;
  ConfState conf_state;  // the configuration as of the latest snapshot
};

class Storage {
 public:
  virtual ~Storage() = default;

  virtual Result<InitialState> initial_state() const = 0;
  // Entries [lo, hi), at most max_size_bytes in total but always at least one entry when lo < hi.
  virtual Result<std::vector<Entry>> entries(uint64_t lo, uint64_t hi, uint64_t max_size_bytes) const = 0;
  // The term of entry i, for i in [first_index() - 1, last_index()].
  virtual Result<uint64_t> term(uint64_t i) const = 0;
  virtual uint64_t first_index() const = 0;
  virtual uint64_t last_index() const = 0;
  // The latest snapshot. Errc::unavailable means "not ready yet, ask again later".
  virtual Result<Snapshot> snapshot() const = 0;
};

class MemoryStorage final : public Storage {
 public:
  MemoryStorage();

  Result<InitialState> initial_state() const override;
  Result<std::vector<Entry>> entries(uint64_t lo, uint64_t hi, uint64_t max_size_bytes) const override;
  Result<uint64_t> term(uint64_t i) const override;
  uint64_t first_index() const override;
  uint64_t last_index() const override;
  Result<Snapshot> snapshot() const override;

  void set_hard_state(const HardState& hs) { hard_state_ = hs; }
  const HardState& hard_state() const { return hard_state_; }
  // Replaces the whole log with the snapshot. Errc::invalid_argument if it is older than the
  // current snapshot.
  Result<void> apply_snapshot(Snapshot snap);
  // Records a snapshot of the state machine at index i (which must be in the log) without
  // dropping entries. Errc::invalid_argument if i is not past the current snapshot.
  Result<void> create_snapshot(uint64_t i, const ConfState& cs, std::string data);
  // Drops entries before compact_index (the entry at compact_index becomes the dummy).
  // REQUIRES: compact_index <= last_index(). err_compacted() if already compacted.
  Result<void> compact(uint64_t compact_index);
  // Appends entries, first truncating any stored entries that they replace. Entries already
  // compacted are skipped. REQUIRES: entries are contiguous and leave no gap after last_index().
  void append(const std::vector<Entry>& entries);

 private:
  uint64_t offset() const { return ents_.front().index; }

  HardState hard_state_;
  Snapshot snapshot_;
  std::vector<Entry> ents_;
};

}  // namespace strata::raft
