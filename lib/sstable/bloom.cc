#include "lib/sstable/bloom.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>

#include "lib/util/assert.h"

namespace strata::sstable {

namespace {

constexpr int kMaxProbes = 30;
// Small filters have high variance in their false positive rate; 64 bits is RocksDB's floor.
constexpr size_t kMinBits = 64;

uint64_t hash_key(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

}  // namespace

int bloom_num_probes(int bits_per_key) {
  // ln 2 ~= 0.69; truncating (as LevelDB does) slightly favours fewer memory accesses.
  int k = static_cast<int>(bits_per_key * 0.69);
  return std::clamp(k, 1, kMaxProbes);
}

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key)
    : bits_per_key_(bits_per_key), num_probes_(bloom_num_probes(bits_per_key)) {
  STRATA_ASSERT(bits_per_key >= 1);
}

void BloomFilterBuilder::add_key(std::string_view user_key) { hashes_.push_back(hash_key(user_key)); }

std::string BloomFilterBuilder::finish() {
  size_t bits = std::max(kMinBits, hashes_.size() * static_cast<size_t>(bits_per_key_));
  size_t bytes = (bits + 7) / 8;
  bits = bytes * 8;
  std::string out(bytes, '\0');
  for (uint64_t h : hashes_) {
    const uint64_t delta = std::rotl(h, 32);
    for (int i = 0; i < num_probes_; ++i) {
      uint64_t pos = h % bits;
      out[pos / 8] = static_cast<char>(out[pos / 8] | (1 << (pos % 8)));
      h += delta;
    }
  }
  out.push_back(static_cast<char>(num_probes_));
  hashes_.clear();
  return out;
}

bool bloom_may_contain(std::string_view filter, std::string_view user_key) {
  if (filter.size() < 2) return true;
  int num_probes = static_cast<uint8_t>(filter.back());
  if (num_probes < 1 || num_probes > kMaxProbes) return true;  // reserved for other encodings
  const size_t bits = (filter.size() - 1) * 8;
  uint64_t h = hash_key(user_key);
  const uint64_t delta = std::rotl(h, 32);
  for (int i = 0; i < num_probes; ++i) {
    uint64_t pos = h % bits;
    if ((static_cast<uint8_t>(filter[pos / 8]) & (1 << (pos % 8))) == 0) return false;
    h += delta;
  }
  return true;
}

}  // namespace strata::sstable
