// Majority quorum arithmetic (Raft §5.2 elections, §5.3/§5.4.2 commitment) over a set of voters.
// Learners are never part of a quorum (thesis §4.2.1).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

namespace strata::raft {

enum class VoteResult : uint8_t { pending, won, lost };

// The number of voters that makes a majority. REQUIRES: voters > 0.
inline size_t majority(size_t voters) { return voters / 2 + 1; }

// The largest index that a majority of `voters` has acknowledged, where acked(id) gives each
// voter's match index. Voters with no acknowledgement count as 0.
uint64_t committed_index(const std::vector<uint64_t>& voters, const std::function<uint64_t(uint64_t)>& acked);

// won: a majority granted; lost: a majority can no longer be reached; pending otherwise.
VoteResult vote_result(const std::vector<uint64_t>& voters, const std::map<uint64_t, bool>& votes);

}  // namespace strata::raft
