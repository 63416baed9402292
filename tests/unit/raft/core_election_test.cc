// Leader election scenarios: Raft §5.1-5.2, pre-vote and check-quorum (thesis §9.6).
#include <doctest/doctest.h>

#include "tests/unit/raft/sim_harness.h"

using namespace strata;
using namespace strata::raft;

namespace {

std::function<void(Config&)> options(bool pre_vote, bool check_quorum) {
  return [=](Config& c) {
    c.election_tick = 10;
    c.heartbeat_tick = 1;
    c.pre_vote = pre_vote;
    c.check_quorum = check_quorum;
  };
}

}  // namespace

TEST_CASE("Raft §5.2: election timeouts are randomized in [election_tick, 2*election_tick)") {
  std::set<int> seen;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    MemoryStorage storage;
    Config cfg;
    cfg.id = 1;
    cfg.peers = {1, 2, 3};
    cfg.storage = &storage;
    cfg.pre_vote = false;
    cfg.seed = seed;
    Core core(cfg);
    int ticks = 0;
    while (core.role() == Role::follower && ticks < 100) {
      core.tick();
      ++ticks;
    }
    CHECK(core.role() == Role::candidate);
    CHECK(ticks >= cfg.election_tick);
    CHECK(ticks < 2 * cfg.election_tick);
    seen.insert(ticks);
  }
  CHECK(seen.size() > 3);  // actually randomized
}

TEST_CASE("Raft §5.2: a follower that times out becomes candidate and wins with a majority") {
  sim::Cluster c({1, 2, 3}, {}, 1, options(false, false));
  for (int i = 0; i < 20 && c.core(1).role() == Role::follower; ++i) c.tick(1);
  REQUIRE(c.core(1).role() == Role::candidate);
  CHECK(c.core(1).term() == 1);
  CHECK(c.core(1).vote() == 1);
  c.stabilize();
  CHECK(c.leader() == 1);
  for (uint64_t id : {2, 3}) {
    CHECK(c.core(id).role() == Role::follower);
    CHECK(c.core(id).leader() == 1);
    CHECK(c.core(id).vote() == 1);
  }
  CHECK(c.violations().empty());
}

TEST_CASE("Raft §5.2: a split vote elects nobody and a later election in a higher term resolves it") {
  sim::Cluster c({1, 2, 3, 4}, {}, 2, options(false, false));
  c.partition({{1, 3}, {2, 4}});
  c.core(1).campaign();
  c.core(2).campaign();
  c.stabilize();
  CHECK(c.leader() == 0);  // 2 of 4 votes each: no majority
  CHECK(c.core(1).role() == Role::candidate);
  CHECK(c.core(2).role() == Role::candidate);
  c.heal();
  REQUIRE(c.run_until([&] { return c.leader() != 0; }));
  CHECK(c.core(c.leader()).term() >= 2);
  CHECK(c.violations().empty());
}

TEST_CASE("Raft §5.4.1: a voter denies its vote to a candidate whose log is less up to date") {
  sim::Cluster c({1, 2, 3}, {}, 3, options(false, false));
  REQUIRE(c.elect(1) == 1);
  c.isolate(3);
  REQUIRE(c.core(1).propose("x"));
  c.stabilize();  // 1 and 2 hold "x"; 3 does not
  c.heal();
  c.partition({{2, 3}, {1}});
  c.core(3).campaign();
  c.stabilize();
  CHECK(c.core(3).role() == Role::candidate);  // 2 refused: 3's log is behind
  c.core(2).campaign();
  c.stabilize();
  CHECK(c.leader() == 2);
}

