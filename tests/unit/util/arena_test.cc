#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "lib/util/arena.h"

using strata::Arena;

namespace {

bool aligned8(const char* p) { return (reinterpret_cast<uintptr_t>(p) & 7) == 0; }

// Fills every allocation with its own byte and checks none was overwritten: allocations are
// disjoint and stay valid.
void check_allocations(Arena& arena, size_t count, size_t max_bytes) {
  struct Allocation {
    char* p;
    size_t n;
    char fill;
  };
  std::vector<Allocation> all;
  uint32_t x = 12345;
  for (size_t i = 0; i < count; ++i) {
    x = x * 1103515245 + 12345;
    size_t n = 1 + (x >> 8) % max_bytes;
    char* p = arena.allocate_aligned(n);
    REQUIRE(aligned8(p));
    char fill = static_cast<char>(i);
    std::memset(p, fill, n);
    all.push_back({p, n, fill});
  }
  for (const auto& a : all) {
    for (size_t i = 0; i < a.n; ++i) REQUIRE(a.p[i] == a.fill);
  }
}

}  // namespace

TEST_CASE("small blocks: aligned, disjoint allocations; usage counts the reserved blocks") {
  Arena arena;
  CHECK_FALSE(arena.huge_pages());
  CHECK(arena.memory_usage() == 0);
  check_allocations(arena, 5000, 300);
  CHECK(arena.memory_usage() >= 5000);
  char* big = arena.allocate_aligned(10000);  // over a quarter block: a block of its own
  std::memset(big, 1, 10000);
  CHECK(arena.memory_usage() >= 10000);
}

TEST_CASE("huge blocks: aligned, disjoint allocations; usage counts the bytes handed out and left tails") {
  Arena arena(/*huge_pages=*/true);
  CHECK(arena.huge_pages());
  CHECK(arena.memory_usage() == 0);
  CHECK(arena.allocate_aligned(100) != nullptr);
  CHECK(arena.memory_usage() == 100);           // not the 2 MiB block it came from
  CHECK(arena.allocate_aligned(5) != nullptr);  // 4 bytes of padding first
  CHECK(arena.memory_usage() == 109);
  CHECK(arena.allocate_aligned(8) != nullptr);  // 3 bytes of padding first
  CHECK(arena.memory_usage() == 120);
  check_allocations(arena, 40000, 300);  // ~6 MB: several blocks
  // An allocation larger than an eighth of a block gets one of its own; the current block goes on.
  const size_t before = arena.memory_usage();
  char* big = arena.allocate_aligned(3 << 20);
  REQUIRE(aligned8(big));
  std::memset(big, 7, 3 << 20);
  CHECK(arena.memory_usage() == before + (3 << 20));
  char* next = arena.allocate_aligned(16);
  CHECK((next < big || next >= big + (3 << 20)));
}

TEST_CASE("a huge-page arena's blocks are 2 MiB aligned, so the kernel can map them with huge pages") {
  Arena arena(/*huge_pages=*/true);
  char* p = arena.allocate_aligned(64);
  CHECK(reinterpret_cast<uintptr_t>(p) % Arena::kHugeBlockSize == 0);
}
