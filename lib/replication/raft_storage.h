// RaftStorage: the durable raft::Storage of one node — the Raft log, the hard state (term, vote,
// commit index) and the latest snapshot's metadata, kept in log segments framed by lib/wal's
// WalWriter/WalReader (docs/format/raft_log.md).
//
// Design: an in-memory raft::MemoryStorage answers every read from raft::Core; the files are its
// redo log. persist() appends one record per changed item (hard state, entries, snapshot
// metadata) to the live segment and fdatasyncs once, then applies the same change to memory. So
// what Core reads from Storage is always durable, and the driver may send a Ready's messages as
// soon as persist() returned (the rule in lib/raft/core.h).
//
// Segments: `<dir>/NNNNNN.log`, exactly one live (the highest number). compact() writes a whole
// new segment (header, snapshot metadata, hard state, the entries after the snapshot) to
// `NNNNNN.log.tmp`, syncs it, renames it into place, syncs the directory and only then removes
// the older segment, so a crash at any point leaves one complete segment to recover from.
// Recovery replays the highest-numbered segment; a torn tail (an interrupted append) is
// truncated at the last whole record; a bad record followed by valid ones is corruption.
//
// Preallocation: the live segment is kept fallocate'd ahead of its end, in steps of
// RaftStorageOptions::preallocate_bytes, so that an append overwrites allocated (zero) space
// instead of growing the file: on ext4 an fdatasync of a growing file also commits the size
// change to the journal (measured here: 135 us p50 growing vs 84 us inside a fallocate'd file,
// 256-byte pwrite+fdatasync). fallocate leaves the blocks "unwritten", though, and the first
// write into such an extent converts it: an inode update that the fdatasync writes as well (a
// second I/O before the cache flush). So the space just ahead of the appends is also
// overwritten with zeros (WalWriter::write_zeros, no sync; the next persist's fdatasync makes
// them durable), kZeroFillStepBytes at a time, kept at least one step ahead: then an append's
// fdatasync writes its data alone (measured on the session-5 machine, 3000-byte
// pwrite+fdatasync, p50: 105 us into fallocate'd space, 70-80 us into zeroed space, 110 us
// growing the file). The space past the last record reads as zeros, where WalReader
// stops (Stop::zeros), so the last index always comes from the records, never from the file
// size. Recovery truncates the segment at the end of its last whole record (dropping a torn
// tail and the zeros) and preallocates again; a compacted segment is preallocated before it is
// written.
//
// Snapshot data: only the metadata (index, term, configuration) is stored here. The state
// machine's image is the DB itself (lib/replication/node.h): snapshot() returns an empty data
// string, and the driver streams a DB checkpoint when Core asks it to send a snapshot.
//
// Errors: io_error / no_space from the file system (a failed sync poisons the writer: every later
// persist() fails and the node must stop, never retry), corruption from recovery.
// Thread-safety: the raft::Storage reads and persist()/compact() may run on different threads;
// an internal mutex guards the in-memory log (never held across co_await). persist() and
// compact() must not run concurrently with each other (the node's single Ready loop calls them).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lib/io/file_system.h"
#include "lib/raft/storage.h"
#include "strata/result.h"
#include "lib/wal/wal_writer.h"

namespace strata::replication {

// Record kinds of a Raft log segment (the first payload byte). See docs/format/raft_log.md.
enum class RaftRecordKind : uint8_t { header = 1, hard_state = 2, entries = 3, snapshot = 4 };
inline constexpr char kRaftLogMagic[8] = {'S', 'T', 'R', 'A', 'F', 'T', 'L', 'G'};
inline constexpr uint32_t kRaftLogFormatVersion = 1;
// Entries are written in records of at most this many bytes (well below wal::kMaxRecordBytes).
inline constexpr size_t kMaxEntriesRecordBytes = 8 << 20;

struct RaftStorageOptions {
  // The live segment is preallocated (File::preallocate) this many bytes past its end whenever
  // an append would reach the preallocated end; 0 disables preallocation (the file grows).
  uint64_t preallocate_bytes = 16 << 20;
};

class RaftStorage final : public raft::Storage {
 public:
  // Opens (creating if missing) the Raft log in directory `dir` and replays it.
  // Errors: corruption (a bad record followed by valid ones, a bad header, an impossible
  // sequence of records), io_error. REQUIRES: fs outlives the RaftStorage.
  static boost::asio::awaitable<Result<std::unique_ptr<RaftStorage>>> open(io::FileSystem& fs, std::string dir,
                                                                           RaftStorageOptions options = {});

