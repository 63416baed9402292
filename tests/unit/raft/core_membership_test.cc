// Membership changes (thesis §4.1-4.2), leadership transfer (thesis §3.10) and ReadIndex
// (thesis §6.4).
#include <doctest/doctest.h>

#include "tests/unit/raft/sim_harness.h"

using namespace strata;
using namespace strata::raft;

namespace {

std::function<void(Config&)> options() {
  return [](Config& c) {
    c.election_tick = 10;
    c.heartbeat_tick = 1;
    c.pre_vote = true;
    c.check_quorum = true;
  };
}

bool is_busy(const Result<void>& r) { return !r && r.error() == make_error_code(Errc::busy); }
bool is_not_leader(const Result<void>& r) { return !r && r.error() == make_error_code(Errc::not_leader); }

}  // namespace

TEST_CASE("thesis §4.2.1: add a learner, let it catch up, promote it to voter, then remove a voter") {
  sim::Cluster c({1, 2, 3}, {}, 1, options());
  REQUIRE(c.elect(1) == 1);
  for (int i = 0; i < 5; ++i) REQUIRE(c.core(1).propose("v" + std::to_string(i)));
  c.stabilize();
  c.add_node(4);
  CHECK(c.core(4).role() == Role::follower);  // knows it is no voter: never campaigns
  REQUIRE(c.core(1).propose_conf_change({ConfChangeType::add_learner, 4}));
  CHECK(is_busy(c.core(1).propose_conf_change({ConfChangeType::add_learner, 5})));  // one at a time
  c.stabilize();
  CHECK(c.core(1).conf_state().learners == std::vector<uint64_t>{4});
  CHECK(c.core(4).role() == Role::learner);
  CHECK(c.node(4).applied_index == c.core(1).log().committed());
  CHECK(c.core(1).progress(4)->is_learner());

  REQUIRE(c.core(1).propose_conf_change({ConfChangeType::add_voter, 4}));
  c.stabilize();
  CHECK(c.core(1).conf_state().voters == std::vector<uint64_t>{1, 2, 3, 4});
  CHECK(c.core(4).role() == Role::follower);
  CHECK(c.core(4).conf_state().voters == std::vector<uint64_t>{1, 2, 3, 4});

  REQUIRE(c.core(1).propose_conf_change({ConfChangeType::remove, 2}));
  c.stabilize();
  CHECK(c.core(1).conf_state().voters == std::vector<uint64_t>{1, 3, 4});
  CHECK(c.core(1).progress(2) == nullptr);
  // The remaining three voters commit without node 2.
  c.isolate(2);
  REQUIRE(c.core(1).propose("after-remove"));
  c.stabilize();
  CHECK(c.node(4).state_machine.rbegin()->second == "after-remove");
  // A removed node never campaigns.
  for (int i = 0; i < 50; ++i) c.tick(2);
  CHECK(c.core(2).role() == Role::follower);
  CHECK(c.violations().empty());
}

TEST_CASE("thesis §4.2.1: learners receive entries but do not count toward the commit quorum") {
  sim::Cluster c({1, 2, 3}, {4}, 2, options());
  REQUIRE(c.elect(1) == 1);
  c.partition({{1, 4}, {2}, {3}});
  uint64_t committed = c.core(1).log().committed();
  REQUIRE(c.core(1).propose("x"));
  c.stabilize();
  CHECK(c.core(4).log().last_index() == committed + 1);
  CHECK(c.core(1).log().committed() == committed);
}

TEST_CASE("thesis §4.1: a conf change is refused while not leader, for a no-op, and for the last voter") {
  sim::Cluster c({1}, {}, 3, options());
  CHECK(is_not_leader(c.core(1).propose_conf_change({ConfChangeType::add_learner, 2})));
  REQUIRE(c.run_until([&] { return c.leader() == 1; }, 40));
  CHECK(!c.core(1).propose_conf_change({ConfChangeType::add_voter, 1}));
  CHECK(!c.core(1).propose_conf_change({ConfChangeType::remove, 1}));
  CHECK(!c.core(1).propose_conf_change({ConfChangeType::remove, 7}));
}

