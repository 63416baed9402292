// Log replication scenarios: Raft §5.3 (log matching, Figure 7), §5.4.2 (Figure 8), fast
// conflict backtracking, and InstallSnapshot (§7).
#include <doctest/doctest.h>

#include "tests/unit/raft/sim_harness.h"

using namespace strata;
using namespace strata::raft;

namespace {

std::function<void(Config&)> options(uint64_t max_msg_bytes = 1 << 20) {
  return [=](Config& c) {
    c.election_tick = 10;
    c.heartbeat_tick = 1;
    c.pre_vote = false;
    c.check_quorum = false;
    c.max_size_per_msg_bytes = max_msg_bytes;
  };
}

std::vector<uint64_t> terms_of(const Core& core) {
  std::vector<uint64_t> out;
  for (const Entry& e : core.log().all_entries()) out.push_back(e.term);
  return out;
}

}  // namespace

TEST_CASE("Raft §5.3: committed entries reach every follower and are applied in order") {
  sim::Cluster c({1, 2, 3}, {}, 1, options());
  REQUIRE(c.elect(1) == 1);
  for (int i = 0; i < 5; ++i) REQUIRE(c.core(1).propose("v" + std::to_string(i)));
  c.stabilize();
  for (uint64_t id : {1, 2, 3}) {
    CHECK(c.node(id).applied_index == 6);  // the leader's empty entry + 5
    CHECK(c.node(id).state_machine.at(6) == "v4");
  }
  CHECK(c.violations().empty());
}

TEST_CASE("Raft §5.3 Figure 7: the leader brings every divergent follower's log in line with its own") {
  // Logs (terms by index) from Figure 7; the leader is node 1, followers a-f are nodes 2-7.
  sim::Cluster c({1, 2, 3, 4, 5, 6, 7}, {}, 2, options());
  c.set_log(1, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6}, {7, kNone, 0});
  c.set_log(2, {1, 1, 1, 4, 4, 5, 5, 6, 6}, {7, kNone, 0});
  c.set_log(3, {1, 1, 1, 4}, {7, kNone, 0});
  c.set_log(4, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}, {7, kNone, 0});
  c.set_log(5, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, {7, kNone, 0});
  c.set_log(6, {1, 1, 1, 4, 4, 4, 4}, {7, kNone, 0});
  c.set_log(7, {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}, {7, kNone, 0});
  REQUIRE(c.elect(1) == 1);  // votes from a, b, e, f (c and d are more up to date)
  CHECK(c.core(1).term() == 8);
  REQUIRE(c.core(1).propose("x"));
  c.stabilize();
  std::vector<uint64_t> want = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8, 8};
  for (uint64_t id = 1; id <= 7; ++id) CHECK(terms_of(c.core(id)) == want);
  CHECK(c.core(1).log().committed() == 12);
  CHECK(c.violations().empty());
}

TEST_CASE("fast backtracking (thesis §5.3, etcd): follower f of Figure 7 is repaired with one rejection") {
  sim::Cluster c({1, 2, 3}, {}, 3, options());
  c.set_log(1, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6}, {7, kNone, 0});
  c.set_log(2, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6}, {7, kNone, 0});
  c.set_log(3, {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}, {7, kNone, 0});
  int rejections = 0;
  c.set_drop_filter([&](const Message& m) {
    if (m.type == MessageType::app_resp && m.from == 3 && m.reject) ++rejections;
    return false;
  });
  REQUIRE(c.elect(1) == 1);
  CHECK(terms_of(c.core(3)) == std::vector<uint64_t>{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8});
  // One entry per round trip would take 7 rejections (indexes 10 down to 4); the hint
  // (index 10, term 3) lets the leader jump straight to index 3, the last term <= 3.
  CHECK(rejections == 1);
}

