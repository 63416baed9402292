// BlockBuilder: builds the contents of one data, index or properties block with prefix-compressed
// keys and restart points (LevelDB's table/block_builder.cc layout, see docs/format/sstable.md):
//
//   entry*    entry = shared varint32 | non_shared varint32 | value_len varint32 |
//                     key bytes after the shared prefix | value bytes
//   restart fixed32 * num_restarts | num_restarts fixed32
//
// Every restart_interval-th entry is a restart point: it stores its whole key (shared = 0) and
// its offset is in the restart array, so a reader can binary-search the restarts.
// Invariants: the caller adds keys in the order the block will be read with (the builder does
// not compare keys); the finished block is smaller than 4 GiB.
// Thread-safety: none; one owner.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata::sstable {

class BlockBuilder {
 public:
  // REQUIRES: restart_interval >= 1.
  explicit BlockBuilder(int restart_interval);

  // Forgets everything added, to build the next block.
  void reset();

  // REQUIRES: finish() was not called since the last reset().
  void add(std::string_view key, std::string_view value);

  // Appends the restart array and returns the block's contents, valid until the next reset()
  // or destruction.
  std::string_view finish();

  // The size of the block if finish() were called now.
  size_t current_size_estimate() const;
  bool empty() const { return buffer_.empty(); }
  int num_entries() const { return num_entries_; }

 private:
  int restart_interval_;
  std::string buffer_;
  std::vector<uint32_t> restarts_;
  int counter_ = 0;  // entries since the last restart point
  int num_entries_ = 0;
  bool finished_ = false;
  std::string last_key_;
};

}  // namespace strata::sstable
