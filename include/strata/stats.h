// DbStats: a copy of a DB's counters, for GET /v1/stats, the REPL's STATS and benchmarks.
// Thread-safety: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "strata/histogram.h"

namespace strata {

struct LevelStats {
  int level = 0;
  uint64_t file_count = 0;
  uint64_t size_bytes = 0;
  uint64_t target_bytes = 0;    // L1+: the size that triggers a compaction (0 for L0)
  double compaction_score = 0;  // >= 1: the level is due for compaction
};

struct DbStats {
  // Contents.
  uint64_t last_sequence = 0;
  uint64_t memtable_size_bytes = 0;  // active memtable, arena bytes
  uint64_t memtable_keys = 0;        // entries in the active memtable
  uint64_t immutable_memtables = 0;
  uint64_t sstable_count = 0;
  uint64_t total_sstable_size_bytes = 0;
  std::vector<LevelStats> levels;

  // Traffic.
  uint64_t puts = 0;
  uint64_t deletes = 0;
  uint64_t gets = 0;
  uint64_t scans = 0;
  uint64_t bytes_written_user = 0;  // keys + values handed to put/write
  uint64_t bytes_written_wal = 0;
  uint64_t bytes_written_flush = 0;  // SSTable bytes written by flushes
  uint64_t bytes_written_compaction = 0;
  uint64_t wal_syncs = 0;
  HistogramSnapshot wal_sync_latency;  // each synced WAL write: the write and its fdatasync
  uint64_t write_groups = 0;           // group commits (WAL writes)
  uint64_t flushes = 0;
  uint64_t stall_micros = 0;                // time writers spent delayed or stopped (memtables, L0)
  uint64_t compactions = 0;                 // compactions that merged files (not trivial moves)
  uint64_t trivial_moves = 0;               // files moved to the next level without rewriting
  uint64_t seek_compactions = 0;            // ... of the compactions, those seek budgets started
  uint64_t seek_compactions_preempted = 0;  // low-priority seek compactions a flush stopped (retried)
  uint64_t bytes_read_compaction = 0;       // input bytes of compactions
  uint64_t compaction_micros = 0;           // time spent in compaction jobs
  uint64_t compaction_dropped_entries = 0;  // hidden versions and bottom tombstones dropped
  uint64_t running_compactions = 0;
  uint64_t table_probes = 0;            // SSTables consulted by gets (bloom negatives included)
  uint64_t block_reads = 0;             // data blocks read from disk
  uint64_t block_reads_page_cache = 0;  // ... of which the OS page cache had (read without waiting)
  uint64_t block_reads_mapped = 0;      // data blocks served from SSTable memory mappings (Options::mmap_reads)
  uint64_t block_read_bytes = 0;        // their on-disk bytes
  uint64_t bloom_checks = 0;            // table lookups that consulted a bloom filter
  uint64_t bloom_negatives = 0;         // table lookups the bloom filter avoided

  // Caches (lib/cache). Block cache hits/misses count data-block lookups by gets and scans.
  uint64_t block_cache_hits = 0;
  uint64_t block_cache_misses = 0;
  uint64_t block_cache_usage_bytes = 0;
  uint64_t block_cache_capacity_bytes = 0;
  uint64_t table_cache_hits = 0;    // lookups of an already open SSTable reader
  uint64_t table_cache_misses = 0;  // ... that found none (and opened the file, or waited for
                                    // a concurrent open of it)
  uint64_t open_tables = 0;         // readers held by the table cache

  std::string sync_policy;
  bool read_only = false;  // after a failed write or sync
  std::string read_only_reason;

  uint64_t bytes_written_disk() const { return bytes_written_wal + bytes_written_flush + bytes_written_compaction; }

  // (bytes written to disk by WAL + flush + compaction) / bytes written by the user.
  double write_amplification() const {
    if (bytes_written_user == 0) return 0;
    return static_cast<double>(bytes_written_disk()) / static_cast<double>(bytes_written_user);
  }
  // SSTables consulted per get (memtable hits consult none).
  double read_amplification() const {
    return gets == 0 ? 0 : static_cast<double>(table_probes) / static_cast<double>(gets);
  }
  // SSTable bytes / bytes of the deepest non-empty level, RocksDB's estimate: with leveled
  // compaction the last level holds about all live data, so the rest is obsolete versions and
  // not-yet-merged copies. 1.0 when the tree is one level (or empty).
  double space_amplification() const {
    uint64_t last = 0;
    for (const auto& l : levels) {
      if (l.size_bytes > 0) last = l.size_bytes;
    }
    return last == 0 ? 1.0 : static_cast<double>(total_sstable_size_bytes) / static_cast<double>(last);
  }
  // Fractions in [0, 1]; 0 when there was no lookup.
  double block_cache_hit_rate() const { return ratio(block_cache_hits, block_cache_hits + block_cache_misses); }
  double table_cache_hit_rate() const { return ratio(table_cache_hits, table_cache_hits + table_cache_misses); }
  // Fraction of bloom checks that ruled the table out ("useful" in RocksDB's terms).
  double bloom_negative_rate() const { return ratio(bloom_negatives, bloom_checks); }

  // part / whole, 0 when whole is 0.
  static double ratio(uint64_t part, uint64_t whole) {
    return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
  }
};

}  // namespace strata
