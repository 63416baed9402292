// TableReader: an open SSTable (docs/format/sstable.md). open() reads and verifies the footer,
// the index block, the filter block and the properties block and keeps them in memory; data
// blocks are looked up in the block cache (TableReadOptions::block_cache) and, on a miss, read
// from the file with one positional read each, their checksum verified on every read, parsed and
// inserted into the cache.
//
// Invariants: every field is immutable after open() (the counters it updates are atomics); every
// block handle is checked to lie inside the file before it is read; a block comes from the cache
// only if it was verified when it was read.
// Thread-safety: get(), may_contain(), read_data_block() and new_iterator() may be called
// concurrently from any number of coroutines and threads (File::read_at is positional, the state
// is immutable, the block cache and the counters are thread-safe).
// Lifetime: held by shared_ptr (the table cache and every iterator share it); the last holder
// closes the file. The block cache and ReadStats named in the options must outlive it.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/io/file_system.h"
#include "lib/sstable/block.h"
#include "lib/sstable/bloom.h"
#include "lib/sstable/format.h"
#include "lib/sstable/index_accelerator.h"
#include "lib/sstable/read_stats.h"
#include "lib/sstable/table_options.h"
#include "lib/sstable/table_properties.h"
#include "lib/util/internal_iterator.h"
#include "lib/util/internal_key.h"
#include "strata/result.h"

namespace strata::sstable {

// What one TableReader::get did, for DB::trace(key): whether the bloom filter was consulted and
// ruled the key out, and every data block visited, in order, with where it came from. Usually one
// block; a second one when the first block's entries all sort before the lookup key.
struct GetTrace {
  struct BlockAccess {
    uint64_t offset = 0;      // the block's offset in the file (its BlockHandle)
    bool cache_hit = false;   // in memory (the block cache, or the table's verified memory
                              // mapping): nothing read from the file
    uint64_t bytes_read = 0;  // on a miss: bytes read from the file (contents + trailer)
  };
  bool bloom_checked = false;   // a filter exists, and the read options let get() consult it
  bool bloom_negative = false;  // ... and it ruled the key out: no block was visited
  std::vector<BlockAccess> blocks;

  uint64_t cache_hits() const;
  uint64_t blocks_read() const;  // blocks read from the file
  uint64_t bytes_read() const;
};

// Where a point lookup stands after one step: it has its answer (done), it needs a block read
// from the file (needs_io), or the block it searched holds only smaller keys and the answer, if
// any, is further on (next_block). An enum, not a bool: Result<bool> cannot be built from an error.
enum class GetStep : uint8_t { done, needs_io, next_block };

// What a point lookup found in one table: the newest version of the user key visible at the
// lookup's sequence number, a tombstone, or nothing.
struct TableGet {
  enum class Kind : uint8_t { absent, value, deletion };
  Kind kind = Kind::absent;
  SequenceNumber sequence = 0;  // of the entry found (kind != absent)
  // Where a found value is written (kind == value): assigned, so its capacity is reused.
  // REQUIRES: non-null before a lookup.
  std::string* value = nullptr;
};

// The block cache key of a table's block: fixed64(cache_id) | fixed64(offset), built on the stack
// (a std::string of 16 bytes would not fit the small-string buffer and would allocate).
class BlockCacheKey {
 public:
  BlockCacheKey(uint64_t cache_id, uint64_t offset);
  std::string_view view() const { return std::string_view(bytes_, sizeof bytes_); }

 private:
  char bytes_[16];
};

class TableReader : public std::enable_shared_from_this<TableReader> {
 public:
  struct Entry {
    std::string internal_key;
    std::string value;
  };

  // Where a lookup that get_cached() could not finish stands: the index entry of the data block
  // it needs from the file. finish_get() takes it from there. Points into this reader: valid while
  // the reader lives.
  struct PendingGet {
    BlockIterator index;
    BlockHandle handle;
  };

  // Opens the table held in the first `file_size` bytes of `file`.
  // Errors: corruption (file too short, bad magic, bad footer/index/filter/properties block),
  // not_supported (a newer format version), io errors of the file.
  static asio::awaitable<Result<std::shared_ptr<TableReader>>> open(std::shared_ptr<io::File> file, uint64_t file_size,
                                                                    TableReadOptions options);

  // False only if the table certainly holds no version of `user_key` (bloom filter).
  bool may_contain(std::string_view user_key) const;

