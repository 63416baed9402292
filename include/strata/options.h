// Options for opening a DB and for individual reads and writes.
//
// Units are in the names. Defaults are what the server uses unless a flag says otherwise.
// Thread-safety: plain values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "strata/types.h"
#include "strata/result.h"

namespace strata {

namespace io {
class FileSystem;
}

// When a write is acknowledged (see DESIGN.md, "Write path").
enum class SyncPolicy {
  always,  // after fdatasync of its WAL record: survives power loss (the server's default)
  batch,   // after the WAL write reached the kernel; fdatasync runs at most every
           // Options::sync_batch_interval_ms, bounding what a power loss can take
  none,    // after the WAL write reached the kernel: survives a process crash, not a power loss
};

std::string_view to_string(SyncPolicy p);
// Parses "always" | "batch" | "none"; nullopt otherwise.
std::optional<SyncPolicy> parse_sync_policy(std::string_view s);

struct Options {
  bool create_if_missing = true;
  bool error_if_exists = false;

  // The file system to use. nullptr: io_uring if available, else the thread-pool fallback.
  // When set, it must outlive the DB.
  io::FileSystem* file_system = nullptr;

  SyncPolicy sync = SyncPolicy::always;
  uint32_t sync_batch_interval_ms = 10;

  // The active memtable becomes immutable and is flushed once it holds this many bytes.
  size_t memtable_size_bytes = 64 << 20;
  // Writers stall while this many immutable memtables wait for their flush.
  int max_immutable_memtables = 2;
  // WAL segments are preallocated in chunks of this size (0 disables preallocation).
  uint64_t wal_preallocate_bytes = 64 << 20;

  // SSTable layout.
  size_t block_size_bytes = 4096;
  int block_restart_interval = 16;
  int bloom_bits_per_key = 10;  // 0..64; 0 builds no filter
  // Compression of the data blocks of new SSTables (each block records its own, so tables written
  // with another setting stay readable). A block that does not shrink by 12.5% is stored raw.
  sstable::Compression compression = sstable::Compression::none;

  // Block cache: parsed data blocks of every SSTable, LRU, charged by their size (0 disables it).
  // Settable at runtime through the cache (LruCache::set_capacity).
  size_t block_cache_bytes = 32 << 20;
  // Table cache: SSTable readers (one open file each) kept open: half pinned in the live files'
  // metadata, half in an LRU (lib/db/table_cache.h).
  int max_open_files = 1000;
  // Serve uncompressed SSTable data blocks from read-only memory mappings of the files once each
  // block was read and checksum-verified (sstable::TableReadOptions::mmap_reads; LevelDB maps its
  // tables too). Saves the copy, the system call and the block cache insert of every read whose
  // data the OS has in memory. Turn off for data sets much larger than memory, where an evicted
  // page would fault back in on the reading thread: reads then go through the block cache and
  // io_uring only.
  bool mmap_reads = true;
  // Read SSTables with O_DIRECT (RocksDB's use_direct_reads): every read bypasses the OS page
  // cache, so the block cache is the only cache and a read that misses it is a device read,
  // issued through io_uring with many in flight per thread. For data sets much larger than memory,
  // where the page cache would only hold a random, duplicated slice of the block cache's work.
  // Overrides mmap_reads (nothing is mapped). Files the file system cannot open with O_DIRECT
  // (tmpfs) fail to open: leave it off there.
  bool use_direct_reads = false;
  // Each memtable gets a whole-key bloom filter of memtable_size_bytes * this ratio bytes (RocksDB's
  // memtable_prefix_bloom_size_ratio with whole-key filtering): a get of a key the memtable lacks
  // (most gets while writes go on) skips the skiplist search. 1/64 is ~10 bits per entry for
  // ~150-byte entries; 0 turns it off. Allowed: 0 to 0.25.
  double memtable_bloom_size_ratio = 1.0 / 64;
  // Memtables of at least 8 MiB keep their entries on transparent huge pages (2 MiB blocks with
  // madvise MADV_HUGEPAGE; RocksDB's memtable_huge_page_size): a skiplist search then rarely misses
  // the TLB (lib/util/arena.h). Takes effect where the kernel allows THP on request
  // (/sys/kernel/mm/transparent_hugepage/enabled: madvise or always).
  bool memtable_huge_pages = true;

