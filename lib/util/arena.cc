#include "lib/util/arena.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

#include "lib/util/assert.h"

namespace strata {

void Arena::Free::operator()(char* p) const { std::free(p); }

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
    if (huge_pages_) add_usage(needed);
    return result;
  }
  if (huge_pages_) return allocate_huge(bytes);
  if (bytes > kBlockSize / 4) return allocate_new_block(bytes);  // keep the current block's tail
  alloc_ptr_ = allocate_new_block(kBlockSize);
  alloc_bytes_remaining_ = kBlockSize;
  char* result = alloc_ptr_;
  alloc_ptr_ += bytes;
  alloc_bytes_remaining_ -= bytes;
  return result;
}

// A new huge block (or, for an allocation of more than an eighth of one, a block of its own,
// rounded up to whole huge pages): the current block's tail is counted as used and left behind.
char* Arena::allocate_huge(size_t bytes) {
  if (bytes > kHugeBlockSize / 8) {
    const size_t rounded = (bytes + kHugeBlockSize - 1) / kHugeBlockSize * kHugeBlockSize;
    char* p = static_cast<char*>(std::aligned_alloc(kHugeBlockSize, rounded));
    STRATA_ASSERT_MSG(p != nullptr, "out of memory for a memtable block");
    ::madvise(p, rounded, MADV_HUGEPAGE);  // advice: without huge pages the block works as well
    blocks_.emplace_back(p);
    add_usage(bytes);
    return p;
  }
  add_usage(alloc_bytes_remaining_ + bytes);
  char* p = static_cast<char*>(std::aligned_alloc(kHugeBlockSize, kHugeBlockSize));
  STRATA_ASSERT_MSG(p != nullptr, "out of memory for a memtable block");
  ::madvise(p, kHugeBlockSize, MADV_HUGEPAGE);
  blocks_.emplace_back(p);
  alloc_ptr_ = p + bytes;
  alloc_bytes_remaining_ = kHugeBlockSize - bytes;
  return p;
}

char* Arena::allocate_new_block(size_t bytes) {
  // malloc returns max_align_t-aligned memory.
  char* p = static_cast<char*>(std::malloc(bytes));
  STRATA_ASSERT_MSG(p != nullptr, "out of memory for a memtable block");
  blocks_.emplace_back(p);
  memory_usage_.fetch_add(bytes + sizeof(char*), std::memory_order_relaxed);
  return p;
}

}  // namespace strata
