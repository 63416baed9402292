// ReadStats: the read counters of SSTable lookups, shared by every table of a DB (a DB points
// every TableReadOptions at one ReadStats) or private to one TableReader (the default).
// DBImpl::stats() copies them into DbStats (include/strata/stats.h).
//
// Thread-safety: striped relaxed counters (lib/util/striped_counter.h), updated concurrently by
// every reader without sharing cache lines; they are statistics, not synchronisation, so values
// taken while reads run are not a consistent snapshot across fields.
#pragma once

#include <atomic>
#include <cstdint>

#include "lib/util/striped_counter.h"

namespace strata::sstable {

struct ReadStats {
  StripedCounter bloom_checks;        // TableReader::get calls that consulted a filter
  StripedCounter bloom_negatives;     // ... answered "absent" by it (no block read)
  StripedCounter block_cache_hits;    // data blocks found in the block cache
  StripedCounter block_cache_misses;  // data blocks looked up and not found there
  StripedCounter data_blocks_read;    // data blocks read from the file (checksum verified)
  StripedCounter data_bytes_read;     // their on-disk bytes (contents + trailer)
  StripedCounter page_cache_reads;    // ... of which the OS had in memory (no I/O wait)
  StripedCounter mapped_reads;        // data blocks served from a table's memory mapping

  void add(StripedCounter& counter, uint64_t n = 1) { counter.add(n); }
};

}  // namespace strata::sstable