  // raft::Storage (answered from memory).
  Result<raft::InitialState> initial_state() const override;
  Result<std::vector<raft::Entry>> entries(uint64_t lo, uint64_t hi, uint64_t max_size_bytes) const override;
  Result<uint64_t> term(uint64_t i) const override;
  uint64_t first_index() const override;
  uint64_t last_index() const override;
  Result<raft::Snapshot> snapshot() const override;

  // Makes a Ready's hard state, snapshot metadata and entries durable (one fdatasync), then
  // applies them to the in-memory log. The snapshot (if any) is applied before the entries, as
  // the Ready orders them. A call with nothing to persist does no I/O.
  // Without entries or a snapshot, and with the same term and vote as the last persisted hard
  // state (only the commit index moved), the record is written but not fsynced (etcd's
  // MustSync): a commit index lost in a crash is learnt again from the leader, and everything up
  // to the DB's applied index is committed anyway.
  // Errors: the file system's; after an error the storage is poisoned.
  // REQUIRES: `entries` outlives the call (a coroutine; taken by reference to save a copy of
  // every entry per Ready).
  boost::asio::awaitable<Result<void>> persist(std::optional<raft::HardState> hs,
                                               const std::vector<raft::Entry>& entries,
                                               std::optional<raft::SnapshotMetadata> snap);
  // Whether persist() of this would fsync.
  bool must_sync(const std::optional<raft::HardState>& hs, const std::vector<raft::Entry>& entries,
                 const std::optional<raft::SnapshotMetadata>& snap) const;

  // Records a snapshot of the state machine at `index` with configuration `cs` and drops the
  // entries up to it, rewriting the log into a new segment (see above). The caller guarantees that
  // the state machine's effects up to `index` are durable. No-op (ok) if index <= the current
  // snapshot index. REQUIRES: index <= last_index() and index <= the commit index.
  boost::asio::awaitable<Result<void>> compact(uint64_t index, raft::ConfState cs);

  // The commit index in the persisted hard state.
  raft::HardState hard_state() const;
  uint64_t segment_number() const { return segment_number_; }
  // Bytes of the live segment holding records (the file may be longer: preallocated zeros).
  uint64_t end_offset() const { return writer_->offset(); }
  // Entries held (last_index - snapshot index).
  uint64_t entry_count() const;

 private:
  RaftStorage(io::FileSystem& fs, std::string dir, RaftStorageOptions options);
  boost::asio::awaitable<Result<void>> recover();
  boost::asio::awaitable<Result<void>> replay_segment(uint64_t number, uint64_t* end_offset);
  Result<void> apply_record(std::string_view rec);
  // How open_writer finds the segment: a new file; a replayed one (truncated at `offset`, the
  // end of its last whole record, dropping a torn tail and preallocated zeros); or a compacted
  // one that was written and preallocated to `allocated` bytes.
  enum class SegmentState { created, replayed, compacted };
  // Opens segment `number` for appending at `offset`.
  boost::asio::awaitable<Result<void>> open_writer(uint64_t number, uint64_t offset, SegmentState state,
                                                   uint64_t allocated = 0);
  // Preallocates the live segment when the pending records would pass the preallocated end, and
  // writes zeros ahead of them (header comment). A failure is logged and otherwise ignored: the
  // appends then grow the file, or write into unwritten extents.
  boost::asio::awaitable<void> reserve_space();
  std::string segment_path(uint64_t number) const;

  io::FileSystem& fs_;
  const std::string dir_;
  const RaftStorageOptions options_;
  static constexpr uint64_t kZeroFillStepBytes = 512 << 10;
  uint64_t allocated_ = 0;  // the live segment's size as preallocated (0: not known)
  uint64_t zeroed_ = 0;     // the live segment is overwritten with zeros up to here
  mutable std::mutex mu_;   // guards mem_
  raft::MemoryStorage mem_;
  uint64_t segment_number_ = 0;  // the live segment
  std::unique_ptr<wal::WalWriter> writer_;
};

// Record encoders, shared with the tests.
std::string encode_raft_header_record();
std::string encode_hard_state_record(const raft::HardState& hs);
std::string encode_snapshot_record(const raft::SnapshotMetadata& md);
// Encodes entries[begin, ...) into one record of at most kMaxEntriesRecordBytes (at least one
// entry); returns the index in `entries` after the last one encoded.
size_t encode_entries_record(const std::vector<raft::Entry>& entries, size_t begin, std::string* out);

}  // namespace strata::replication
