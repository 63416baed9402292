// Arena: a bump allocator for memtable entries. Memory is freed only when the arena is destroyed.
//
// Two block sizes:
//  - small (the default): blocks of kBlockSize bytes from the heap; allocations larger than a
//    quarter block get their own block. memory_usage() counts every reserved byte.
//  - huge (huge_pages = true): blocks of kHugeBlockSize bytes aligned to it, which the kernel is
//    asked to back with transparent huge pages (madvise MADV_HUGEPAGE; RocksDB's
//    memtable_huge_page_size does the same with MAP_HUGETLB). A skiplist's search touches nodes
//    spread over the whole arena: with 4 KiB pages a 64 MiB memtable spans 16,384 TLB entries and
//    most node visits miss the TLB; with 2 MiB pages it spans 32. Where the kernel gives no huge
//    page the block still works, with small pages. memory_usage() counts the bytes handed out and
//    the tails left behind, not the unused rest of the current block, so that a memtable's size
//    limit means the same in both modes.
//
// Thread-safety: allocate_aligned() is single-writer (the memtable's one inserter). memory_usage()
// may be read from any thread (relaxed atomic).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace strata {

class Arena {
 public:
  static constexpr size_t kBlockSize = 4096;
  static constexpr size_t kHugeBlockSize = 2 << 20;  // x86-64's huge page

  explicit Arena(bool huge_pages = false) : huge_pages_(huge_pages) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns `bytes` bytes aligned to 8 bytes (for pointers). REQUIRES: bytes > 0.
  char* allocate_aligned(size_t bytes);

  // Bytes taken from the system (small blocks) or handed out (huge blocks); see above.
  size_t memory_usage() const { return memory_usage_.load(std::memory_order_relaxed); }
  bool huge_pages() const { return huge_pages_; }

 private:
  struct Free {
    void operator()(char* p) const;
  };
  char* allocate_new_block(size_t bytes);
  char* allocate_huge(size_t bytes);
  void add_usage(size_t bytes) {
    memory_usage_.store(memory_usage_.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  }

  const bool huge_pages_;
  char* alloc_ptr_ = nullptr;
  size_t alloc_bytes_remaining_ = 0;
  std::vector<std::unique_ptr<char[], Free>> blocks_;
  std::atomic<size_t> memory_usage_{0};
};

}  // namespace strata
