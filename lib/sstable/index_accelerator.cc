#include "lib/sstable/index_accelerator.h"

#include <algorithm>

#include "lib/sstable/format.h"
#include "lib/util/internal_key.h"

namespace strata::sstable {

IndexAccelerator IndexAccelerator::build(const Block& index) {
  IndexAccelerator acc;
  if (index.order() != KeyOrder::internal || index.num_restarts() == 0) return acc;
  std::vector<std::string> users;
  users.reserve(index.num_restarts());
  acc.handles_.reserve(index.num_restarts());
  BlockIterator it = index.new_iterator();
  for (it.seek_to_first(); it.valid(); it.next()) {
    users.emplace_back(extract_user_key(it.key()));
    std::string_view value = it.value();
    BlockHandle handle;
    if (!handle.decode_from(&value)) return IndexAccelerator{};  // the reader reports it on use
    acc.handles_.push_back({handle.offset, handle.size});
  }
  if (!it.status() || users.size() != index.num_restarts()) return IndexAccelerator{};
  // Sorted keys: what the first and the next-to-last share, every key but the last shares. The
  // last index key is often a short successor of the table's last key ("1" after
  // "0000000000681088", as LevelDB's FindShortSuccessor makes it), which shares nothing: counting
  // it would leave no common prefix and make the 8-byte prefixes of most tables all equal.
  const std::string& first = users.front();
  const std::string& bound = users.size() >= 2 ? users[users.size() - 2] : users.back();
  size_t common = 0;
  while (common < first.size() && common < bound.size() && first[common] == bound[common]) ++common;
  acc.common_ = first.substr(0, common);
  acc.prefixes_.reserve(users.size());
  for (const auto& u : users) {
    // A last key without the common prefix sorts after every key that has it (it is greater than
    // the next-to-last key, so it differs from the prefix at a greater byte): UINT64_MAX keeps
    // the array sorted and makes narrow() compare it in full.
    const bool shares = std::string_view(u).substr(0, common) == acc.common_;
    acc.prefixes_.push_back(shares ? acc.prefix_of(u) : UINT64_MAX);
  }
  if (!std::is_sorted(acc.prefixes_.begin(), acc.prefixes_.end())) return IndexAccelerator{};  // not ours
  for (size_t i = 0; i < acc.prefixes_.size(); i += kSegment) acc.top_.push_back(acc.prefixes_[i]);
  return acc;
}

uint64_t IndexAccelerator::prefix_of(std::string_view user_key) const {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    size_t at = common_.size() + i;
    v = (v << 8) | (at < user_key.size() ? static_cast<unsigned char>(user_key[at]) : 0u);
  }
  return v;
}

std::pair<uint32_t, uint32_t> IndexAccelerator::narrow(std::string_view target) const {
  const auto last = static_cast<uint32_t>(prefixes_.size() - 1);
  std::string_view user = extract_user_key(target);
  // A target outside the shared prefix sorts before or after every entry.
  int c = user.substr(0, common_.size()).compare(common_);
  if (c < 0) return {0, 0};
  if (c > 0) return {last, last};
  uint64_t t = prefix_of(user);
  const uint32_t lo = lower_bound(t);
  const uint32_t hi = upper_bound_from(lo, t);
  // Entries before lo are < target, entries from hi on are > target.
  uint32_t left = lo == 0 ? 0 : lo - 1;
  uint32_t right = hi == 0 ? 0 : std::min(hi - 1, last);
  return {left, right};
}

std::optional<IndexAccelerator::Located> IndexAccelerator::locate(std::string_view target) const {
  std::string_view user = extract_user_key(target);
  const auto n = static_cast<uint32_t>(prefixes_.size());
  int c = user.substr(0, common_.size()).compare(common_);
  uint32_t at;
  if (c < 0) {
    at = 0;  // before every separator: only the first block may hold it
  } else if (c > 0) {
    return std::nullopt;  // after every separator: the index block says where the table ends
  } else {
    const uint64_t t = prefix_of(user);
    at = lower_bound(t);
    if (at >= n || prefixes_[at] == t) return std::nullopt;  // a full key must decide
  }
  if (at >= n) return std::nullopt;
  return Located{.ordinal = at, .offset = handles_[at].offset, .size = handles_[at].size};
}

uint32_t IndexAccelerator::lower_bound(uint64_t t) const {
  // top_[k] = prefixes_[k * kSegment]: the first k with top_[k] >= t bounds the answer to
  // ((k - 1) * kSegment, k * kSegment].
  const auto k = static_cast<uint32_t>(std::lower_bound(top_.begin(), top_.end(), t) - top_.begin());
  if (k == 0) return 0;
  const auto n = static_cast<uint32_t>(prefixes_.size());
  const uint32_t first = (k - 1) * kSegment + 1;
  const uint32_t last = std::min(k * kSegment, n);
  return static_cast<uint32_t>(std::lower_bound(prefixes_.begin() + first, prefixes_.begin() + last, t) -
                               prefixes_.begin());
}

uint32_t IndexAccelerator::upper_bound_from(uint32_t from, uint64_t t) const {
  // Equal prefixes come in short runs (keys that differ past their 8 bytes): look at a few first.
  const auto n = static_cast<uint32_t>(prefixes_.size());
  for (uint32_t i = from; i < n && i < from + 8; ++i) {
    if (prefixes_[i] > t) return i;
  }
  if (from + 8 >= n) return n;
  return static_cast<uint32_t>(std::upper_bound(prefixes_.begin() + from + 8, prefixes_.end(), t) - prefixes_.begin());
}

void IndexAccelerator::prefetch(std::string_view target) const {
  std::string_view user = extract_user_key(target);
  if (user.substr(0, common_.size()) != common_) return;
  const uint64_t t = prefix_of(user);
  const auto k = static_cast<uint32_t>(std::lower_bound(top_.begin(), top_.end(), t) - top_.begin());
  if (k == 0) return;
  const size_t first = (k - 1) * kSegment;
  const size_t last = std::min<size_t>(k * kSegment, prefixes_.size());
  // Every line of the segment (its binary search touches three or four of them, each depending
  // on the one before), and the handle it will likely pick.
  for (size_t i = first; i < last; i += 64 / sizeof(uint64_t)) __builtin_prefetch(prefixes_.data() + i);
  __builtin_prefetch(handles_.data() + (first + last) / 2);
}

}  // namespace strata::sstable
