#include "lib/compaction/compaction_picker.h"

#include <algorithm>

#include "lib/util/assert.h"

namespace strata {

namespace {

uint64_t total_bytes(const Version::FileList& files) {
  uint64_t n = 0;
  for (const auto& f : files) n += f->file_size;
  return n;
}

// User-key range [lo, hi] covered by `files` (non-empty).
void key_range(const Version::FileList& files, std::string* lo, std::string* hi) {
  STRATA_ASSERT(!files.empty());
  lo->assign(extract_user_key(files.front()->smallest));
  hi->assign(extract_user_key(files.front()->largest));
  for (const auto& f : files) {
    std::string_view s = extract_user_key(f->smallest), l = extract_user_key(f->largest);
    if (s < *lo) lo->assign(s);
    if (l > *hi) hi->assign(l);
  }
}

bool any_busy(const Version::FileList& files, const CompactionPickerState& state) {
  return std::any_of(files.begin(), files.end(), [&](const auto& f) { return state.busy_files.contains(f->number); });
}

// Fills inputs[1] and grandparents from inputs[0].
void complete(Compaction* c, const CompactionPickerOptions& options) {
  std::string lo, hi;
  key_range(c->inputs[0], &lo, &hi);
  c->inputs[1] = c->version->overlapping_files(c->output_level(), lo, hi);
  if (c->output_level() + 1 < kNumLevels) {
    Version::FileList all = c->inputs[0];
    all.insert(all.end(), c->inputs[1].begin(), c->inputs[1].end());
    key_range(all, &lo, &hi);
    c->grandparents = c->version->overlapping_files(c->output_level() + 1, lo, hi);
  }
  c->target_file_size_bytes = options.target_file_size_bytes;
}

// The pending seek compaction of state->seek_compaction, if its file is still where it was and
// nothing it needs is busy (then it waits for a later pick).
std::optional<Compaction> pick_seek_compaction(std::shared_ptr<const Version> version,
                                               const CompactionPickerOptions& options, CompactionPickerState* state) {
  if (!state->seek_compaction) return std::nullopt;
  auto [level, number] = *state->seek_compaction;
  const auto& files = version->files(level);
  auto it = std::find_if(files.begin(), files.end(), [&](const auto& f) { return f->number == number; });
  if (level + 1 >= kNumLevels || it == files.end()) {
    state->seek_compaction.reset();  // compacted or moved meanwhile
    return std::nullopt;
  }
  if (state->busy_output_levels.contains(level + 1)) return std::nullopt;
  Compaction c;
  c.level = level;
  c.version = version;
  c.seek_triggered = true;
  c.seek_file = number;
  // At L0 every file goes (see the header); deeper, the one file.
  c.inputs[0] = level == 0 ? files : Version::FileList{*it};
  if (any_busy(c.inputs[0], *state)) return std::nullopt;
  complete(&c, options);
  if (any_busy(c.inputs[1], *state)) return std::nullopt;
  state->seek_compaction.reset();
  return c;
}

}  // namespace

bool Compaction::is_trivial_move() const {
  return !manual && inputs[0].size() == 1 && inputs[1].empty() &&
         total_bytes(grandparents) <= kMaxGrandparentOverlapFactor * target_file_size_bytes;
}

uint64_t Compaction::input_bytes() const { return total_bytes(inputs[0]) + total_bytes(inputs[1]); }

std::string Compaction::smallest_user_key() const {
  Version::FileList all = inputs[0];
  all.insert(all.end(), inputs[1].begin(), inputs[1].end());
  std::string lo, hi;
  key_range(all, &lo, &hi);
  return lo;
}

std::string Compaction::largest_user_key() const {
  Version::FileList all = inputs[0];
  all.insert(all.end(), inputs[1].begin(), inputs[1].end());
  std::string lo, hi;
  key_range(all, &lo, &hi);
  return hi;
}

uint64_t max_bytes_for_level(const CompactionPickerOptions& options, int level) {
  double bytes = static_cast<double>(options.max_bytes_for_level_base);
  for (int l = 1; l < level; ++l) bytes *= options.max_bytes_for_level_multiplier;
  return static_cast<uint64_t>(bytes);
}

std::array<double, kNumLevels> compaction_scores(const Version& version, const CompactionPickerOptions& options) {
  std::array<double, kNumLevels> scores{};
  scores[0] = static_cast<double>(version.files(0).size()) / std::max(1, options.l0_compaction_trigger);
  for (int level = 1; level + 1 < kNumLevels; ++level) {
    scores[level] = static_cast<double>(version.level_bytes(level)) /
                    static_cast<double>(std::max<uint64_t>(1, max_bytes_for_level(options, level)));
  }
  return scores;
}

std::optional<Compaction> pick_compaction(std::shared_ptr<const Version> version,
                                          const CompactionPickerOptions& options, CompactionPickerState* state) {
  auto scores = compaction_scores(*version, options);
  std::array<int, kNumLevels> order{};
  for (int i = 0; i < kNumLevels; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return scores[a] != scores[b] ? scores[a] > scores[b] : a < b; });

  for (int level : order) {
    if (scores[level] < 1.0) break;
    if (state->busy_output_levels.contains(level + 1)) continue;
    Compaction c;
    c.level = level;
    c.version = version;
    c.score = scores[level];
    if (level == 0) {
      c.inputs[0] = version->files(0);
      if (any_busy(c.inputs[0], *state)) continue;
      complete(&c, options);
      if (any_busy(c.inputs[1], *state)) continue;
      return c;
    }
    // Round robin: the first file after the compact pointer whose inputs are all free, wrapping.
    const auto& files = version->files(level);
    size_t start = 0;
    if (!state->compact_pointer[level].empty()) {
      start = version->find_file(level, state->compact_pointer[level]);
      // find_file returns the file containing the pointer key; the pointer was that file's largest
      // key, so move past it.
      while (start < files.size() && extract_user_key(files[start]->largest) <= state->compact_pointer[level]) ++start;
    }
    for (size_t i = 0; i < files.size(); ++i) {
      const auto& f = files[(start + i) % files.size()];
      if (state->busy_files.contains(f->number)) continue;
      c.inputs[0] = {f};
      complete(&c, options);
      if (any_busy(c.inputs[1], *state)) continue;
      state->compact_pointer[level].assign(extract_user_key(f->largest));
      return c;
    }
  }
  return pick_seek_compaction(std::move(version), options, state);
}

uint64_t seek_compaction_input_bytes(const Version& version, int level, const FileMetaData& file) {
  uint64_t bytes = 0;
  std::string lo(extract_user_key(file.smallest)), hi(extract_user_key(file.largest));
  if (level == 0) {
    const Version::FileList& l0 = version.files(0);
    if (!l0.empty()) key_range(l0, &lo, &hi);
    bytes = total_bytes(l0);
  } else {
    bytes = file.file_size;
  }
  if (level + 1 < kNumLevels) bytes += total_bytes(version.overlapping_files(level + 1, lo, hi));
  return bytes;
}

std::optional<Compaction> pick_range_compaction(std::shared_ptr<const Version> version,
                                                const CompactionPickerOptions& options, int level,
                                                std::string_view begin, std::string_view end) {
  STRATA_ASSERT(level >= 0 && level + 1 < kNumLevels);
  Compaction c;
  c.level = level;
  c.version = version;
  c.manual = true;
  c.inputs[0] = version->overlapping_files(level, begin, end);
  if (c.inputs[0].empty()) return std::nullopt;
  complete(&c, options);
  return c;
}

}  // namespace strata
