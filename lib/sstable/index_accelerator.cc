#include "lib/sstable/index_accelerator.h"

#include <algorithm>

#include "lib/util/internal_key.h"

namespace strata::sstable {

IndexAccelerator IndexAccelerator::build(const Block& index) {
  IndexAccelerator acc;
  if (index.order() != KeyOrder::internal || index.num_restarts() == 0) return acc;
  std::vector<std::string> users;
  users.reserve(index.num_restarts());
  BlockIterator it = index.new_iterator();
  for (it.seek_to_first(); it.valid(); it.next()) users.emplace_back(extract_user_key(it.key()));
  if (!it.status() || users.size() != index.num_restarts()) return acc;
  // Sorted keys: what the first and the last share, every key shares.
  const std::string& first = users.front();
  const std::string& last = users.back();
  size_t common = 0;
  while (common < first.size() && common < last.size() && first[common] == last[common]) ++common;
  acc.common_ = first.substr(0, common);
  acc.prefixes_.reserve(users.size());
  for (const auto& u : users) acc.prefixes_.push_back(acc.prefix_of(u));
  if (!std::is_sorted(acc.prefixes_.begin(), acc.prefixes_.end())) acc.prefixes_.clear();  // not sorted: not ours
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
  auto lo = static_cast<uint32_t>(std::lower_bound(prefixes_.begin(), prefixes_.end(), t) - prefixes_.begin());
  auto hi = static_cast<uint32_t>(std::upper_bound(prefixes_.begin() + lo, prefixes_.end(), t) - prefixes_.begin());
  // Entries before lo are < target, entries from hi on are > target.
  uint32_t left = lo == 0 ? 0 : lo - 1;
  uint32_t right = hi == 0 ? 0 : std::min(hi - 1, last);
  return {left, right};
}

}  // namespace strata::sstable
