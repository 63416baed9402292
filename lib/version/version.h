// Version: an immutable snapshot of which SSTables make up the tree, per level.
//   L0: files may overlap; ordered newest first (by file number, descending).
//   L1..L6: files are disjoint and ordered by smallest key.
// Readers hold a shared_ptr<const Version> for the duration of a get or scan, so the files it
// names stay valid while they read (obsolete-file deletion checks live versions).
// Thread-safety: immutable after construction; safe to share across threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "lib/version/version_edit.h"
#include "strata/result.h"

namespace strata {

class Version {
 public:
  using FileList = std::vector<std::shared_ptr<const FileMetaData>>;

  const FileList& files(int level) const { return levels_[level]; }
  uint64_t level_bytes(int level) const;
  size_t num_files() const;

  // The files of `level` whose user-key range intersects [begin, end] (user keys; an empty
  // `begin` or `end` is unbounded on that side). For L0, whose files overlap each other, the
  // range is widened to the union of the files found until no other L0 file intersects it (as
  // LevelDB's Version::GetOverlappingInputs does), so the result never leaves out an L0 file
  // holding versions of a key that an included file also holds. Order: as in files(level).
  FileList overlapping_files(int level, std::string_view begin, std::string_view end) const;

  // For L1 and deeper (disjoint files sorted by key): the index of the first file whose largest
  // user key is >= user_key, or files(level).size(). O(log n).
  size_t find_file(int level, std::string_view user_key) const;

  // A new version: this one with `edit` applied. Errors: corruption if the edit deletes a file
  // that is not there or adds one twice.
  Result<std::shared_ptr<const Version>> apply(const VersionEdit& edit) const;

  // An edit that recreates this version from an empty one (the start of a new manifest).
  void encode_snapshot(VersionEdit* edit) const;

 private:
  std::array<FileList, kNumLevels> levels_;
};

}  // namespace strata