TEST_CASE("Raft §5.4.2 Figure 8: a leader does not commit an entry from an earlier term by counting replicas") {
  sim::Cluster c({1, 2, 3, 4, 5}, {}, 4, options(/*max_msg_bytes=*/1));  // one entry per append
  REQUIRE(c.elect(1) == 1);  // term 1; its empty entry (index 1) commits everywhere
  // (a) S1 replicates an entry of term 1 at index 2 to S2 only.
  c.partition({{1, 2}, {3}, {4}, {5}});
  REQUIRE(c.core(1).propose("term1"));
  c.stabilize();
  CHECK(c.core(2).log().last_index() == 2);
  // (b) S5 is elected in term 2 by S3, S4 and itself and appends index 2 locally only.
  c.partition({{3, 4, 5}, {1}, {2}});
  c.set_drop_filter([](const Message& m) { return m.from == 5 && m.type == MessageType::app; });
  REQUIRE(c.elect(5) == 5);
  CHECK(c.core(5).log().term_or_zero(2) == 2);
  // (c) S1 restarts, is elected in term 3 (S2, S3, S4) and replicates index 2 (term 1) to S3 and
  // S4: a majority (S1, S3, S4) is known to store it, but S1 must not commit it because it is not
  // from S1's term. Appends that carry S1's own term-3 entry are dropped, except the first one
  // to S3 and S4, which they reject for the missing index 2.
  c.crash(5);
  c.heal();
  c.crash(1);
  c.restart(1);
  c.set_drop_filter([&c](const Message& m) {
    if (m.type != MessageType::app || m.to == 5) return false;
    bool own_term = false;
    for (const Entry& e : m.entries) own_term = own_term || e.term == 3;
    return own_term && (m.to == 2 || c.core(m.to).log().last_index() >= 2);
  });
  REQUIRE(c.elect(1) == 1);
  CHECK(c.core(1).term() == 3);
  c.stabilize();
  for (uint64_t id : {3, 4}) {
    CHECK(c.core(id).log().term_or_zero(2) == 1);
    CHECK(c.core(1).progress(id)->match() == 2);
  }
  CHECK(c.core(1).log().committed() == 1);  // NOT 2 (Figure 8c)
  // (d) S1 crashes; S5 wins term 4 with S2, S3, S4 and overwrites index 2 with its term-2 entry,
  // which is legal only because index 2 was never committed.
  c.crash(1);
  c.set_drop_filter({});
  c.restart(5);
  REQUIRE(c.elect(5) == 5);
  for (uint64_t id : {2, 3, 4, 5}) CHECK(c.core(id).log().term_or_zero(2) == 2);
  CHECK(c.violations().empty());
}

TEST_CASE("Raft §7: a follower behind the leader's compacted log catches up by InstallSnapshot") {
  sim::Cluster c({1, 2, 3}, {}, 5, options());
  REQUIRE(c.elect(1) == 1);
  c.isolate(3);
  for (int i = 0; i < 20; ++i) REQUIRE(c.core(1).propose("e" + std::to_string(i)));
  c.stabilize();
  c.compact(1, 0);
  c.compact(2, 0);
  REQUIRE(c.core(1).log().first_index() > c.core(3).log().last_index() + 1);
  int snapshots = 0;
  c.set_drop_filter([&](const Message& m) {
    if (m.type == MessageType::snap) ++snapshots;
    return false;
  });
  c.heal();
  REQUIRE(c.run_until([&] { return c.node(3).applied_index == c.core(1).log().committed(); }, 20));
  CHECK(snapshots >= 1);
  CHECK(c.node(3).storage->snapshot()->metadata.index > 0);
  CHECK(c.node(3).state_machine == c.node(1).state_machine);
  // Replication continues normally after the snapshot.
  REQUIRE(c.core(1).propose("after"));
  c.stabilize();
  CHECK(c.node(3).state_machine.rbegin()->second == "after");
  CHECK(c.core(1).progress(3)->state() == ProgressState::replicate);
  CHECK(c.violations().empty());
}

TEST_CASE("Raft §7: a lost snapshot is retried after the snapshot timeout") {
  sim::Cluster c({1, 2, 3}, {}, 6, options());
  REQUIRE(c.elect(1) == 1);
  c.isolate(3);
  for (int i = 0; i < 5; ++i) REQUIRE(c.core(1).propose("e"));
  c.stabilize();
  c.compact(1, 0);
  int dropped = 0;
  c.set_drop_filter([&](const Message& m) { return m.type == MessageType::snap && dropped++ == 0; });
  c.heal();
  REQUIRE(c.run_until([&] { return c.node(3).applied_index == c.core(1).log().committed(); }, 60));
  CHECK(dropped >= 2);
}

TEST_CASE("Raft §5.3: a follower's ack is only sent after its Ready persisted the entries") {
  sim::Cluster c({1, 2, 3}, {}, 7, options());
  REQUIRE(c.elect(1) == 1);
  REQUIRE(c.core(1).propose("x"));
  c.process_ready(1);
  // Step the append into node 2 without processing its Ready: no ack is visible yet.
  Message app = c.queue().front();
  REQUIRE(app.type == MessageType::app);
  REQUIRE(app.to == 2);
  c.queue().erase(c.queue().begin());
  REQUIRE(c.core(2).step(app));
  Ready rd = c.core(2).ready();
  CHECK(rd.entries.size() == 1);
  REQUIRE(rd.messages.size() == 1);
  CHECK(rd.messages[0].type == MessageType::app_resp);
  CHECK(rd.messages[0].index == 2);
  c.core(2).advance(rd);
}

