#include "lib/sstable/bloom.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

#include "lib/util/assert.h"

namespace strata::sstable {

namespace {

constexpr int kMaxProbes = 30;
// Small filters have high variance in their false positive rate; 64 bits is RocksDB's floor.
constexpr size_t kMinBits = 64;
constexpr size_t kLineBits = kBloomLineBytes * 8;  // 512: a probe's bit is 9 bits of the hash
constexpr uint32_t kGoldenRatio32 = 0x9E3779B9u;
constexpr size_t kCacheLocalTrailer = 2;  // num_probes, marker

// The line of a cache-local filter of `num_lines` lines that `hash` probes.
size_t line_of(uint64_t hash, size_t num_lines) {
  return static_cast<size_t>(((hash >> 32) * static_cast<uint64_t>(num_lines)) >> 32);
}

bool standard_may_contain(std::string_view filter, uint64_t h) {
  const int num_probes = static_cast<uint8_t>(filter.back());
  const size_t bits = (filter.size() - 1) * 8;
  const uint64_t delta = std::rotl(h, 32);
  for (int i = 0; i < num_probes; ++i) {
    uint64_t pos = h % bits;
    if ((static_cast<uint8_t>(filter[pos / 8]) & (1 << (pos % 8))) == 0) return false;
    h += delta;
  }
  return true;
}

bool cache_local_may_contain(std::string_view filter, uint64_t h) {
  const int num_probes = static_cast<uint8_t>(filter[filter.size() - 2]);
  if (num_probes < 1 || num_probes > kMaxProbes) return true;
  const size_t num_lines = (filter.size() - kCacheLocalTrailer) / kBloomLineBytes;
  if (num_lines == 0) return true;
  const auto* line = reinterpret_cast<const uint8_t*>(filter.data()) + line_of(h, num_lines) * kBloomLineBytes;
  uint32_t g = static_cast<uint32_t>(h);
  // No early exit: the probes are independent loads of one line, cheaper than mispredicted
  // branches.
  bool all = true;
  for (int i = 0; i < num_probes; ++i) {
    const uint32_t bit = g >> 23;
    all &= ((line[bit >> 3] >> (bit & 7)) & 1) != 0;
    g *= kGoldenRatio32;
  }
  return all;
}

bool is_cache_local(std::string_view filter) {
  return filter.size() >= kCacheLocalTrailer + kBloomLineBytes &&
         static_cast<uint8_t>(filter.back()) == kCacheLocalMarker;
}

}  // namespace

uint64_t bloom_hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

int bloom_num_probes(int bits_per_key) {
  // ln 2 ~= 0.69; truncating (as LevelDB does) slightly favours fewer memory accesses.
  int k = static_cast<int>(bits_per_key * 0.69);
  return std::clamp(k, 1, kMaxProbes);
}

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key, bool cache_local)
    : bits_per_key_(bits_per_key), num_probes_(bloom_num_probes(bits_per_key)), cache_local_(cache_local) {
  STRATA_ASSERT(bits_per_key >= 1);
}

void BloomFilterBuilder::add_key(std::string_view user_key) { hashes_.push_back(bloom_hash(user_key)); }

std::string BloomFilterBuilder::finish() {
  std::string out = cache_local_ ? finish_cache_local() : finish_standard();
  hashes_.clear();
  return out;
}

std::string BloomFilterBuilder::finish_standard() {
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
  return out;
}

std::string BloomFilterBuilder::finish_cache_local() {
  const size_t bits = hashes_.size() * static_cast<size_t>(bits_per_key_);
  const size_t num_lines = std::max<size_t>(1, (bits + kLineBits - 1) / kLineBits);
  std::string out(num_lines * kBloomLineBytes, '\0');
  for (uint64_t h : hashes_) {
    char* line = out.data() + line_of(h, num_lines) * kBloomLineBytes;
    uint32_t g = static_cast<uint32_t>(h);
    for (int i = 0; i < num_probes_; ++i) {
      const uint32_t bit = g >> 23;
      line[bit >> 3] = static_cast<char>(line[bit >> 3] | (1 << (bit & 7)));
      g *= kGoldenRatio32;
    }
  }
  out.push_back(static_cast<char>(num_probes_));
  out.push_back(static_cast<char>(kCacheLocalMarker));
  return out;
}

bool bloom_may_contain_hash(std::string_view filter, uint64_t hash) {
  if (filter.size() < 2) return true;
  if (is_cache_local(filter)) return cache_local_may_contain(filter, hash);
  const int num_probes = static_cast<uint8_t>(filter.back());
  if (num_probes < 1 || num_probes > kMaxProbes) return true;  // reserved for other encodings
  return standard_may_contain(filter, hash);
}

bool bloom_may_contain(std::string_view filter, std::string_view user_key) {
  return bloom_may_contain_hash(filter, bloom_hash(user_key));
}

void FilterBlock::Free::operator()(char* p) const { std::free(p); }

FilterBlock::FilterBlock(std::string_view contents) : size_(contents.size()) {
  if (size_ == 0) return;
  const size_t rounded = (size_ + kBloomLineBytes - 1) / kBloomLineBytes * kBloomLineBytes;
  data_.reset(static_cast<char*>(std::aligned_alloc(kBloomLineBytes, rounded)));
  STRATA_ASSERT_MSG(data_ != nullptr, "out of memory for a filter block");
  std::memcpy(data_.get(), contents.data(), size_);
}

void FilterBlock::prefetch(uint64_t hash) const {
  const std::string_view filter = contents();
  if (!is_cache_local(filter)) return;
  const size_t num_lines = (filter.size() - kCacheLocalTrailer) / kBloomLineBytes;
  __builtin_prefetch(filter.data() + line_of(hash, num_lines) * kBloomLineBytes);
}

}  // namespace strata::sstable
