// run_compaction: merges the input files of one Compaction (compaction_picker.h) into new
// SSTables for its output level.
//
// What is dropped (the rules of LevelDB's DBImpl::DoCompactionWork, with RocksDB's snapshot
// stripes): the readers that matter are the live snapshots and "latest". The stripe of sequence
// number s is the first live snapshot >= s (or "latest"); within one user key, only the newest
// entry of each stripe is visible to anyone, so every other entry is dropped. A tombstone in the
// oldest stripe is dropped too when no level below the output level may hold the key (checked
// against the file ranges of the deeper levels), so tombstones vanish at the bottom of the tree.
//
// Outputs are cut at the first user-key boundary after target_file_size_bytes (a user key's
// versions never span two files, so files of one level stay disjoint by user key), or earlier
// when the output would overlap more than kMaxGrandparentOverlapFactor * target bytes of the
// level below the output level. Every output is synced and the directory synced before the
// job returns; on error the outputs written so far are removed.
//
// Runs on: the caller's executor — the DB runs jobs on its compaction threads, so the CPU-heavy
// merge never delays the executor that serves requests.
// Thread-safety: one job per call; `ctx` callbacks must be safe to call from that executor.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/compaction/compaction_picker.h"
#include "lib/io/file_system.h"
#include "lib/sstable/table_options.h"
#include "lib/util/internal_iterator.h"

namespace strata {

struct CompactionJobContext {
  io::FileSystem* fs = nullptr;
  std::string db_dir;
  sstable::TableOptions table_options;
  std::vector<SequenceNumber> snapshots;  // live snapshots, ascending
  // Allocates the number of a new output file (the DB records it as a pending output so that
  // obsolete-file deletion leaves it alone until the version edit naming it is installed).
  std::function<uint64_t()> new_file_number;
  // When it becomes true the job stops at the next entry and fails with shutting_down.
  const std::atomic<bool>* cancel = nullptr;
  // An iterator over one input file (not filling the block cache).
  std::function<boost::asio::awaitable<Result<std::unique_ptr<InternalIterator>>>(const FileMetaData&)> open;
  // Pacing (optional): the most output bytes per second the job may write, asked again every
  // 1,024 entries (0: no limit from then on). The job sleeps on a timer of its executor whenever
  // it is ahead of that rate.
  std::function<uint64_t()> max_bytes_per_second;
  // Preemption (optional): asked every 1,024 entries; when it answers true the job stops, leaves
  // nothing behind but its unfinished outputs (the caller deletes them) and fails with busy.
  std::function<bool()> preempted;
};

struct CompactionJobStats {
  uint64_t input_files = 0;
  uint64_t input_bytes = 0;
  uint64_t input_entries = 0;
  uint64_t output_entries = 0;
  uint64_t output_bytes = 0;
  uint64_t dropped_hidden = 0;      // older versions no reader can see
  uint64_t dropped_tombstones = 0;  // tombstones at the bottom of the tree
  uint64_t micros = 0;
};

struct CompactionJobOutput {
  std::vector<FileMetaData> files;  // for the output level, in key order
  CompactionJobStats stats;
};

boost::asio::awaitable<Result<CompactionJobOutput>> run_compaction(const Compaction& c, CompactionJobContext ctx);

}  // namespace strata
