// The SSTable's bloom filter: one "full filter" over the user keys of the whole table (RocksDB's
// full filter, not LevelDB's per-2KiB filters), so a point lookup checks it before touching the
// index.
//
//   filter block = bit array (num_bytes, num_bytes * 8 bits) | num_probes (1 byte)
//
// A key's probes use double hashing (Kirsch and Mitzenmacher, "Less hashing, same performance")
// on h = XXH3_64bits(user key): probe i sets bit (h + i * delta) mod num_bits, delta = rotl(h, 32).
// num_probes = bits_per_key * ln 2 clamped to [1, 30]: the value that minimises false positives.
// At 10 bits per key that is 6 probes and about 1% false positives.
// Invariants: no false negatives. A filter whose bytes are malformed (too short, num_probes out of
// range) answers "may contain" for every key, which is always safe.
// Thread-safety: BloomFilterBuilder: one owner; bloom_may_contain: pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata::sstable {

class BloomFilterBuilder {
 public:
  // REQUIRES: bits_per_key >= 1.
  explicit BloomFilterBuilder(int bits_per_key);

  // Adding the same key twice is harmless but wastes bits; the table builder adds each user key
  // once.
  void add_key(std::string_view user_key);
  size_t num_keys() const { return hashes_.size(); }

  // Returns the filter block contents and forgets the keys.
  std::string finish();

 private:
  int bits_per_key_;
  int num_probes_;
  std::vector<uint64_t> hashes_;
};

// The number of probes for bits_per_key, clamped to [1, 30].
int bloom_num_probes(int bits_per_key);

// False only if `user_key` was certainly not added to the filter.
bool bloom_may_contain(std::string_view filter, std::string_view user_key);

}  // namespace strata::sstable
