// The SSTable's bloom filter: one "full filter" over the user keys of the whole table (RocksDB's
// full filter, not LevelDB's per-2KiB filters), so a point lookup checks it before touching the
// index. Two encodings, told apart by the filter's last byte (docs/format/sstable.md):
//
//   cache-local (written by default):
//     lines (n * 64 bytes) | num_probes (1 byte) | kCacheLocalMarker (1 byte)
//     A key's probes all fall in one 64-byte line (one cache miss per lookup instead of one per
//     probe): h = XXH3_64bits(user key); line = (high 32 bits of h * n) >> 32 (a multiply, no
//     division); within the line, probe i tests bit (g_i >> 23) where g_0 = low 32 bits of h and
//     g_{i+1} = g_i * 0x9E3779B9 mod 2^32 (a golden-ratio multiplicative hash, as in Putze,
//     Sanders and Singler, "Cache-, Hash- and Space-Efficient Bloom Filters", 2007, and RocksDB's
//     FastLocalBloom). About 1.2% false positives at 10 bits per key and 6 probes, against 0.8%
//     for the standard layout: the price of touching one line.
//
//   standard (written by earlier versions, still read):
//     bit array (num_bytes, num_bytes * 8 bits) | num_probes (1 byte)
//     Probes use double hashing (Kirsch and Mitzenmacher, "Less hashing, same performance") on
//     h = XXH3_64bits(user key): probe i tests bit (h + i * delta) mod num_bits, delta = rotl(h, 32).
//
// num_probes = bits_per_key * ln 2 clamped to [1, 30]: the value that minimises false positives.
// At 10 bits per key that is 6 probes.
// Invariants: no false negatives. A filter whose bytes are malformed (too short, num_probes out of
// range, an unknown last byte) answers "may contain" for every key, which is always safe.
// Thread-safety: BloomFilterBuilder: one owner; FilterBlock and bloom_may_contain: immutable/pure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata::sstable {

// The last byte of a cache-local filter. Values 1..30 are the num_probes of a standard filter.
inline constexpr uint8_t kCacheLocalMarker = 0xC1;
inline constexpr size_t kBloomLineBytes = 64;

class BloomFilterBuilder {
 public:
  // REQUIRES: bits_per_key >= 1. `cache_local` chooses the encoding (tests write the standard
  // one to check that readers still answer it).
  explicit BloomFilterBuilder(int bits_per_key, bool cache_local = true);

  // Adding the same key twice is harmless but wastes bits; the table builder adds each user key
  // once.
  void add_key(std::string_view user_key);
  size_t num_keys() const { return hashes_.size(); }

  // Returns the filter block contents and forgets the keys.
  std::string finish();

 private:
  std::string finish_standard();
  std::string finish_cache_local();

  int bits_per_key_;
  int num_probes_;
  bool cache_local_;
  std::vector<uint64_t> hashes_;
};

// The number of probes for bits_per_key, clamped to [1, 30].
int bloom_num_probes(int bits_per_key);

// The hash both encodings probe with.
uint64_t bloom_hash(std::string_view user_key);

// False only if `user_key` was certainly not added to the filter. Either encoding.
bool bloom_may_contain(std::string_view filter, std::string_view user_key);
bool bloom_may_contain_hash(std::string_view filter, uint64_t hash);

// A filter block as a table reader keeps it: its bytes copied to a 64-byte aligned address, so
// that each line of a cache-local filter is exactly one CPU cache line.
class FilterBlock {
 public:
  FilterBlock() = default;
  explicit FilterBlock(std::string_view contents);

  bool empty() const { return size_ == 0; }
  std::string_view contents() const { return {data_.get(), size_}; }
  bool may_contain(std::string_view user_key) const { return bloom_may_contain(contents(), user_key); }
  bool may_contain_hash(uint64_t hash) const { return bloom_may_contain_hash(contents(), hash); }
  // Starts loading the cache line that may_contain_hash(hash) will read (a cache-local filter;
  // a no-op for the standard one), so that a batch of lookups overlaps its cache misses.
  void prefetch(uint64_t hash) const;

 private:
  struct Free {
    void operator()(char* p) const;
  };
  std::unique_ptr<char[], Free> data_;
  size_t size_ = 0;
};

}  // namespace strata::sstable