  // Leveled compaction (the scheme of LevelDB and RocksDB's level style; see
  // lib/compaction/compaction_picker.h).
  // Seek compactions (LevelDB's): a file that point reads keep probing in vain, going on to
  // another file, is compacted into the next level once that costs less than the probes do.
  bool seek_compaction = true;
  // Pacing of seek compactions: at most this many output bytes per second (0: no limit, the
  // default), so that the reads that triggered one keep most of the CPU. The limit is lifted as
  // soon as a flush happens while it runs (the L0 files it holds must be free for size
  // compactions). Off by default: at 32 MiB/s it spread the compaction into the next rows of
  // strata-bench and cost them more than it saved (benchmarks/RESULTS.md, run I).
  uint64_t seek_compaction_bytes_per_sec = 0;
  // Seek compactions run on a background thread of their own at the lowest CPU priority (nice
  // 19; RocksDB's LowerThreadPoolCPUPriority): they use the CPU that reads leave idle and yield it
  // while reads keep every core busy. A flush while one runs preempts it (the L0 and L1 files it
  // holds may be needed by a size compaction), and its retry runs at normal priority and unpaced,
  // as every flush and size compaction does. Off: seek compactions run with the others.
  bool seek_compaction_low_priority = true;
  // An L0 -> L1 compaction starts when L0 holds this many files.
  int l0_compaction_trigger = 4;
  // Each write group is delayed by 1 ms while L0 holds at least this many files, and writes stop
  // until a compaction finishes at l0_stop_writes_trigger (both counted in stall_micros).
  int l0_slowdown_writes_trigger = 20;
  int l0_stop_writes_trigger = 36;
  // L1 may hold this many bytes, and each deeper level max_bytes_for_level_multiplier times more.
  uint64_t max_bytes_for_level_base = 256 << 20;
  int max_bytes_for_level_multiplier = 10;
  // Compaction outputs are cut at the first user-key boundary past this size.
  uint64_t target_file_size_bytes = 64 << 20;
  // Compactions that may run at once (1..kMaxBackgroundCompactions), on their own threads.
  int max_background_compactions = 2;
  static constexpr int kMaxBackgroundCompactions = 4;

  // Limits checked on every write (invalid_argument past them).
  size_t max_key_size_bytes = 64 << 10;
  size_t max_value_size_bytes = 64 << 20;
};

// Checks the ranges DB::open accepts: bloom_bits_per_key in [0, 64], block_size_bytes in
// [256, 64 MiB], block_restart_interval >= 1, a known compression, max_open_files >= 16,
// memtable_size_bytes >= 4 KiB, max_immutable_memtables >= 1. Errors: invalid_argument (the
// reason is logged).
Result<void> validate_options(const Options& options);

// Parses "none" | "lz4" | "zstd"; nullopt otherwise.
std::optional<sstable::Compression> parse_compression(std::string_view s);

struct WriteOptions {
  // Overrides Options::sync for this write. In a group commit the strictest policy of the group
  // applies to all of it.
  std::optional<SyncPolicy> sync;
};

struct ReadOptions {
  // Read the state as of this sequence number (a snapshot's, or one returned by a write).
  // nullopt: the latest state. Versions older than the oldest live snapshot may be gone after
  // a flush, so pin a snapshot (DB::snapshot) to read at a sequence number reliably.
  std::optional<SequenceNumber> snapshot;

  // Iterators and scans see only user keys in [lower_bound, upper_bound) (empty: unbounded on
  // that side), and with a non-empty prefix only keys that start with it.
  std::string lower_bound;
  std::string upper_bound;
  std::string prefix;

  // Iterators and scans insert the data blocks they read from files into the block cache; false
  // keeps a long scan from evicting the blocks point reads use (RocksDB's and LevelDB's
  // ReadOptions::fill_cache). Blocks already cached are used either way. Point reads always fill.
  bool fill_cache = true;
};

}  // namespace strata
