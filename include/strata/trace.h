// LookupTrace: where one point lookup went (DB::trace, the REPL's `TRACE key`, GET /v1/trace),
// after kiwidb's `trace`: the memtables it checked, each SSTable it consulted in order (level,
// file number, bloom filter verdict, data blocks from the block cache or from disk), and what
// decided the answer. A trace is a real lookup: it reads and counts like get().
// Thread-safety: a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "strata/types.h"

namespace strata {

struct LookupTrace {
  struct Step {
    std::string source;        // "memtable", "immutable memtable 1" (1 = newest), "L2 000123.sst"
    int level = -1;            // -1 for memtables
    uint64_t file_number = 0;  // 0 for memtables
    // found (a value), tombstone (the key is deleted), absent (checked, no visible version),
    // bloom_negative (the filter ruled the key out: no block read)
    std::string outcome;
    bool bloom_checked = false;
    uint64_t block_cache_hits = 0;
    uint64_t blocks_read = 0;  // data blocks read from disk
    uint64_t bytes_read = 0;
  };

  std::string key;
  SequenceNumber read_sequence = 0;  // the lookup saw writes up to this sequence number
  std::vector<Step> steps;           // in the order they ran
  bool found = false;                // a value was found (not deleted)
  std::optional<std::string> value;
  std::optional<SequenceNumber> found_sequence;  // of the deciding SSTable entry (memtables: unknown)
  uint64_t micros = 0;

  uint64_t sstables_consulted() const;
  uint64_t bloom_negatives() const;
  uint64_t block_cache_hits() const;
  uint64_t blocks_read() const;
};

}  // namespace strata
