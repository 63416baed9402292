#include "lib/util/arena.h"

#include <cstdint>

#include "lib/util/assert.h"

namespace strata {

char* Arena::allocate_aligned(size_t bytes) {
  STRATA_ASSERT(bytes > 0);
  constexpr size_t kAlign = 8;
  size_t misalign = reinterpret_cast<uintptr_t>(alloc_ptr_) & (kAlign - 1);
  size_t slop = misalign == 0 ? 0 : kAlign - misalign;
  size_t needed = bytes + slop;
  if (needed <= alloc_bytes_remaining_) {
    char* result = alloc_ptr_ + slop;
    alloc_ptr_ += needed;
    alloc_bytes_remaining_ -= needed;
    return result;
  }
  if (bytes > kBlockSize / 4) return allocate_new_block(bytes);  // keep the current block's tail
  alloc_ptr_ = allocate_new_block(kBlockSize);
  alloc_bytes_remaining_ = kBlockSize;
  char* result = alloc_ptr_;
  alloc_ptr_ += bytes;
  alloc_bytes_remaining_ -= bytes;
  return result;
}

char* Arena::allocate_new_block(size_t bytes) {
  blocks_.push_back(std::make_unique<char[]>(bytes));  // new[] returns max_align_t-aligned memory
  memory_usage_.fetch_add(bytes + sizeof(char*), std::memory_order_relaxed);
  return blocks_.back().get();
}

}  // namespace strata