  // The first entry whose internal key is >= lookup_internal_key, if it has the same user key
  // (the newest version visible at the lookup's sequence number, which may be a tombstone: the
  // caller interprets the type). nullopt if the filter rules the key out or there is no such
  // entry. Blocks read from the file are inserted into the block cache. If `trace` is not null,
  // get() fills it in (it is reset first). Errors: corruption (bad data block), io errors.
  // REQUIRES: lookup_internal_key is an internal key; *trace outlives the returned awaitable.
  asio::awaitable<Result<std::optional<Entry>>> get(std::string lookup_internal_key, GetTrace* trace = nullptr) const;

  // Starts loading into the CPU cache, without waiting and without any effect on results, what
  // get_cached(lookup_internal_key) will touch first. Stage 0: the bloom filter's line and the
  // index accelerator's segment. Stage 1 (once those have arrived): if the filter may hold the key,
  // the data block the accelerator picks, when it is a verified block of a mapped table. A batch
  // of lookups (DB::multi_get) runs stage 0 for every key, then stage 1, then the lookups: their
  // cache misses overlap instead of queueing one behind another (the batched probing of RocksDB's
  // MultiGet; "memory-level parallelism" in the literature). Never reads a file; any thread.
  void prefetch_get(std::string_view lookup_internal_key, int stage) const;

  // get() without I/O: the filter, the index, the block cache and data blocks the OS has in its
  // page cache (io::File::read_cached, checksum verified like any other read). Returns done with
  // *out set when it has the answer; needs_io when a data block must be read from the file, with
  // *pending naming it (then co_await finish_get). Never suspends; the common case for a table
  // whose blocks are cached, and for a key the filter rules out. Stats and *trace as get().
  // Errors: corruption, io errors of a cached read.
  Result<GetStep> get_cached(std::string_view lookup_internal_key, TableGet* out, PendingGet* pending,
                             GetTrace* trace = nullptr) const;

  // Finishes a lookup get_cached() left pending: reads that block from the file (io_uring),
  // inserts it into the block cache, and goes on as get_cached() would. *out and *trace must
  // outlive the returned awaitable. Errors: as get().
  asio::awaitable<Result<void>> finish_get(std::string lookup_internal_key, PendingGet pending, TableGet* out,
                                           GetTrace* trace = nullptr) const;

  // A two-level iterator (index block -> data blocks) over every entry; it reads data blocks
  // lazily and keeps this reader alive. fill_cache = false: blocks found in the block cache are
  // used, blocks read from the file are not inserted (compaction inputs and long scans must not
  // push the hot blocks out).
  std::unique_ptr<InternalIterator> new_iterator(bool fill_cache = true) const;
  // new_iterator() without keeping this reader alive. REQUIRES: the reader outlives the iterator
  // (a DB iterator's SuperVersion pins the files whose readers their metadata pins). Touches no
  // reference count, whose cache line readers on several cores would otherwise pass around.
  std::unique_ptr<InternalIterator> new_borrowed_iterator(bool fill_cache) const;

  // The data block named by an index entry: from the block cache (key: cache_id + handle.offset)
  // if there, else read from the file, checksum-verified, parsed and, if fill_cache, inserted with
  // a charge of its memory size. Appends a BlockAccess to *trace if trace is not null.
  // Errors: corruption (handle outside the file, bad checksum, bad block), io errors.
  // REQUIRES: *trace outlives the returned awaitable.
  // `index_ordinal`: the handle's entry in the index block (BlockIterator::restart_index()), which
  // lets a memory-mapped table serve the block from its mapping; kNoOrdinal if unknown.
  static constexpr uint32_t kNoOrdinal = UINT32_MAX;
  asio::awaitable<Result<std::shared_ptr<const Block>>> read_data_block(BlockHandle handle, bool fill_cache = true,
                                                                        GetTrace* trace = nullptr,
                                                                        uint32_t index_ordinal = kNoOrdinal) const;
  // read_data_block() in two halves, for iterators that step without suspending: the block from
  // memory (the mapping, the block cache, or the OS page cache), or nullptr when it must be read
  // from the file; then that read (which does not look in memory again).
  // A block of a mapped table comes back in *view, a view of the mapping (no allocation); any
  // other in *shared. Returns the block (in *view or *shared), or nullptr, setting neither, when
  // the block must be read from the file.
  Result<const Block*> data_block_in_memory(BlockHandle handle, bool fill_cache, uint32_t index_ordinal,
                                            std::optional<Block>* view, std::shared_ptr<const Block>* shared) const;
  asio::awaitable<Result<std::shared_ptr<const Block>>> read_data_block_from_file(BlockHandle handle, bool fill_cache,
                                                                                  uint32_t index_ordinal,
                                                                                  GetTrace* trace = nullptr) const;
  // Positions `it` (an iterator over index_block()) at the first index entry >= target, narrowed
  // by the index accelerator (index_accelerator.h) when the table has one.
  void seek_index(BlockIterator* it, std::string_view target) const;
  // Whether data blocks come from a memory mapping (TableReadOptions::mmap_reads took effect).
  bool mapped() const { return mapping_ != nullptr; }

