// PointLookup: one point read (DB::get, DB::multi_get, DB::trace) through the sources of a
// SuperVersion, newest first: the active memtable, the immutable memtables (newest first), the
// L0 SSTables whose key range covers the key (newest first), then at most one SSTable per deeper
// level (binary search over disjoint files). The first version of the key at or below the read
// sequence number decides: a value, or a tombstone (absent).
//
// The lookup runs in two halves so that a read whose data is in memory never suspends and never
// allocates a coroutine frame of its own (RocksDB and LevelDB read synchronously; their lookups
// cost no scheduling at all):
//   run_cached()  a plain call that goes as far as memory allows: memtables, pinned table
//                 readers, filters, indexes, the block cache and blocks the OS has in its page
//                 cache (read with RWF_NOWAIT);
//   finish()      a coroutine for the rest, started only when some SSTable needs a block read
//                 from the file (io_uring) or a table reader that is not open yet.
// multi_get runs run_cached() for every key, then the finish() of the keys that need I/O
// concurrently, so their block reads are in flight together.
//
// Invariants: the sources are probed in the order above, never skipping one; once decided() the
// answer never changes. Thread-safety: none; one coroutine drives a PointLookup. Lifetime: the
// SuperVersion pieces, the TableCache, *trace and *value_buffer must outlive it; it must not move
// once run_cached() has been called (a pending table lookup points into it). The key is copied
// (into the lookup key), so the caller's may go away.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "lib/db/table_cache.h"
#include "strata/trace.h"
#include "lib/memtable/memtable.h"
#include "lib/sstable/table_reader.h"
#include "lib/util/internal_key.h"
#include "strata/result.h"
#include "lib/util/striped_counter.h"
#include "lib/version/version.h"

namespace strata {

class PointLookup {
 public:
  struct Sources {
    const MemTable* mem = nullptr;
    std::span<const std::shared_ptr<MemTable>> imms;  // newest first
    const Version* version = nullptr;
    TableCache* tables = nullptr;
    StripedCounter* table_probes = nullptr;  // counts SSTables consulted (may be null)
  };

  // REQUIRES: every pointer in `sources` but table_probes is non-null. value_buffer: where a found
  // value is written (its capacity reused: DB::get into a caller's string); nullptr: a string of
  // the lookup's own.
  PointLookup(std::string_view key, SequenceNumber seq, Sources sources, LookupTrace* trace = nullptr,
              std::string* value_buffer = nullptr);
  PointLookup(const PointLookup&) = delete;
  PointLookup& operator=(const PointLookup&) = delete;

  // TableReader::prefetch_get(stage) on the SSTables this lookup may probe whose readers are
  // pinned: every L0 file whose range covers the key, and the one file per deeper level. No
  // effect on the answer; multi_get runs stage 0 and then stage 1 over its whole batch before the
  // lookups, so that their cache misses overlap.
  void prefetch(int stage) const;

  // Goes through the sources as far as memory allows. Returns done when decided (see answer()),
  // needs_io when an SSTable needs I/O: then co_await finish(). Errors: corruption, io errors.
  Result<sstable::GetStep> run_cached();

  // Finishes a lookup run_cached() left undecided, reading from files as needed.
  // Runs on: the awaiting coroutine's executor. REQUIRES: run_cached() returned needs_io.
  boost::asio::awaitable<Result<void>> finish();

  bool decided() const { return decided_; }
  // The first SSTable probed, if the lookup went on to probe another (LevelDB charges that file a
  // seek: Version::UpdateStats); nullptr otherwise. *level is its level.
  const FileMetaData* wasted_probe(int* level) const {
    if (files_probed_ < 2) return nullptr;
    *level = first_file_level_;
    return first_file_;
  }
  // The version whose SSTables the lookup probes.
  const Version& version() const { return *sources_.version; }
  // True when the key has a value (false: no version, or a tombstone). REQUIRES: decided().
  bool found() const { return found_; }
  // The value when found(); the value buffer given to the constructor, if any.
  std::string& value() { return *value_; }
  // The value, or nullopt. REQUIRES: decided(). Moves the value out.
  std::optional<std::string> take_answer() {
    return found_ ? std::optional<std::string>(std::move(*value_)) : std::nullopt;
  }
  std::string_view key() const { return key_; }

 private:
  // Moves file_ to the next SSTable whose key range covers the key; false when none is left.
  bool next_file();
  // Takes table_get_ (the answer of file_) into account: done when it decides the lookup, else
  // next_block (go on with the next source).
  Result<sstable::GetStep> take_table_answer();
  void decide(bool found) {
    decided_ = true;
    found_ = found;
  }
  void trace_memtable(std::string source, const std::optional<MemTable::LookupResult>& r);

  SequenceNumber seq_;
  Sources sources_;
  LookupTrace* trace_;
  LookupKey lookup_key_;  // internal key (the user key, seq_, kValueTypeForSeek)
  std::string_view key_;  // the user key, inside lookup_key_

  bool memtables_done_ = false;
  bool decided_ = false;
  bool found_ = false;
  std::string own_value_;
  std::string* value_;  // own_value_ or the caller's buffer; table_get_.value points here

  // The SSTable cursor: the level and the range [index_, end_) of files(level_) left to probe.
  int level_ = 0;
  size_t index_ = 0, end_ = 0;
  bool level_started_ = false;
  const FileMetaData* file_ = nullptr;  // the SSTable being probed
  int file_level_ = 0;
  const FileMetaData* first_file_ = nullptr;  // the first SSTable probed
  int first_file_level_ = 0;
  int files_probed_ = 0;
  bool table_pending_ = false;   // file_ needs finish(): its reader or a block is not in memory
  bool reader_missing_ = false;  // ... because its reader is not open
  // file_'s reader while it is probed: pinned in file_, or kept open by hold_ (the table cache's LRU).
  const sstable::TableReader* reader_ = nullptr;
  std::shared_ptr<const void> hold_;
  sstable::TableReader::PendingGet pending_;
  sstable::TableGet table_get_;
  sstable::GetTrace get_trace_;
};

}  // namespace strata
