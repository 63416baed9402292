// TableCache: the open SSTable readers of one DB, in two places:
//  - pinned in their FileMetaData (TablePin, RocksDB's FileDescriptor::table_reader): up to
//    `max_pinned` readers, found by a lookup with one atomic load and kept open while their file
//    is live (they close when the last Version or iterator naming the file lets go of it);
//  - once that many are pinned, an LRU of at most `max_open_files` readers, least recently used
//    evicted first (after LevelDB's db/table_cache.cc: keyed by file number, each entry charged 1).
// The DB splits its Options::max_open_files between the two, so that at most that many SSTables
// are open at once.
//
// A reader is opened on first use (file opened through io::FileSystem, footer, index, filter and
// properties read and verified) and handed out as shared_ptr: a reader evicted, or dropped by
// evict(), while a lookup or an iterator uses it stays open until its last holder lets go. Every
// reader it opens reads data blocks through the DB's block cache, keyed by file number, and counts
// into the DB's ReadStats.
// Concurrent first uses of the same file open it once: the first caller opens it, the others
// wait for its result (the reader, or the error, which is not cached).
// A find() that is opening a file while evict() drops that file's number may cache the reader
// after the eviction; it then holds the deleted file open until the LRU evicts it. The DB deletes
// only files no live Version names, which no new lookup opens.
//
// Thread-safety: every method is safe from any thread and coroutine.
// Lifetime: the FileSystem, the block cache and the ReadStats must outlive the TableCache and
// every reader it handed out (pinned readers included: they live as long as the file metadata).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/cache/lru_cache.h"
#include "lib/io/file_system.h"
#include "lib/sstable/read_stats.h"
#include "lib/sstable/table_reader.h"
#include "lib/util/oneshot.h"
#include "strata/result.h"
#include "lib/util/striped_counter.h"
#include "lib/version/version_edit.h"

namespace strata {

class TableCache {
 public:
  // db_path: the DB directory holding NNNNNN.sst files. max_open_files: how many readers stay
  // open (REQUIRES >= 1). block_cache and stats may be null (no block cache, private counters).
  // num_shard_bits: the LRU's shards (LruCache), each holding ceil(max_open_files / shards)
  // readers; -1 picks up to 16 shards of at least 64 readers each (one shard below 128 files).
  // max_pinned: how many readers find(meta) pins in file metadata (0: none, the LRU only).
  // mmap_reads: the readers' TableReadOptions::mmap_reads. direct_reads: files opened with
  // io::OpenOptions::direct (O_DIRECT).
  TableCache(io::FileSystem& fs, std::string db_path, size_t max_open_files, cache::LruCache* block_cache,
             sstable::ReadStats* stats, int num_shard_bits = -1, size_t max_pinned = 0, bool mmap_reads = false,
             bool direct_reads = false);

  // The reader of SSTable `file_number`, whose size is `file_size` bytes (from its FileMetaData).
  // Errors (logged with the file's path): not_found, io errors, corruption from TableReader::open.
  // A failed open is not cached: the next call tries again.
  // Runs on: the caller's executor (file I/O completes back on it).
  boost::asio::awaitable<Result<std::shared_ptr<sstable::TableReader>>> find(uint64_t file_number, uint64_t file_size) {
    return find_counted(file_number, file_size, /*counted=*/false);
  }

  // find() for a file of a Version: the pinned reader if there is one; else opens the file (or
  // finds it in the LRU) and pins the reader while fewer than max_open_files are pinned.
  // `counted`: this lookup was already counted by find_open (a PointLookup's second step).
  // REQUIRES: `meta` outlives the returned awaitable.
  boost::asio::awaitable<Result<std::shared_ptr<sstable::TableReader>>> find(const FileMetaData& meta,
                                                                             bool counted = false);

  // The reader of `meta`'s file without I/O: the pinned one (valid while `meta` lives), or one in
  // the LRU (kept alive by *hold). nullptr when the file is not open: co_await find(meta).
  const sstable::TableReader* find_open(const FileMetaData& meta, std::shared_ptr<const void>* hold);

  // The reader pinned in `meta` (counted as a hit), or nullptr without counting anything: what an
  // iterator opening a table without suspending can use. Valid while `meta` lives.
  const sstable::TableReader* find_pinned(const FileMetaData& meta);

  size_t pinned_readers() const { return pinned_->load(std::memory_order_relaxed); }

  // Drops the reader of `file_number` and its blocks in the block cache: call when the file is
  // deleted. Holders of the reader keep it.
  void evict(uint64_t file_number);

  // Drops every reader (DB close).
  void clear() { readers_.clear(); }

  // Readers open: pinned ones and the LRU's.
  size_t open_readers() const { return readers_.entry_count() + pinned_readers(); }
  size_t capacity() const { return readers_.capacity(); }
  // Lookups that found the reader open (pinned, or in the LRU), and lookups that had to open it
  // (or wait for another caller's open).
  uint64_t hits() const { return readers_.hits() + pinned_hits_.load(); }
  uint64_t misses() const { return readers_.misses(); }
  uint64_t opens() const { return opens_.load(std::memory_order_relaxed); }  // files opened (tried)

 private:
  using Opened = Result<std::shared_ptr<sstable::TableReader>>;

  static std::string key_of(uint64_t file_number);
  // find(number, size); `counted`: the caller's find_open already counted this lookup's miss.
  boost::asio::awaitable<Opened> find_counted(uint64_t file_number, uint64_t file_size, bool counted);
  // Opens the reader of a file (no caching).
  boost::asio::awaitable<Opened> open(uint64_t file_number, uint64_t file_size);
  static int auto_shard_bits(size_t max_open_files);

  io::FileSystem& fs_;
  const std::string db_path_;
  cache::LruCache* const block_cache_;
  sstable::ReadStats* const stats_;
  cache::LruCache readers_;  // values: sstable::TableReader, charge 1

  std::atomic<uint64_t> opens_{0};
  const size_t max_pinned_;
  const bool mmap_reads_;
  const bool direct_reads_;
  StripedCounter pinned_hits_;
  // Readers pinned and not yet released; shared with the pins, which may outlive the cache.
  std::shared_ptr<std::atomic<size_t>> pinned_ = std::make_shared<std::atomic<size_t>>(0);
  std::mutex pending_mu_;
  // Files being opened, and the callers waiting for each. Guarded by pending_mu_.
  std::unordered_map<uint64_t, std::vector<Oneshot<Opened>>> pending_;
};

}  // namespace strata