  // The block cache key of the block at `offset` of table `cache_id`, and the prefix shared by
  // every block of that table (LruCache::erase_prefix drops a deleted table's blocks).
  static std::string block_cache_key(uint64_t cache_id, uint64_t offset);
  static std::string block_cache_prefix(uint64_t cache_id);

  const Block& index_block() const { return index_block_; }
  const TableProperties& properties() const { return properties_; }
  // The counters this reader updates: TableReadOptions::stats, or its own.
  const ReadStats& stats() const { return *stats_; }
  uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return file_->path(); }

 private:
  TableReader(std::shared_ptr<io::File> file, uint64_t file_size, TableReadOptions options, Block index_block,
              std::string_view filter, TableProperties properties, std::shared_ptr<const io::Mapping> mapping)
      : file_(std::move(file)),
        file_size_(file_size),
        options_(options),
        index_block_(std::move(index_block)),
        filter_(filter),
        properties_(properties),
        stats_(options.stats != nullptr ? options.stats : &own_stats_),
        mapping_(std::move(mapping)),
        index_accel_(IndexAccelerator::build(index_block_)) {
    if (mapping_) {
      verified_words_ = (index_block_.num_restarts() + 63) / 64;
      verified_ = std::make_unique<std::atomic<uint64_t>[]>(verified_words_);
    }
  }

  // The data block at `handle` (index entry `ordinal`) as a view of the mapping, if this table is
  // mapped and that block was verified; nullopt otherwise.
  std::optional<Block> mapped_block(BlockHandle handle, uint32_t ordinal, GetTrace* trace) const;
  // Records that the block of index entry `ordinal` was read and verified.
  void mark_verified(uint32_t ordinal) const;

  // Reads the block at `handle` after checking that it lies before the footer.
  static asio::awaitable<Result<std::string>> read_checked(io::File& file, uint64_t file_size, BlockHandle handle);
  // Whether `handle` lies before the footer (logs it if not).
  bool handle_in_file(BlockHandle handle) const;
  // The data block at `handle` from the block cache, or from the OS page cache without blocking
  // (then verified, parsed and, if fill_cache, cached). nullptr: it must be read from the file.
  Result<std::shared_ptr<const Block>> cached_data_block(BlockHandle handle, bool fill_cache, GetTrace* trace,
                                                         uint32_t ordinal) const;
  // Parses and (if fill_cache) caches the verified contents of the data block at `handle`; on a
  // mapped table marks the block verified instead of caching it.
  Result<std::shared_ptr<const Block>> install_data_block(BlockHandle handle, std::string contents, bool fill_cache,
                                                          uint32_t ordinal) const;
  // Walks the index from pending->index: done (*out set), or needs_io (pending->handle set).
  Result<GetStep> walk_index_cached(std::string_view lookup_internal_key, PendingGet* pending, TableGet* out,
                                    GetTrace* trace) const;
  // search_data_block on the block `handle` (index entry `ordinal`) if it is in memory: from the
  // mapping once verified, else the block cache or the page cache. needs_io when it must be read
  // from the file (nothing else changed); otherwise as search_data_block.
  Result<GetStep> search_block_cached(BlockHandle handle, uint32_t ordinal, std::string_view lookup_internal_key,
                                      TableGet* out, GetTrace* trace) const;
  // Looks the key up in one data block: done, or next_block when every entry sorts before the
  // lookup key (the answer, if any, is in the next block).
  Result<GetStep> search_data_block(const Block& block, BlockHandle handle, std::string_view lookup_internal_key,
                                    TableGet* out) const;

  std::shared_ptr<io::File> file_;
  uint64_t file_size_;
  TableReadOptions options_;
  Block index_block_;
  FilterBlock filter_;  // empty: no filter
  TableProperties properties_;
  ReadStats own_stats_;
  ReadStats* const stats_;  // options_.stats or &own_stats_
  // mmap_reads: the file's mapping and one bit per index entry, set once its data block was read
  // and verified (then served from the mapping).
  std::shared_ptr<const io::Mapping> mapping_;
  std::unique_ptr<std::atomic<uint64_t>[]> verified_;
  size_t verified_words_ = 0;
  IndexAccelerator index_accel_;  // disabled for an index block TableBuilder did not write
};

}  // namespace strata::sstable
