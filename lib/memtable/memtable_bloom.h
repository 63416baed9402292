// MemTableBloom: a filter over the user keys of one memtable, so that a point read of a key the
// memtable does not hold (most reads, while writes go on) skips the skiplist search: about 20
// dependent cache misses in a memtable of a few hundred thousand entries, against one here
// (RocksDB's memtable whole-key filtering, its DynamicBloom, util/dynamic_bloom.h).
//
// Layout: `lines` cache lines of 512 bits; a key's hash picks one line (the high 32 bits, by
// multiply-shift) and sets or tests kProbes bits inside it (the low 32 bits, stepped by a
// multiplicative hash), the cache-local scheme of the SSTable filter (lib/sstable/bloom.h).
// With Options::memtable_bloom_size_ratio 1/64 and entries of ~150 bytes that is ~10 bits per
// key, about 1% false positives.
//
// Thread-safety: add() from any thread concurrently with may_contain() (relaxed atomic or/load).
// A reader that can see an entry in the skiplist sees its bits: add() sets them before the
// entry is inserted, and the insert publishes with release what the reader acquires.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace strata {

class MemTableBloom {
 public:
  static constexpr int kProbes = 6;

  // bytes: the filter's size, rounded up to whole 64-byte lines; 0 makes a filter that is
  // disabled (may_contain is always true, add does nothing).
  explicit MemTableBloom(size_t bytes);

  bool enabled() const { return lines_ != 0; }
  size_t bytes() const { return lines_ * 64; }

  // The hash add() and may_contain() take (XXH3 of the user key).
  static uint64_t hash(std::string_view user_key);

  void add(uint64_t hash);
  // False only if no key with this hash was added.
  bool may_contain(uint64_t hash) const;

 private:
  // The first of the 8 words of the line `hash` picks.
  size_t line_start(uint64_t hash) const {
    return static_cast<size_t>(((hash >> 32) * static_cast<uint64_t>(lines_)) >> 32) * 8;
  }

  size_t lines_;
  std::unique_ptr<std::atomic<uint64_t>[]> words_;  // lines_ * 8, zeroed
};

}  // namespace strata
