// ReadStats: the read counters of SSTable lookups, shared by every table of a DB (a DB points
// every TableReadOptions at one ReadStats) or private to one TableReader (the default).
// DBImpl::stats() copies them into DbStats (lib/db/stats.h).
//
// Thread-safety: relaxed atomics, updated concurrently by every reader; they are statistics, not
// synchronisation, so a copy taken while reads run is not a consistent snapshot across fields.
#pragma once

#include <atomic>
#include <cstdint>

namespace strata::sstable {

struct ReadStats {
  std::atomic<uint64_t> bloom_checks{0};        // TableReader::get calls that consulted a filter
  std::atomic<uint64_t> bloom_negatives{0};     // ... answered "absent" by it (no block read)
  std::atomic<uint64_t> block_cache_hits{0};    // data blocks found in the block cache
  std::atomic<uint64_t> block_cache_misses{0};  // data blocks looked up and not found there
  std::atomic<uint64_t> data_blocks_read{0};    // data blocks read from the file (checksum verified)
  std::atomic<uint64_t> data_bytes_read{0};     // their on-disk bytes (contents + trailer)

  void add(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_add(n, std::memory_order_relaxed); }
};

}  // namespace strata::sstable