namespace {

// Takes node `id`'s Ready by hand and persists it (as a driver does before sending), leaving it
// outstanding: the harness does not process that node's Readies until finish_ready().
Ready begin_ready(sim::Cluster& c, uint64_t id) {
  Ready rd = c.core(id).ready();
  sim::Node& n = c.node(id);
  n.ready_outstanding = true;
  n.storage->append(rd.entries);
  if (rd.hard_state) n.storage->set_hard_state(*rd.hard_state);
  return rd;
}

void finish_ready(sim::Cluster& c, uint64_t id, const Ready& rd) {
  c.core(id).advance(rd);
  c.node(id).ready_outstanding = false;
}

size_t count_to(const std::vector<Message>& msgs, uint64_t to, MessageType type) {
  size_t n = 0;
  for (const Message& m : msgs) n += m.to == to && m.type == type ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE(
    "take_committed_entries: a leader hands out entries an acknowledgement commits while its Ready is outstanding") {
  sim::Cluster c({1, 2, 3}, {}, 11, options());
  REQUIRE(c.elect(1) == 1);
  c.stabilize();
  REQUIRE(c.core(1).log().committed() == 1);
  REQUIRE(c.core(1).propose("a"));
  Ready first = begin_ready(c, 1);  // appends "a" at index 2
  for (const Message& m : first.messages) c.queue().push_back(m);
  finish_ready(c, 1, first);
  REQUIRE(c.core(1).propose("b"));
  Ready rd = begin_ready(c, 1);  // appends "b" at index 3; outstanding from here on
  REQUIRE(rd.entries.size() == 1);
  for (const Message& m : rd.messages) c.queue().push_back(m);
  c.stabilize();  // the followers persist and acknowledge 2 and 3; node 1 only steps
  CHECK(c.core(1).log().committed() == 3);

  CHECK(c.core(2).take_committed_entries(3).empty());  // followers: nothing
  CHECK(c.core(1).take_committed_entries(1).empty());  // nothing durable past the last taken
  auto taken = c.core(1).take_committed_entries(3);
  REQUIRE(taken.size() == 2);
  CHECK(taken[0].index == 2);
  CHECK(taken[0].data == "a");
  CHECK(taken[1].data == "b");
  CHECK(c.core(1).take_committed_entries(3).empty());  // handed out once
  CHECK(c.core(1).log().applied() == 1);               // applied at advance()
  finish_ready(c, 1, rd);
  CHECK(c.core(1).log().applied() == 3);
  // The next Ready carries the commit index but not the taken entries again.
  REQUIRE(c.core(1).has_ready());
  Ready next = c.core(1).ready();
  CHECK(next.committed_entries.empty());
  REQUIRE(next.hard_state.has_value());
  CHECK(next.hard_state->commit == 3);
  c.core(1).advance(next);
  CHECK(c.violations().empty());
}

TEST_CASE(
    "take_committed_entries: stops before a conf change, which a Ready applies; taken with no Ready outstanding counts as applied at once") {
  sim::Cluster c({1, 2, 3}, {}, 12, options());
  c.add_node(4);
  REQUIRE(c.elect(1) == 1);
  c.stabilize();
  REQUIRE(c.core(1).propose("a"));                                           // index 2
  REQUIRE(c.core(1).propose_conf_change({ConfChangeType::add_learner, 4}));  // index 3
  REQUIRE(c.core(1).propose("b"));                                           // index 4
  Ready rd = begin_ready(c, 1);
  for (const Message& m : rd.messages) c.queue().push_back(m);
  finish_ready(c, 1, rd);
  c.node(1).ready_outstanding = true;  // node 1 only steps while the followers acknowledge
  c.stabilize();
  c.node(1).ready_outstanding = false;
  REQUIRE(c.core(1).log().committed() == 4);
  auto taken = c.core(1).take_committed_entries(4);
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].data == "a");
  CHECK(c.core(1).log().applied() == 2);  // no Ready outstanding: applied now
  // The conf change and what follows it come in the next Ready, which applies the change.
  Ready next = c.core(1).ready();
  REQUIRE(next.committed_entries.size() == 2);
  CHECK(next.committed_entries[0].type == EntryType::conf_change);
  CHECK(next.committed_entries[1].data == "b");
  c.core(1).advance(next);
  CHECK(c.core(1).conf_state().is_learner(4));
}

TEST_CASE(
    "a commit-index update followed in the same Ready by the next batch's append leaves as one message per follower") {
  sim::Cluster c({1, 2, 3}, {}, 13, options());
  REQUIRE(c.elect(1) == 1);
  c.stabilize();
  REQUIRE(c.core(1).propose("a"));
  Ready rd = begin_ready(c, 1);
  for (const Message& m : rd.messages) c.queue().push_back(m);
  finish_ready(c, 1, rd);
  c.node(1).ready_outstanding = true;
  c.stabilize();  // the acknowledgements commit index 2: the leader queues commit-only appends
  c.node(1).ready_outstanding = false;
  REQUIRE(c.core(1).log().committed() == 2);
  REQUIRE(c.core(1).propose("b"));  // the next batch, appended before the Ready is taken
  Ready next = c.core(1).ready();
  for (uint64_t f : {2, 3}) {
    CHECK(count_to(next.messages, f, MessageType::app) == 1);
    for (const Message& m : next.messages) {
      if (m.to != f || m.type != MessageType::app) continue;
      CHECK(m.entries.size() == 1);
      CHECK(m.commit == 2);
    }
  }
  c.core(1).advance(next);
}
