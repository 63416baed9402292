#include "lib/memtable/memtable_bloom.h"

#include <xxhash.h>

namespace strata {

MemTableBloom::MemTableBloom(size_t bytes) : lines_((bytes + 63) / 64) {
  // Line counts above 2^32 would overflow the multiply-shift; no memtable needs that.
  if (lines_ > (size_t{1} << 32)) lines_ = size_t{1} << 32;
  if (lines_ != 0) {
    words_ = std::make_unique<std::atomic<uint64_t>[]>(lines_ * 8);  // value-initialized: zero
  }
}

uint64_t MemTableBloom::hash(std::string_view user_key) { return XXH3_64bits(user_key.data(), user_key.size()); }

void MemTableBloom::add(uint64_t hash) {
  if (lines_ == 0) return;
  const size_t start = line_start(hash);
  auto g = static_cast<uint32_t>(hash);
  for (int i = 0; i < kProbes; ++i) {
    const uint32_t bit = g >> 23;  // 0..511
    words_[start + bit / 64].fetch_or(uint64_t{1} << (bit % 64), std::memory_order_relaxed);
    g *= 0x9E3779B9u;
  }
}

bool MemTableBloom::may_contain(uint64_t hash) const {
  if (lines_ == 0) return true;
  const size_t start = line_start(hash);
  auto g = static_cast<uint32_t>(hash);
  for (int i = 0; i < kProbes; ++i) {
    const uint32_t bit = g >> 23;
    if ((words_[start + bit / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (bit % 64))) == 0) return false;
    g *= 0x9E3779B9u;
  }
  return true;
}

}  // namespace strata
