// IndexAccelerator: a dense array of 8-byte key prefixes, one per entry of an SSTable's index
// block, that narrows the index search of a lookup before it touches the block.
//
// A binary search over an index block of thousands of entries (one per data block) takes a cache
// miss per probe: each probe decodes a key somewhere in a block of hundreds of KiB. Here the same
// search first runs over a uint64_t array (8 bytes per data block: 80 KiB for a 40 MB table, which
// stays in the CPU cache), holding for each entry the 8 bytes of its user key that follow the
// prefix every key of the table shares, big-endian (so integer order is key order). Only entries
// whose 8 bytes equal the target's are then compared in full (BlockIterator::seek's bounded form).
// The same idea as the prefix arrays of cache-conscious B-tree nodes and of RocksDB's
// partitioned-index "key prefix" experiments; the file format is unchanged.
//
// It also keeps each entry's block handle (16 bytes per data block), so that when the prefixes
// alone decide which block may hold a point lookup's key (no entry's prefix equals the key's, the
// common case once keys differ within 8 bytes) the lookup reads no index entry at all: locate().
//
// Invariants: prefixes_ is non-decreasing (user keys are sorted; truncating and zero-padding
// preserve <=); every entry's user key but the last starts with common_ (the last may be a short
// successor that does not: its prefix is UINT64_MAX).
// Thread-safety: immutable after build(); narrow() from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/sstable/block.h"

namespace strata::sstable {

class IndexAccelerator {
 public:
  // Builds over `index`, an index block of internal keys with one entry per restart point (as
  // TableBuilder writes them). Disabled (enabled() false) for any other block.
  static IndexAccelerator build(const Block& index);

  bool enabled() const { return !prefixes_.empty(); }
  // The range of restart points [first, second] holding the last entry whose key is < `target`
  // (an internal key), as BlockIterator::seek(target, left, right) takes it.
  // REQUIRES: enabled().
  std::pair<uint32_t, uint32_t> narrow(std::string_view target) const;
  size_t memory_bytes() const {
    return (prefixes_.capacity() + top_.capacity()) * sizeof(uint64_t) + handles_.capacity() * sizeof(Handle) +
           common_.capacity();
  }

  // The data block that alone may hold `target` (an internal key), when the prefixes decide it:
  // the first entry whose separator is greater than the target's user key, with every earlier
  // separator's user key less than it. Then target's user key is in that block or in no block of
  // the table (the next block's keys are all > its separator >= ... > the target's user key).
  // nullopt when the full keys must decide (some prefix equals the target's, or the target sorts
  // after the last separator): use narrow() and the index block.
  struct Located {
    uint32_t ordinal;  // the index entry's position (its restart point)
    uint64_t offset;   // its block handle
    uint64_t size;
  };
  std::optional<Located> locate(std::string_view target) const;

  // Starts loading the segment of prefixes that narrow() and locate() will search for `target`.
  void prefetch(std::string_view target) const;

 private:
  // The 8 bytes of `user_key` after common_.size(), big-endian, zero-padded.
  uint64_t prefix_of(std::string_view user_key) const;
  // std::lower_bound over prefixes_, searching top_ first: the search then touches a few cache
  // lines of one 512-byte segment instead of one line per probe across the whole array.
  uint32_t lower_bound(uint64_t t) const;
  // The first entry at or after `from` whose prefix is greater than t.
  uint32_t upper_bound_from(uint32_t from, uint64_t t) const;

  static constexpr uint32_t kSegment = 64;  // entries per top_ sample

  struct Handle {
    uint64_t offset;
    uint64_t size;
  };

  std::string common_;              // the user-key prefix every entry shares
  std::vector<uint64_t> prefixes_;  // one per entry, in index order
  std::vector<uint64_t> top_;       // prefixes_[k * kSegment] for every k: small enough for L1
  std::vector<Handle> handles_;     // one per entry (the index entry's value), in index order
};

}  // namespace strata::sstable