TEST_CASE("thesis §4.2.2: a leader that removes itself steps down once the change is applied") {
  sim::Cluster c({1, 2, 3}, {}, 4, options());
  REQUIRE(c.elect(1) == 1);
  REQUIRE(c.core(1).propose_conf_change({ConfChangeType::remove, 1}));
  c.stabilize();
  CHECK(c.core(1).role() == Role::follower);
  REQUIRE(c.run_until([&] { return c.leader() == 2 || c.leader() == 3; }, 100));
  REQUIRE(c.core(c.leader()).propose("without-1"));
  c.stabilize();
  CHECK(c.core(c.leader()).conf_state().voters == std::vector<uint64_t>{2, 3});
  CHECK(c.violations().empty());
}

TEST_CASE("thesis §3.10: leadership transfer to a lagging follower catches it up, then hands over") {
  sim::Cluster c({1, 2, 3}, {}, 5, options());
  REQUIRE(c.elect(1) == 1);
  uint64_t term = c.core(1).term();
  c.isolate(3);
  for (int i = 0; i < 3; ++i) REQUIRE(c.core(1).propose("p"));
  c.stabilize();
  c.heal();
  c.core(1).transfer_leadership(3);
  CHECK(c.core(1).lead_transferee() == 3);
  CHECK(is_not_leader(c.core(1).propose("during-transfer")));
  c.process_ready(1);
  c.stabilize();
  CHECK(c.leader() == 3);
  CHECK(c.core(3).term() == term + 1);
  CHECK(c.core(1).role() == Role::follower);
  CHECK(c.core(1).leader() == 3);
  CHECK(c.violations().empty());
}

TEST_CASE("thesis §3.10: a transfer to an unreachable node is aborted after an election timeout") {
  sim::Cluster c({1, 2, 3}, {}, 6, options());
  REQUIRE(c.elect(1) == 1);
  c.isolate(3);
  c.core(1).transfer_leadership(3);
  CHECK(is_not_leader(c.core(1).propose("x")));
  for (int i = 0; i < 10; ++i) c.tick(1);
  c.stabilize();
  CHECK(c.core(1).lead_transferee() == kNone);
  CHECK(c.core(1).propose("y"));
}

TEST_CASE("thesis §6.4: ReadIndex on the leader and via a follower returns the commit index after a heartbeat round") {
  sim::Cluster c({1, 2, 3}, {}, 7, options());
  REQUIRE(c.elect(1) == 1);
  REQUIRE(c.core(1).propose("x"));
  c.stabilize();
  uint64_t committed = c.core(1).log().committed();
  c.read_index(1, "leader-read");
  c.stabilize();
  REQUIRE(c.node(1).read_states.size() == 1);
  CHECK(c.node(1).read_states[0] == ReadState{committed, "leader-read"});
  c.read_index(2, "follower-read");
  c.stabilize();
  REQUIRE(c.node(2).read_states.size() == 1);
  CHECK(c.node(2).read_states[0] == ReadState{committed, "follower-read"});
  CHECK(c.violations().empty());
}

TEST_CASE("thesis §6.4: a partitioned leader cannot confirm a ReadIndex") {
  sim::Cluster c({1, 2, 3}, {}, 8, options());
  REQUIRE(c.elect(1) == 1);
  c.isolate(1);
  c.read_index(1, "stale");
  for (int i = 0; i < 5; ++i) {
    c.tick(1);
    c.stabilize();
  }
  CHECK(c.node(1).read_states.empty());
}

TEST_CASE("thesis §6.4: a new leader serves ReadIndex only after committing an entry in its term") {
  sim::Cluster c({1, 2, 3}, {}, 9, options());
  REQUIRE(c.elect(1) == 1);
  c.set_drop_filter([](const Message& m) { return m.from == 2 && m.type == MessageType::app; });
  c.core(1).transfer_leadership(2);
  c.process_ready(1);
  c.stabilize();
  REQUIRE(c.leader() == 2);
  uint64_t first_own = c.core(2).log().last_index();  // its empty entry, not yet committed
  CHECK(c.core(2).log().committed() < first_own);
  c.read_index(2, "r");
  c.tick(2);
  c.stabilize();
  CHECK(c.node(2).read_states.empty());
  c.set_drop_filter({});
  c.tick(2);  // heartbeat responses trigger the appends
  c.stabilize();
  REQUIRE(c.node(2).read_states.size() == 1);
  CHECK(c.node(2).read_states[0].index >= first_own);
}
