// Leveled compaction: which files to merge next (the picking rules of LevelDB's
// db/version_set.cc VersionSet::PickCompaction, with RocksDB's level-style scoring).
//
// Shape of the tree: L0 holds whole flushed memtables, which may overlap; L1..L6 each hold
// disjoint files sorted by key, level n at most max_bytes_for_level_base * multiplier^(n-1) bytes.
//
// Scores: L0 = (number of L0 files) / l0_compaction_trigger; Ln (1 <= n < 6) = level bytes /
// level target. The level with the highest score >= 1 is compacted into the next one:
//  - L0: every L0 file (taking a subset could leave an older version of a key in L0, where reads
//    look first, above a newer one moved to L1), plus every L1 file overlapping their range.
//  - Ln: one file, chosen round-robin by key after the last one compacted at that level (the
//    "compact pointer"), plus every Ln+1 file overlapping it.
// When no level scores >= 1, a file whose seek budget ran out (SeekBudget: point reads probed it
// and had to go on to another file too often) is compacted into the next level, as LevelDB's seek
// compactions do: at L0 that is the usual L0 compaction, deeper that one file.
// A compaction whose single input has nothing to merge with in the next level, and overlaps
// little of the level after it, is a trivial move: the file changes level, no bytes are written.
//
// Concurrency: files already being compacted are `busy`; a candidate touching a busy file, or
// whose output level is already the output of a running compaction, is skipped, so concurrent
// compactions never share an input file or write overlapping outputs into one level.
// Thread-safety: pure functions of their arguments.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lib/version/version.h"

namespace strata {

struct CompactionPickerOptions {
  int l0_compaction_trigger = 4;
  uint64_t max_bytes_for_level_base = 256 << 20;
  int max_bytes_for_level_multiplier = 10;
  uint64_t target_file_size_bytes = 64 << 20;
};

// One compaction: inputs[0] from `level`, inputs[1] from `level + 1` (the output level).
struct Compaction {
  int level = 0;
  std::array<Version::FileList, 2> inputs;
  // Files of level + 2 overlapping the inputs: outputs are also cut so that none overlaps more
  // than kMaxGrandparentOverlapFactor * target_file_size_bytes of them (LevelDB's rule, which
  // bounds the cost of compacting an output later).
  Version::FileList grandparents;
  std::shared_ptr<const Version> version;  // the version the inputs were chosen from
  double score = 0;                        // >= 1 for automatic compactions
  bool manual = false;                     // from compact_range
  bool seek_triggered = false;             // a seek compaction (score 0)
  uint64_t seek_file = 0;                  // ... of this file of `level`, whose seek budget ran out
  uint64_t target_file_size_bytes = 0;

  int output_level() const { return level + 1; }
  bool is_trivial_move() const;
  uint64_t input_bytes() const;
  // Smallest and largest user key over all inputs.
  std::string smallest_user_key() const;
  std::string largest_user_key() const;
  void for_each_input(auto&& fn) const {
    for (const auto& list : inputs) {
      for (const auto& f : list) fn(*f);
    }
  }
};

constexpr int kMaxGrandparentOverlapFactor = 10;

// The byte target of `level` (1..kNumLevels-1).
uint64_t max_bytes_for_level(const CompactionPickerOptions& options, int level);

// Per-level scores (index = level; the last level is always 0).
std::array<double, kNumLevels> compaction_scores(const Version& version, const CompactionPickerOptions& options);

// State the picker keeps between calls (guarded by the caller).
struct CompactionPickerState {
  std::array<std::string, kNumLevels> compact_pointer;  // user key; empty: start of the level
  std::set<uint64_t> busy_files;                        // inputs of running compactions
  std::set<int> busy_output_levels;                     // output levels of running compactions
  // A file (level, number) whose seek budget ran out, waiting for its seek compaction.
  std::optional<std::pair<int, uint64_t>> seek_compaction;
};

// The most urgent compaction of `version`, or nullopt when no level needs one or every candidate
// conflicts with a running compaction. Advances state->compact_pointer for the chosen level; the
// caller marks the inputs busy while the compaction runs. A pending seek compaction is picked (and
// cleared) only when no level needs a size compaction; it is dropped if its file left that level.
std::optional<Compaction> pick_compaction(std::shared_ptr<const Version> version,
                                          const CompactionPickerOptions& options, CompactionPickerState* state);

// The bytes the seek compaction of `file` (of `level` in `version`) would read, as
// pick_compaction would choose its inputs: at L0 every L0 file, deeper the one file, plus the files
// of level + 1 overlapping them. Sizes the file's SeekBudget.
uint64_t seek_compaction_input_bytes(const Version& version, int level, const FileMetaData& file);

// A manual compaction of the files of `level` overlapping [begin, end] (user keys; empty =
// unbounded) into level + 1. nullopt when the level has no such files. Does not check `busy`:
// the caller runs manual compactions only when no other compaction runs.
std::optional<Compaction> pick_range_compaction(std::shared_ptr<const Version> version,
                                                const CompactionPickerOptions& options, int level,
                                                std::string_view begin, std::string_view end);

}  // namespace strata
