// TableBuilder: writes one SSTable (docs/format/sstable.md) from internal keys added in order.
//
// add() is synchronous and CPU-only: it encodes entries into data blocks (compressing them) and
// buffers the finished blocks in memory. The caller moves the buffered bytes to the file with
// write_pending() whenever should_write() says enough has piled up, and ends with finish(), which
// appends the filter, properties and index blocks and the footer. Splitting the work this way
// lets a flush or compaction run the CPU part in bounded slices and await only real I/O.
//
// Invariants: keys are strictly increasing in compare_internal_keys order (asserted); the file
// is written sequentially from offset 0; finish() is called at most once and nothing is added
// after it. After a write error the builder is unusable and the caller removes the file.
// finish() does not sync: the caller syncs the file before publishing it in a version edit.
// Thread-safety: none; one coroutine owns a builder. The builder and `file` must stay alive until
// each awaitable it returns has completed.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/io/file_system.h"
#include "lib/sstable/block_builder.h"
#include "lib/sstable/bloom.h"
#include "lib/sstable/format.h"
#include "lib/sstable/table_options.h"
#include "lib/sstable/table_properties.h"
#include "strata/result.h"

namespace strata::sstable {

class TableBuilder {
 public:
  // Buffered output above this many bytes makes should_write() true.
  static constexpr size_t kWriteThresholdBytes = 256 << 10;

  // REQUIRES: `file` is empty and outlives the builder.
  TableBuilder(TableOptions options, io::File* file);
  TableBuilder(const TableBuilder&) = delete;
  TableBuilder& operator=(const TableBuilder&) = delete;

  // REQUIRES: internal_key is a valid internal key greater than every key added before;
  // finish() has not been called.
  void add(std::string_view internal_key, std::string_view value);

  // True when buffered blocks exceed kWriteThresholdBytes.
  bool should_write() const { return pending_.size() >= kWriteThresholdBytes; }

  // Writes the buffered bytes to the file. Errors: those of File::write_at.
  asio::awaitable<Result<void>> write_pending();

  // Flushes the last data block, writes the filter, properties and index blocks and the footer.
  // Does not sync. Errors: those of File::write_at.
  asio::awaitable<Result<void>> finish();

  uint64_t num_entries() const { return props_.num_entries; }
  // Bytes of the table so far, including buffered ones; after finish(), the file's size.
  uint64_t file_size() const { return offset_; }
  // Internal keys; empty while num_entries() == 0.
  const std::string& smallest_key() const { return smallest_key_; }
  const std::string& largest_key() const { return last_key_; }
  // Complete after finish().
  const TableProperties& properties() const { return props_; }

 private:
  void flush_data_block();
  // Appends `raw` to the buffered output as one block (compressed with `type` when that saves
  // enough) and returns its handle.
  BlockHandle emit_block(std::string_view raw, Compression type);

  TableOptions options_;
  io::File* file_;
  BlockBuilder data_block_;
  BlockBuilder index_block_;
  BloomFilterBuilder filter_;
  std::string pending_;               // finished blocks not yet written to the file
  uint64_t written_ = 0;              // bytes written to the file; pending_ starts there
  uint64_t offset_ = 0;               // written_ + pending_.size()
  bool pending_index_entry_ = false;  // the last data block has no index entry yet
  BlockHandle pending_handle_;        // its handle
  std::string smallest_key_;
  std::string last_key_;
  TableProperties props_;
  bool finished_ = false;
};

}  // namespace strata::sstable