TEST_CASE(
    "Raft §5.1: a stale leader steps down when it sees a higher term, and its uncommitted entries are discarded") {
  sim::Cluster c({1, 2, 3}, {}, 4, options(false, false));
  REQUIRE(c.elect(1) == 1);
  c.isolate(1);
  REQUIRE(c.core(1).propose("lost"));  // can never commit: no quorum
  c.stabilize();
  REQUIRE(c.elect(2) == 2);
  REQUIRE(c.core(2).propose("kept"));
  c.stabilize();
  CHECK(c.core(1).role() == Role::leader);  // still believes it leads term 1
  c.heal();
  c.tick(2);  // a heartbeat of term 2 reaches the old leader
  c.stabilize();
  CHECK(c.core(1).role() == Role::follower);
  CHECK(c.core(1).term() == c.core(2).term());
  c.run_until([&] { return c.node(1).applied_index == c.core(2).log().committed(); });
  for (const auto& [index, data] : c.node(1).state_machine) CHECK(data != "lost");
  CHECK(c.violations().empty());
}

TEST_CASE("thesis §9.6: pre-vote stops a partitioned node from inflating its term and disrupting the leader") {
  sim::Cluster c({1, 2, 3}, {}, 5, options(true, true));
  REQUIRE(c.elect(1) == 1);
  uint64_t term = c.core(1).term();
  c.isolate(3);
  for (int i = 0; i < 100; ++i) c.tick(3);
  c.stabilize();
  CHECK(c.core(3).term() == term);  // pre-campaigns failed without bumping the term
  CHECK(c.core(3).role() == Role::pre_candidate);
  c.heal();
  c.run_until([&] { return c.core(3).leader() == 1; }, 50);
  CHECK(c.leader() == 1);
  CHECK(c.core(1).term() == term);
}

TEST_CASE("thesis §9.6: without pre-vote the same partition forces a new election with a higher term") {
  sim::Cluster c({1, 2, 3}, {}, 5, options(false, false));
  REQUIRE(c.elect(1) == 1);
  uint64_t term = c.core(1).term();
  c.isolate(3);
  for (int i = 0; i < 100; ++i) c.tick(3);
  CHECK(c.core(3).term() > term + 2);
  c.heal();
  // The rejoining node's next vote request carries its inflated term and deposes the leader.
  CHECK(c.run_until([&] { return c.core(1).term() > term; }, 30));
}

TEST_CASE("thesis §9.6: check-quorum makes a leader that cannot reach a quorum step down") {
  sim::Cluster c({1, 2, 3}, {}, 6, options(true, true));
  REQUIRE(c.elect(1) == 1);
  c.isolate(1);
  for (int i = 0; i < 2 * 10 + 1; ++i) c.tick(1);
  CHECK(c.core(1).role() == Role::follower);
  CHECK(c.core(1).leader() == kNone);
}

TEST_CASE("thesis §4.2.3: followers that recently heard from the leader ignore vote requests") {
  sim::Cluster c({1, 2, 3}, {}, 7, options(false, true));
  REQUIRE(c.elect(1) == 1);
  uint64_t term = c.core(1).term();
  c.core(3).campaign();
  c.stabilize();
  CHECK(c.core(2).term() == term);  // the request was dropped inside the lease
  CHECK(c.core(2).vote() == 1);
  CHECK(c.core(3).role() != Role::leader);
}

TEST_CASE("thesis §4.2.1: a learner never campaigns") {
  sim::Cluster c({1, 2}, {3}, 8, options(true, true));
  for (int i = 0; i < 100; ++i) c.tick(3);
  CHECK(c.core(3).role() == Role::learner);
  CHECK(c.core(3).term() == 0);
  c.core(3).campaign();
  CHECK(c.core(3).role() == Role::learner);
}

TEST_CASE("Raft §5.2: a single-voter cluster elects itself and commits alone") {
  sim::Cluster c({1}, {}, 9, options(true, true));
  REQUIRE(c.run_until([&] { return c.leader() == 1; }, 40));
  REQUIRE(c.core(1).propose("solo"));
  c.stabilize();
  CHECK(c.node(1).state_machine.rbegin()->second == "solo");
}
