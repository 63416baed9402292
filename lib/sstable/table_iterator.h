// TableIterator: the InternalIterator over one SSTable. A two-level iterator: an iterator over
// the index block picks a data block, which is read (co_await TableReader::read_data_block) only
// when the iterator moves into it; an iterator over that block yields the entries.
//
// Invariants: when valid(), the data block iterator is valid and belongs to the block named by
// the current index entry. Empty data blocks are skipped in both directions. After an error (a
// bad block, an I/O error) the iterator is !valid() and the move returned the error; the next
// seek starts afresh.
// Thread-safety: none; one coroutine at a time. The iterator keeps its TableReader alive.
#pragma once

#include <memory>
#include <optional>

#include "lib/sstable/block.h"
#include "lib/sstable/table_reader.h"
#include "lib/util/internal_iterator.h"

namespace strata::sstable {

class TableIterator final : public InternalIterator {
 public:
  // fill_cache: insert the data blocks it reads from the file into the block cache (see
  // TableReader::new_iterator).
  TableIterator(std::shared_ptr<const TableReader> table, bool fill_cache);
  // Borrows `table`. REQUIRES: it outlives the iterator.
  TableIterator(const TableReader& table, bool fill_cache);

  bool valid() const override { return data_iter_ && data_iter_->valid(); }
  std::string_view key() const override;
  std::string_view value() const override;

  asio::awaitable<Result<void>> seek_to_first() override;
  asio::awaitable<Result<void>> seek_to_last() override;
  asio::awaitable<Result<void>> seek(std::string_view target) override;
  asio::awaitable<Result<void>> next() override;
  asio::awaitable<Result<void>> prev() override;
  // Steps within the block, and into the next one when it is in memory (mapping, block cache, or
  // OS page cache); otherwise leaves the read of the next block to next() (resume_load_).
  bool try_next(Result<void>* r) override;
  // seek() when every block it touches is in memory; false when one must be read from the file.
  bool try_seek(std::string_view target, Result<void>* r) override;
  bool try_seek_to_first(Result<void>* r) override;

 private:
  enum class Loaded : uint8_t { yes, needs_io };
  // load_data_block() from memory only: needs_io (and no data block loaded) when the block must
  // be read from the file.
  Result<Loaded> load_data_block_in_memory();
  // Loads the data block named by the current index entry (or clears it if the index iterator
  // is not valid).
  asio::awaitable<Result<void>> load_data_block();
  // Move past empty or exhausted data blocks, forwards or backwards.
  asio::awaitable<Result<void>> skip_forward();
  // skip_forward() without I/O: true when done (*r set); false when the next block must be read
  // from the file, leaving that read to next() (resume_load_).
  bool skip_forward_in_memory(Result<void>* r);
  // The rest of try_seek / try_seek_to_first once the index iterator is positioned: load its
  // block from memory, position in it (`target`, or its first entry if null), skip forward.
  bool position_in_memory(const std::string_view* target, Result<void>* r);
  asio::awaitable<Result<void>> skip_backward();
  // Checks the index and data iterators for corruption; on error clears the position.
  Result<void> check_status();
  void clear_data();
  // Makes the loaded block the one the data iterator walks.
  void set_block(BlockHandle handle);

  std::shared_ptr<const TableReader> owner_;  // empty when the reader is borrowed
  const TableReader* table_;
  const bool fill_cache_;
  BlockIterator index_iter_;
  // The current data block: a view of the table's mapping (held by value: no allocation per
  // block), or a block shared with the block cache. block_ points at whichever holds it.
  std::optional<Block> mapped_block_;
  std::shared_ptr<const Block> data_block_;
  const Block* block_ = nullptr;
  std::optional<BlockHandle> data_handle_;  // of *block_
  std::optional<BlockIterator> data_iter_;  // over *block_
  bool resume_load_ = false;                // try_next moved the index on; next() loads that block and goes on
};

}  // namespace strata::sstable
