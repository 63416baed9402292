// TableReader: an open SSTable (docs/format/sstable.md). open() reads and verifies the footer,
// the index block, the filter block and the properties block and keeps them in memory; data
// blocks are read on demand, one positional read each, with their checksum verified every time.
//
// Invariants: every field is immutable after open() except the atomic counters in stats(); every
// block handle is checked to lie inside the file before it is read.
// Thread-safety: get(), may_contain() and new_iterator() may be called concurrently from any
// number of coroutines and threads (File::read_at is positional and the state is immutable).
// Lifetime: held by shared_ptr (the table cache and every iterator share it); the last holder
// closes the file.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lib/io/file_system.h"
#include "lib/sstable/block.h"
#include "lib/sstable/format.h"
#include "lib/sstable/table_options.h"
#include "lib/sstable/table_properties.h"
#include "lib/util/internal_iterator.h"
#include "lib/util/result.h"

namespace strata::sstable {

// Counters a DB aggregates into its statistics. Relaxed atomics: they are statistics, not
// synchronisation.
struct TableReaderStats {
  std::atomic<uint64_t> data_blocks_read{0};  // data blocks read from the file
  std::atomic<uint64_t> bloom_checks{0};      // get() calls that consulted the filter
  std::atomic<uint64_t> bloom_negatives{0};   // ... and were answered "absent" by it
};

class TableReader : public std::enable_shared_from_this<TableReader> {
 public:
  struct Entry {
    std::string internal_key;
    std::string value;
  };

  // Opens the table held in the first `file_size` bytes of `file`.
  // Errors: corruption (file too short, bad magic, bad footer/index/filter/properties block),
  // not_supported (a newer format version), io errors of the file.
  static asio::awaitable<Result<std::shared_ptr<TableReader>>> open(std::shared_ptr<io::File> file,
                                                                    uint64_t file_size,
                                                                    TableReadOptions options);

  // False only if the table certainly holds no version of `user_key` (bloom filter).
  bool may_contain(std::string_view user_key) const;

  // The first entry whose internal key is >= lookup_internal_key, if it has the same user key
  // (the newest version visible at the lookup's sequence number, which may be a tombstone: the
  // caller interprets the type). nullopt if the filter rules the key out or there is no such
  // entry. Errors: corruption (bad data block), io errors.
  // REQUIRES: lookup_internal_key is an internal key.
  asio::awaitable<Result<std::optional<Entry>>> get(std::string lookup_internal_key) const;

  // A two-level iterator (index block -> data blocks) over every entry; it reads data blocks
  // lazily and keeps this reader alive.
  std::unique_ptr<InternalIterator> new_iterator() const;

  // Reads and parses one data block named by an index entry.
  // BLOCK CACHE SEAM (next issue): look the handle up in the block cache (key: file number +
  // handle.offset) before reading, and insert the parsed block after; the shared_ptr<const Block>
  // shape is what a cache hands out. Errors: corruption (handle outside the file, bad block),
  // io errors.
  asio::awaitable<Result<std::shared_ptr<const Block>>> read_data_block(BlockHandle handle) const;

  const Block& index_block() const { return index_block_; }
  const TableProperties& properties() const { return properties_; }
  const TableReaderStats& stats() const { return stats_; }
  uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return file_->path(); }

 private:
  TableReader(std::shared_ptr<io::File> file, uint64_t file_size, TableReadOptions options,
              Block index_block, std::string filter, TableProperties properties)
      : file_(std::move(file)), file_size_(file_size), options_(options),
        index_block_(std::move(index_block)), filter_(std::move(filter)),
        properties_(properties) {}

  // Reads the block at `handle` after checking that it lies before the footer.
  static asio::awaitable<Result<std::string>> read_checked(io::File& file, uint64_t file_size,
                                                           BlockHandle handle);

  std::shared_ptr<io::File> file_;
  uint64_t file_size_;
  TableReadOptions options_;
  Block index_block_;
  std::string filter_;  // empty: no filter
  TableProperties properties_;
  mutable TableReaderStats stats_;
};

}  // namespace strata::sstable
