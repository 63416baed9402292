// VersionEdit: one record of the MANIFEST — the difference between two Versions (files added and
// removed per level) plus the counters recovery needs (log number, next file number, last
// sequence). The encoding is tagged fields (docs/format/manifest.md), after LevelDB's
// db/version_edit.cc, so new fields can be added without breaking old readers of known tags.
//
// Thread-safety: a plain value.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/util/internal_key.h"
#include "strata/result.h"

namespace strata {

constexpr int kNumLevels = 7;

// The open reader of a live SSTable, pinned in its FileMetaData so that a lookup reaches it with
// one atomic load instead of a table-cache lookup (RocksDB's FileDescriptor::table_reader). Set
// at most once, by the table cache (lib/db/table_cache.h); the pin owns the reader, so it lives as
// long as the metadata, i.e. as long as some Version or iterator names the file. Type-erased
// because lib/version does not know the SSTable reader. A copied FileMetaData starts unpinned and
// pins never take part in comparisons: they are a cache, not part of the file's description.
// Thread-safety: get() and pin() may race from any thread; get() is one acquire load.
class TablePin {
 public:
  TablePin() = default;
  TablePin(const TablePin&) {}
  TablePin& operator=(const TablePin&) { return *this; }
  bool operator==(const TablePin&) const { return true; }

  // The pinned object, or nullptr. Valid while this pin (its FileMetaData) lives.
  const void* get() const { return ptr_.load(std::memory_order_acquire); }
  // Pins `owner` (its get() pointer) unless something is pinned already; returns what is pinned.
  // REQUIRES: owner != nullptr.
  const void* pin(std::shared_ptr<const void> owner) const;

 private:
  mutable std::atomic<const void*> ptr_{nullptr};
  mutable std::mutex mu_;
  mutable std::shared_ptr<const void> owner_;  // guarded by mu_
};

// How many more point reads may probe a file and then go on to another one before the file is
// compacted (LevelDB's FileMetaData::allowed_seeks, db/version_set.cc). LevelDB reckons that one
// such seek costs about as much as compacting 16 KiB, and allows max(100, file_size / 16 KiB)
// seeks. The compaction a seek budget triggers rewrites more than the file, though: the
// overlapping files of the next level too (at L0, where the L0 files overlap one another, all of
// them). So the budget here is
// max(100, compaction_bytes / 16 KiB) with compaction_bytes the inputs that compaction would read
// (seek_compaction_input_bytes in lib/compaction/compaction_picker.h), computed at the first charge.
// Like TablePin, a copy starts afresh and the budget takes no part in comparisons.
// Thread-safety: charge() from any thread (one atomic).
class SeekBudget {
 public:
  static constexpr int64_t kMinSeeks = 100;
  static constexpr uint64_t kBytesPerSeek = 16 << 10;

  SeekBudget() = default;
  SeekBudget(const SeekBudget&) {}
  SeekBudget& operator=(const SeekBudget&) { return *this; }
  bool operator==(const SeekBudget&) const { return true; }

  // Takes `seeks` from the budget; true for the one charge that uses it up. `compaction_bytes()`
  // (returning uint64_t) sizes the budget; it is called by the first charge only.
  template <class BytesFn>
  bool charge(int64_t seeks, BytesFn&& compaction_bytes) const {
    int64_t v = left_.load(std::memory_order_relaxed);
    if (v == kUnset) {
      int64_t initial =
          std::max<int64_t>(kMinSeeks, static_cast<int64_t>(static_cast<uint64_t>(compaction_bytes()) / kBytesPerSeek));
      left_.compare_exchange_strong(v, initial, std::memory_order_relaxed);
    }
    int64_t before = left_.fetch_sub(seeks, std::memory_order_relaxed);
    return before > 0 && before - seeks <= 0;
  }

 private:
  static constexpr int64_t kUnset = INT64_MIN / 2;
  mutable std::atomic<int64_t> left_{kUnset};
};

// An SSTable as the version set sees it. Immutable once created (but for its reader pin and its
// seek budget).
struct FileMetaData {
  uint64_t number = 0;
  uint64_t file_size = 0;
  std::string smallest;  // internal keys
  std::string largest;
  SequenceNumber smallest_seq = 0;
  SequenceNumber largest_seq = 0;
  uint64_t num_entries = 0;
  TablePin table;    // the open reader, once the table cache pinned it
  SeekBudget seeks;  // wasted probes left before a seek compaction
  bool operator==(const FileMetaData&) const = default;
};

class VersionEdit {
 public:
  std::optional<uint64_t> log_number;  // WAL segments below this number are obsolete
  std::optional<uint64_t> next_file_number;
  std::optional<SequenceNumber> last_sequence;
  std::vector<std::pair<int, uint64_t>> deleted_files;  // (level, file number)
  std::vector<std::pair<int, FileMetaData>> new_files;  // (level, file)

  void add_file(int level, FileMetaData f) { new_files.emplace_back(level, std::move(f)); }
  void delete_file(int level, uint64_t number) { deleted_files.emplace_back(level, number); }

  std::string encode() const;
  // Errors: corruption for unknown tags, bad levels or truncated fields.
  static Result<VersionEdit> decode(std::string_view data);

  bool operator==(const VersionEdit&) const = default;
};

}  // namespace strata
