#include <doctest/doctest.h>

#include "lib/raft/log.h"
#include "lib/raft/progress.h"
#include "lib/raft/quorum.h"
#include "lib/raft/storage.h"

using namespace strata;
using namespace strata::raft;

namespace {

std::vector<Entry> ents(uint64_t first, std::vector<uint64_t> terms) {
  std::vector<Entry> out;
  for (size_t i = 0; i < terms.size(); ++i) out.push_back(Entry{terms[i], first + i, EntryType::normal, "d"});
  return out;
}

}  // namespace

TEST_CASE("MemoryStorage: compacted and unavailable indexes are errors; append truncates conflicts") {
  MemoryStorage s;
  s.append(ents(1, {1, 1, 2, 2}));
  CHECK(s.first_index() == 1);
  CHECK(s.last_index() == 4);
  CHECK(*s.term(3) == 2);
  CHECK(is_unavailable(s.term(5).error()));
  s.append(ents(3, {3}));  // replaces 3 and 4
  CHECK(s.last_index() == 3);
  CHECK(*s.term(3) == 3);
  REQUIRE(s.create_snapshot(2, ConfState{{1}, {}}, "img"));
  REQUIRE(s.compact(2));
  CHECK(s.first_index() == 3);
  CHECK(*s.term(2) == 1);  // the dummy keeps the boundary term
  CHECK(is_compacted(s.term(1).error()));
  CHECK(is_compacted(s.entries(2, 4, kNoLimit).error()));
  CHECK(is_compacted(s.compact(2).error()));
  CHECK(s.entries(3, 4, 1)->size() == 1);  // at least one entry despite the size limit
}

TEST_CASE("RaftLog: maybe_append keeps matching entries and truncates the first conflict (Raft §5.3)") {
  MemoryStorage s;
  s.append(ents(1, {1, 1, 2}));
  RaftLog log(&s);
  CHECK(!log.maybe_append(3, 3, 0, ents(4, {3})));  // prev term mismatch
  auto last = log.maybe_append(1, 1, 2, ents(2, {1, 3, 3}));
  REQUIRE(last.has_value());
  CHECK(*last == 4);
  CHECK(log.committed() == 2);
  CHECK(log.term_or_zero(3) == 3);
  CHECK(log.unstable().offset() == 3);
  // An old, shorter append does not truncate newer matching entries.
  CHECK(*log.maybe_append(1, 1, 2, ents(2, {1})) == 2);
  CHECK(log.last_index() == 4);
}

TEST_CASE("RaftLog: find_conflict_by_term skips whole terms (fast backtracking)") {
  MemoryStorage s;
  s.append(ents(1, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6}));
  RaftLog log(&s);
  CHECK(log.find_conflict_by_term(10, 3) == 3);
  CHECK(log.find_conflict_by_term(10, 5) == 7);
  CHECK(log.find_conflict_by_term(10, 6) == 10);
  CHECK(log.find_conflict_by_term(10, 0) == 0);
}

TEST_CASE("RaftLog: the commit index never decreases and follows the current-term rule (Raft §5.4.2)") {
  MemoryStorage s;
  s.append(ents(1, {1, 2, 2}));
  RaftLog log(&s);
  CHECK(!log.maybe_commit(2, 3));  // entry 2 is from term 2, not the current term 3
  CHECK(log.maybe_commit(2, 2));
  log.commit_to(1);
  CHECK(log.committed() == 2);
}

TEST_CASE("RaftLog: stable_to ignores a persisted entry that was since replaced") {
  MemoryStorage s;
  RaftLog log(&s);
  log.append(ents(1, {1, 1}));
  log.append(ents(2, {2}));  // replaces index 2 before the first Ready was persisted
  log.stable_to(2, 1);
  CHECK(log.unstable().entries().size() == 2);
  log.stable_to(2, 2);
  CHECK(log.unstable().entries().empty());
}

TEST_CASE("quorum: commit index is the majority-th largest match; votes are won or lost early") {
  std::map<uint64_t, uint64_t> match{{1, 5}, {2, 3}, {3, 9}, {4, 1}, {5, 3}};
  CHECK(committed_index({1, 2, 3, 4, 5}, [&](uint64_t id) { return match[id]; }) == 3);
  CHECK(vote_result({1, 2, 3}, {{1, true}, {2, true}}) == VoteResult::won);
  CHECK(vote_result({1, 2, 3}, {{1, true}, {2, false}}) == VoteResult::pending);
  CHECK(vote_result({1, 2, 3}, {{2, false}, {3, false}}) == VoteResult::lost);
}

TEST_CASE("progress: the inflight window pauses replication when full and frees on acks") {
  Progress pr(1, 2, false);
  pr.become_replicate();
  pr.inflights().add(3);
  CHECK(!pr.is_paused());
  pr.inflights().add(5);
  CHECK(pr.is_paused());
  CHECK(pr.maybe_update(3));
  pr.inflights().free_le(3);
  CHECK(!pr.is_paused());
  CHECK(!pr.maybe_decr_to(2, 0));  // stale rejection below match
}
