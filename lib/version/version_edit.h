// VersionEdit: one record of the MANIFEST — the difference between two Versions (files added and
// removed per level) plus the counters recovery needs (log number, next file number, last
// sequence). The encoding is tagged fields (docs/format/manifest.md), after LevelDB's
// db/version_edit.cc, so new fields can be added without breaking old readers of known tags.
//
// Thread-safety: a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/util/internal_key.h"
#include "lib/util/result.h"

namespace strata {

constexpr int kNumLevels = 7;

// An SSTable as the version set sees it. Immutable once created.
struct FileMetaData {
  uint64_t number = 0;
  uint64_t file_size = 0;
  std::string smallest;  // internal keys
  std::string largest;
  SequenceNumber smallest_seq = 0;
  SequenceNumber largest_seq = 0;
  uint64_t num_entries = 0;
  bool operator==(const FileMetaData&) const = default;
};

class VersionEdit {
 public:
  std::optional<uint64_t> log_number;        // WAL segments below this number are obsolete
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
