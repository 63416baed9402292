// WalWriter: appends framed records (wal_format.h, docs/format/wal.md) to one log file: a WAL
// segment or a MANIFEST. It is the byte-level half of group commit: the DB's WAL coroutine calls
// add_record() once per write batch that arrived while the previous flush was in flight, then one
// flush() writes them all with a single write (plus fdatasync, linked, when asked).
//
// Buffers: add_record() frames into a pending buffer. flush() moves the pending buffer into an
// in-flight buffer and writes that, so add_record() may be called while a flush is suspended in
// co_await (the two buffers swap; their capacity is reused, no allocation in steady state).
//
// Invariants:
//   - offset() + in-flight bytes + pending_bytes() is the logical end of the log; the in-flight
//     and pending bytes are always written at offset(), in order.
//   - After a failed write or sync the writer is poisoned: flush(), preallocate() and status()
//     return that same error forever, add_record() drops its input, and nothing is retried (a
//     failed fsync may have dropped dirty pages; retrying could report lost data as durable).
//   - Pending bytes not flushed before destruction are dropped (the destructor cannot co_await).
//
// Thread-safety: none. One coroutine (or strand) owns the writer. At most one flush(),
// preallocate() or write_zeros() may be in flight at a time (asserted).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lib/io/file_system.h"
#include "strata/result.h"
#include "lib/wal/wal_format.h"

namespace strata::wal {

namespace asio = boost::asio;

class WalWriter {
 public:
  // Appends to `file` starting at byte `initial_offset` (0 for a new file; for an existing log,
  // the end of its last whole record, e.g. WalReader::last_record_end_offset() after the file was
  // truncated there). Only the low 32 bits of `log_number` are stored in each fragment.
  // REQUIRES: file != nullptr.
  WalWriter(std::unique_ptr<io::File> file, uint64_t log_number, uint64_t initial_offset = 0);
  // As above, without owning the file: `file` must outlive the writer.
  WalWriter(io::File* file, uint64_t log_number, uint64_t initial_offset = 0);

  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Frames `payload` (any size up to kMaxRecordBytes, empty included) into the pending buffer as
  // one FULL fragment or FIRST MIDDLE* LAST fragments, padding the end of a block with zeros
  // where fewer than kHeaderSize bytes are left. Synchronous, no I/O. A no-op when poisoned.
  // REQUIRES: payload.size() <= kMaxRecordBytes.
  void add_record(std::string_view payload);

  // Writes the pending buffer at offset() with one write, then clears it. With `sync`, the write
  // is followed by fdatasync (File::write_and_sync: linked SQEs on io_uring); a flush with
  // nothing pending and `sync` syncs earlier unsynced writes, if any. On success, everything
  // added before the call is written (and durable if `sync`).
  // Without `sync`, up to kInlineWriteMaxBytes are written on the calling thread
  // (File::write_inline) and the call completes without suspending.
  // Errors: the file's error (io_error, no_space, ...), which also poisons the writer.
  // REQUIRES: no other flush() or preallocate() in flight.
  asio::awaitable<Result<void>> flush(bool sync);

  // Makes the file at least `file_size_bytes` long (File::preallocate) so that the space past the
  // written records reads as zeros, which the reader takes as the end of the log. A failure is
  // returned but does not poison the writer (no record bytes were at stake).
  // REQUIRES: no flush() in flight.
  asio::awaitable<Result<void>> preallocate(uint64_t file_size_bytes);

  // Writes zeros over the bytes [from, to) of the file, past the log's logical end, without a
  // sync. Used ahead of the appends of a preallocated log (RaftStorage): fallocate(2) leaves
  // "unwritten" extents, and the first write into one converts it, an inode update that the
  // following fdatasync must write too; space overwritten with zeros (and synced by a later
  // flush) takes appends with no metadata change at all. The zeros read as the end of the log
  // (WalReader). A failure is returned but does not poison the writer (no record bytes were
  // at stake). REQUIRES: offset() + pending_bytes() <= from <= to; no flush() in flight.
  asio::awaitable<Result<void>> write_zeros(uint64_t from, uint64_t to);

  // Bytes of the file written by completed flushes (the file offset of the next write).
  uint64_t offset() const { return offset_; }
  // Bytes framed by add_record() and not yet handed to a flush.
  uint64_t pending_bytes() const { return pending_.size(); }
  // ok, or the error that poisoned the writer.
  Result<void> status() const;
  bool poisoned() const { return static_cast<bool>(error_); }
  uint32_t log_number() const { return log_number_; }
  io::File& file() const { return *file_; }

  // The largest unsynced flush written inline: a copy into the page cache of this size takes
  // about as long as an io_uring round trip; larger groups are written through the ring so that
  // the thread keeps serving other coroutines.
  static constexpr size_t kInlineWriteMaxBytes = 64 << 10;

 private:
  void emit_fragment(RecordType type, const char* data, size_t n);

  std::unique_ptr<io::File> owned_file_;  // null when the file is borrowed
  io::File* file_;
  uint32_t log_number_;
  uint64_t offset_;            // bytes written by completed flushes
  size_t block_offset_;        // position of the logical end of the log within its block
  std::string pending_;        // framed, not yet handed to flush()
  std::string in_flight_;      // being written by the current flush(); empty otherwise
  bool io_in_flight_ = false;  // a flush(), preallocate() or write_zeros() is suspended
  bool unsynced_ = false;      // a flush(false) wrote bytes that no sync has covered yet
  ErrorCode error_;            // set once, never cleared: the writer is poisoned
};

}  // namespace strata::wal
