// WalReader: reads back the records of one log file (a WAL segment or a MANIFEST) written by
// WalWriter (wal_format.h, docs/format/wal.md), for point-in-time recovery.
//
// It reads the file one 32 KiB block at a time and returns whole payloads in order. It stops at
// the first thing that is not a whole, valid record and says why (stop()):
//   clean_end          end of file exactly after a whole record (or at a block boundary);
//   zeros              an all-zero header: preallocated or never-written space;
//   torn_tail          end of file inside a header, a payload or a FIRST..LAST chain: an
//                      interrupted append;
//   checksum_mismatch  a fragment whose CRC does not match its bytes;
//   bad_record         an impossible fragment: a length past its block, a bad type, a type-0
//                      header that is not all zeros, a FIRST/MIDDLE/LAST out of order, or a
//                      record larger than kMaxRecordBytes;
//   wrong_log_number   a fragment with a valid CRC written for another log file.
// The reader does not decide whether a stop is a torn tail to truncate or corruption to report:
// the DB does, with find_valid_fragment_after_stop(). Typically: a stop followed by a valid
// fragment of this log in the rest of the file is corruption (Errc::corruption naming the file
// and offset); otherwise the log is truncated at last_record_end_offset().
//
// Invariants: a payload is returned only if every fragment's CRC matched, its log number is this
// log's, and its fragments were FULL or FIRST MIDDLE* LAST; no byte outside the file or outside
// the reader's block buffer is ever read; memory is bounded by kBlockSize + kMaxRecordBytes.
// Thread-safety: none; one coroutine uses a reader. The File must outlive it.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/io/file_system.h"
#include "strata/result.h"
#include "lib/wal/wal_format.h"

namespace strata::wal {

namespace asio = boost::asio;

class WalReader {
 public:
  struct Stop {
    enum Reason { clean_end, zeros, torn_tail, checksum_mismatch, bad_record, wrong_log_number };
    Reason reason;
    // File offset of the fragment header where reading stopped; for clean_end, where the data
    // ends; for torn_tail, where the torn record starts (its FIRST fragment if it had several).
    uint64_t offset;
  };
  static const char* reason_name(Stop::Reason reason);

  // Reads `file` from offset 0, accepting only fragments stamped with the low 32 bits of
  // `log_number`.
  WalReader(io::File& file, uint64_t log_number);

  WalReader(const WalReader&) = delete;
  WalReader& operator=(const WalReader&) = delete;

  // The next whole payload, or nullopt once reading stopped (then stop() says why; every later
  // call returns nullopt again). Stops are logged with the path and offset (warn for everything
  // but clean_end and zeros; checksum mismatches with expected and actual CRC).
  // Errors: the file's read errors (io_error, ...); the reader may be called again after one.
  asio::awaitable<Result<std::optional<std::string>>> read_record();

  // Why reading stopped; nullopt while read_record() has not returned nullopt yet.
  std::optional<Stop> stop() const { return stop_; }

  // File offset just past the last fragment of the last record returned (0 before the first),
  // i.e. where to truncate the log to drop a torn tail.
  uint64_t last_record_end_offset() const { return last_record_end_offset_; }

  // After a stop: the file offset of the first valid fragment of this log (CRC matches, log
  // number matches, type FULL..LAST, inside its block) past the fragment where reading stopped, or nullopt if there
  // is none. A stop followed by valid data is corruption in the middle of the log rather than a
  // garbled tail. Every byte offset of the rest of the file is tried (cheap checks first, the CRC
  // only when type, log number and length fit), so it reads the rest of the file once.
  // It may find a fragment-shaped byte string inside a corrupted payload, which errs towards
  // reporting corruption, never towards silently dropping data.
  // Caveat: after a power loss, unsynced pages may persist out of order, so valid fragments can
  // legitimately follow a torn region that was never synced (sync policy none or batch).
  // REQUIRES: stop() has a value.
  asio::awaitable<Result<std::optional<uint64_t>>> find_valid_fragment_after_stop();

 private:
  // The outcome of reading one fragment.
  enum class Fragment { ok, stopped };

  asio::awaitable<Result<Fragment>> read_fragment(RecordType* type, std::string_view* payload,
                                                  uint64_t* fragment_offset);
  asio::awaitable<Result<size_t>> read_block(uint64_t block_offset, std::vector<char>* block);
  // `physical_offset`: the fragment (or end of data) where reading stopped, when it differs from
  // the reported offset (a torn FIRST..LAST record reports its start).
  void set_stop(Stop::Reason reason, uint64_t offset) { set_stop(reason, offset, offset); }
  void set_stop(Stop::Reason reason, uint64_t offset, uint64_t physical_offset);
  // Whether a valid fragment of this log starts at block[pos, block_len).
  bool fragment_valid_at(const char* block, size_t block_len, size_t pos) const;

  io::File& file_;
  uint32_t log_number_;
  std::vector<char> block_;    // the current block, kBlockSize bytes allocated
  uint64_t block_start_ = 0;   // file offset of block_[0]
  size_t block_len_ = 0;       // valid bytes in block_ (< kBlockSize only at end of file)
  size_t block_pos_ = 0;       // next unread byte in block_
  bool block_loaded_ = false;  // block_ holds the block at block_start_
  std::string record_;         // the record being assembled from FIRST..LAST fragments
  bool in_fragmented_record_ = false;
  uint64_t record_start_offset_ = 0;
  uint64_t last_record_end_offset_ = 0;
  std::optional<Stop> stop_;
  uint64_t physical_stop_offset_ = 0;
};

}  // namespace strata::wal
