#include "lib/version/version.h"

#include <algorithm>
#include <string>

namespace strata {

uint64_t Version::level_bytes(int level) const {
  uint64_t total = 0;
  for (const auto& f : levels_[level]) total += f->file_size;
  return total;
}

size_t Version::num_files() const {
  size_t n = 0;
  for (const auto& l : levels_) n += l.size();
  return n;
}

Version::FileList Version::overlapping_files(int level, std::string_view begin, std::string_view end) const {
  std::string lo(begin), hi(end);
  bool lo_unbounded = begin.empty(), hi_unbounded = end.empty();
  FileList out;
  const FileList& files = levels_[level];
  for (size_t i = 0; i < files.size();) {
    const auto& f = files[i++];
    std::string_view smallest = extract_user_key(f->smallest);
    std::string_view largest = extract_user_key(f->largest);
    if ((!lo_unbounded && largest < lo) || (!hi_unbounded && smallest > hi)) continue;
    out.push_back(f);
    if (level == 0) {
      // Widen the range to this file's and restart if it grew: an earlier-skipped L0 file may
      // overlap the wider range.
      bool grew = false;
      if (!lo_unbounded && smallest < lo) {
        lo.assign(smallest);
        grew = true;
      }
      if (!hi_unbounded && largest > hi) {
        hi.assign(largest);
        grew = true;
      }
      if (grew) {
        out.clear();
        i = 0;
      }
    }
  }
  return out;
}

size_t Version::find_file(int level, std::string_view user_key) const {
  const FileList& files = levels_[level];
  auto it = std::partition_point(files.begin(), files.end(),
                                 [&](const auto& f) { return extract_user_key(f->largest) < user_key; });
  return static_cast<size_t>(it - files.begin());
}

Result<std::shared_ptr<const Version>> Version::apply(const VersionEdit& edit) const {
  auto v = std::make_shared<Version>(*this);
  for (const auto& [level, number] : edit.deleted_files) {
    auto& files = v->levels_[level];
    auto it = std::find_if(files.begin(), files.end(), [n = number](const auto& f) { return f->number == n; });
    if (it == files.end()) return make_error_code(Errc::corruption);
    files.erase(it);
  }
  for (const auto& [level, meta] : edit.new_files) {
    for (const auto& l : v->levels_) {
      for (const auto& f : l) {
        if (f->number == meta.number) return make_error_code(Errc::corruption);
      }
    }
    v->levels_[level].push_back(std::make_shared<const FileMetaData>(meta));
  }
  std::sort(v->levels_[0].begin(), v->levels_[0].end(),
            [](const auto& a, const auto& b) { return a->number > b->number; });
  for (int level = 1; level < kNumLevels; ++level) {
    std::sort(v->levels_[level].begin(), v->levels_[level].end(),
              [](const auto& a, const auto& b) { return compare_internal_keys(a->smallest, b->smallest) < 0; });
  }
  return std::shared_ptr<const Version>(std::move(v));
}

void Version::encode_snapshot(VersionEdit* edit) const {
  for (int level = 0; level < kNumLevels; ++level) {
    for (const auto& f : levels_[level]) edit->add_file(level, *f);
  }
}

}  // namespace strata
