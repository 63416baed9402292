// Block: the parsed, immutable contents of one block (built by BlockBuilder), and BlockIterator,
// a synchronous iterator over its entries.
//
// Blocks come from disk and will be fuzzed, so nothing about the bytes is trusted: parse()
// validates the restart array (in bounds, starting at 0, strictly increasing) and the iterator
// bounds-checks every entry as it decodes it. A malformed entry makes the iterator !valid() with
// status() == Errc::corruption; it never reads outside the block or crashes.
// Thread-safety: a Block is immutable and may be shared by any number of threads; each
// BlockIterator is used by one coroutine at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "strata/result.h"

namespace strata::sstable {

// How the keys of a block are ordered: data and index blocks hold internal keys
// (compare_internal_keys), the properties block plain bytewise-ordered names.
enum class KeyOrder : uint8_t { bytewise, internal };

class BlockIterator;

class Block {
 public:
  // Takes ownership of a block's uncompressed contents. Errors: corruption if the restart array
  // is malformed.
  static Result<Block> parse(std::string contents, KeyOrder order);
  // A block over contents it does not own (a memory-mapped file): `contents` must outlive the
  // Block. Same validation and errors as parse().
  static Result<Block> parse_view(std::string_view contents, KeyOrder order);
  // parse_view() of contents that passed parse() before (a verified block of a mapped table):
  // checks only that the restart array fits, not each restart point again.
  static Result<Block> view_verified(std::string_view contents, KeyOrder order);

  Block(Block&& other) noexcept;
  Block& operator=(Block&& other) noexcept;
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;

  // The iterator points into this Block: the Block must outlive it and must not be moved while
  // it exists (hold Blocks by shared_ptr when iterators escape).
  BlockIterator new_iterator() const;

  size_t size() const { return data_.size(); }
  KeyOrder order() const { return order_; }
  uint32_t num_restarts() const { return num_restarts_; }

 private:
  friend class BlockIterator;
  Block(std::string owned, std::string_view data, uint32_t restart_offset, uint32_t num_restarts, KeyOrder order)
      : owned_(std::move(owned)),
        data_(owned_.empty() ? data : std::string_view(owned_)),
        restart_offset_(restart_offset),
        num_restarts_(num_restarts),
        order_(order) {}
  // Checks the restart array of `data` and returns (restart_offset, num_restarts).
  static Result<std::pair<uint32_t, uint32_t>> check(std::string_view data);

  uint32_t restart_point(uint32_t i) const;

  std::string owned_;        // the contents when the Block owns them (empty for a view)
  std::string_view data_;    // the contents: owned_, or memory the Block does not own
  uint32_t restart_offset_;  // entries live in [0, restart_offset_)
  uint32_t num_restarts_;    // 0 only for a block without entries
  KeyOrder order_;
};

class BlockIterator {
 public:
  explicit BlockIterator(const Block* block);
  // An iterator over no entries (!valid()), to be assigned a real one.
  BlockIterator();

  bool valid() const { return current_ < block_->restart_offset_ && status_; }
  // Corruption once a malformed entry was met; stays so (the block does not change).
  Result<void> status() const { return status_; }
  // The restart point at or before the current entry. In a block built with restart interval 1
  // (index blocks) that is the entry's ordinal. REQUIRES: valid().
  uint32_t restart_index() const { return restart_index_; }

  // REQUIRES: valid(). Views into the iterator and the block, valid until the next move.
  std::string_view key() const { return key_; }
  std::string_view value() const;

  void seek_to_first();
  void seek_to_last();
  // Positions at the first entry with key >= target in the block's order.
  // REQUIRES: with KeyOrder::internal, target is an internal key (>= 8 bytes).
  void seek(std::string_view target);
  // seek() when the caller knows that the last restart point whose key is < target lies in
  // [left, right] (an index search accelerator narrowed it); the binary search runs only there.
  // REQUIRES: as seek(); left <= right < the block's restart count.
  void seek(std::string_view target, uint32_t left, uint32_t right);
  // REQUIRES: valid().
  void next();
  void prev();

 private:
  int compare(std::string_view a, std::string_view b) const;
  void seek_to_restart(uint32_t index);
  // Decodes the entry at next_offset_ into the current entry; false at the end or on corruption.
  bool parse_next_entry();
  // Decodes the full key stored at a restart point, for the binary search.
  bool restart_key(uint32_t index, std::string_view* key);
  void mark_end();
  void mark_corrupt();

  const Block* block_;
  uint32_t current_;        // offset of the current entry; restart_offset_ when !valid()
  uint32_t next_offset_;    // offset of the entry after the current one
  uint32_t restart_index_;  // the restart block that holds current_
  std::string key_;
  uint32_t value_offset_ = 0;
  uint32_t value_size_ = 0;
  Result<void> status_;
};

}  // namespace strata::sstable
