#include "lib/raft/quorum.h"

#include <algorithm>

#include "lib/util/assert.h"

namespace strata::raft {

uint64_t committed_index(const std::vector<uint64_t>& voters, const std::function<uint64_t(uint64_t)>& acked) {
  STRATA_ASSERT(!voters.empty());
  std::vector<uint64_t> idx;
  idx.reserve(voters.size());
  for (uint64_t id : voters) idx.push_back(acked(id));
  // Sorted descending, the majority-th largest value is acknowledged by a majority.
  std::sort(idx.begin(), idx.end(), std::greater<>());
  return idx[majority(voters.size()) - 1];
}

VoteResult vote_result(const std::vector<uint64_t>& voters, const std::map<uint64_t, bool>& votes) {
  STRATA_ASSERT(!voters.empty());
  size_t granted = 0, rejected = 0;
  for (uint64_t id : voters) {
    auto it = votes.find(id);
    if (it == votes.end()) continue;
    (it->second ? granted : rejected)++;
  }
  size_t q = majority(voters.size());
  if (granted >= q) return VoteResult::won;
  if (voters.size() - rejected < q) return VoteResult::lost;
  return VoteResult::pending;
}

}  // namespace strata::raft
