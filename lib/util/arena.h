// Arena: a bump allocator for memtable entries. Memory is freed only when the arena is destroyed.
// Blocks of kBlockSize bytes; allocations larger than a quarter block get their own block.
//
// Thread-safety: allocate() is single-writer (the memtable's one inserter). memory_usage() may be
// read from any thread (relaxed atomic).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace strata {

class Arena {
 public:
  static constexpr size_t kBlockSize = 4096;

  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns `bytes` bytes aligned to alignof(std::max_align_t)... for pointers (8 bytes).
  // REQUIRES: bytes > 0.
  char* allocate_aligned(size_t bytes);

  // Bytes reserved from the system, including unused block tails.
  size_t memory_usage() const { return memory_usage_.load(std::memory_order_relaxed); }

 private:
  char* allocate_new_block(size_t bytes);

  char* alloc_ptr_ = nullptr;
  size_t alloc_bytes_remaining_ = 0;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::atomic<size_t> memory_usage_{0};
};

}  // namespace strata
