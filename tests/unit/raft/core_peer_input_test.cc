// Forged and impossible peer messages (issue 18, RELIABILITY.md promise 5): raft::Core drops
// what a correct peer can never send, counts it under a DropReason, and changes nothing; it
// never aborts. The valid counterpart of each case still works.
#include <doctest/doctest.h>

#include "lib/raft/message_check.h"
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

// A 3-node cluster with leader 1 and a few committed entries.
struct Elected {
  sim::Cluster c{{1, 2, 3}, {}, 7, options()};
  Elected() {
    REQUIRE(c.elect(1) == 1);
    for (int i = 0; i < 3; ++i) REQUIRE(c.core(1).propose("v" + std::to_string(i)));
    c.stabilize();
    REQUIRE(c.core(2).log().committed() == 4);
  }
};

struct Before {
  uint64_t term, vote, lead, committed, last_index;
  Role role;
  explicit Before(const Core& core)
      : term(core.term()),
        vote(core.vote()),
        lead(core.leader()),
        committed(core.log().committed()),
        last_index(core.log().last_index()),
        role(core.role()) {}
  bool same(const Core& core) const {
    return term == core.term() && vote == core.vote() && lead == core.leader() && committed == core.log().committed() &&
           last_index == core.log().last_index() && role == core.role();
  }
};

// Steps a forged message into node `to` and checks that it was dropped for `why` and changed
// nothing.
void expect_dropped(sim::Cluster& c, const Message& m, DropReason why) {
  Core& core = c.core(m.to);
  Before before(core);
  uint64_t count = core.dropped()[static_cast<size_t>(why)];
  auto r = core.step(m);
  CHECK_FALSE(r.has_value());
  CHECK(core.last_drop() == why);
  CHECK(core.dropped()[static_cast<size_t>(why)] == count + 1);
  CHECK(before.same(core));
  CHECK_FALSE(core.has_ready());
}

Message heartbeat(uint64_t from, uint64_t to, uint64_t term, uint64_t commit) {
  Message m;
  m.type = MessageType::heartbeat;
  m.from = from;
  m.to = to;
  m.term = term;
  m.commit = commit;
  return m;
}

Message append(uint64_t from, uint64_t to, uint64_t term, uint64_t index, uint64_t log_term) {
  Message m;
  m.type = MessageType::app;
  m.from = from;
  m.to = to;
  m.term = term;
  m.index = index;
  m.log_term = log_term;
  return m;
}

}  // namespace

TEST_CASE("a forged heartbeat whose commit lies beyond the follower's log is dropped, not asserted on") {
  Elected e;
  uint64_t term = e.c.core(2).term();
  // Issue 18: this heartbeat aborted the node in RaftLog::commit_to.
  expect_dropped(e.c, heartbeat(1, 2, term, 1'000'000), DropReason::commit_out_of_range);
  // From a higher term too (it would otherwise make us follow the sender).
  expect_dropped(e.c, heartbeat(1, 2, term + 5, 5), DropReason::commit_out_of_range);
  // The leader's real heartbeats still commit and are answered.
  REQUIRE(e.c.core(2).step(heartbeat(1, 2, term, 4)));
  CHECK(e.c.core(2).has_ready());
  CHECK(e.c.violations().empty());
}

TEST_CASE("a heartbeat or append from someone other than the term's known leader is dropped") {
  Elected e;
  uint64_t term = e.c.core(2).term();
  expect_dropped(e.c, heartbeat(3, 2, term, 0), DropReason::not_the_leader);
  expect_dropped(e.c, append(3, 2, term, 4, term), DropReason::not_the_leader);
  Message tn;
  tn.type = MessageType::timeout_now;
  tn.from = 3;
  tn.to = 2;
  tn.term = term;
  // Issue 18: a forged TimeoutNow forced a leader change.
  expect_dropped(e.c, tn, DropReason::not_the_leader);
  // The leader itself is never told by another node that it leads its own term.
  expect_dropped(e.c, heartbeat(2, 1, term, 0), DropReason::not_the_leader);
}

TEST_CASE("appends whose entries are not contiguous, go back in term or outrun the message's term are dropped") {
  Elected e;
  uint64_t term = e.c.core(2).term();
  uint64_t last = e.c.core(2).log().last_index();
  Message gap = append(1, 2, term, last, term);
  gap.entries = {Entry{term, last + 2, EntryType::normal, "x"}};
  expect_dropped(e.c, gap, DropReason::bad_entries);
  Message over_committed = append(1, 2, term, last, term);
  // An entry at an index the follower already committed: would hit "conflicts with a committed
  // entry" in RaftLog::maybe_append.
  over_committed.entries = {Entry{term + 1, 2, EntryType::normal, "x"}};
  expect_dropped(e.c, over_committed, DropReason::bad_entries);
  Message backwards = append(1, 2, term, last, term);
  backwards.entries = {Entry{term, last + 1, EntryType::normal, "a"},
                       Entry{term - 1, last + 2, EntryType::normal, "b"}};
  expect_dropped(e.c, backwards, DropReason::bad_entries);
  Message future = append(1, 2, term, last, term);
  future.entries = {Entry{term + 1, last + 1, EntryType::normal, "x"}};
  expect_dropped(e.c, future, DropReason::bad_entries);
  Message wrap = append(1, 2, term, kMaxTermOrIndex - 1, term);
  wrap.entries = {Entry{term, kMaxTermOrIndex, EntryType::normal, "x"}};
  expect_dropped(e.c, wrap, DropReason::bad_entries);
  expect_dropped(e.c, append(1, 2, term, 3, 0), DropReason::bad_log_position);
  expect_dropped(e.c, append(1, 2, term, 3, term + 1), DropReason::bad_log_position);
  // The well-formed append is taken.
  Message good = append(1, 2, term, last, term);
  good.entries = {Entry{term, last + 1, EntryType::normal, "x"}};
  REQUIRE(e.c.core(2).step(good));
  CHECK(e.c.core(2).log().last_index() == last + 1);
}

TEST_CASE("term 0 on a peer message, a term on a proposal, and an unknown type are dropped") {
  Elected e;
  expect_dropped(e.c, heartbeat(1, 2, 0, 0), DropReason::bad_term);
  Message prop;
  prop.type = MessageType::prop;
  prop.from = 2;
  prop.to = 1;
  prop.term = 99;  // would raise the leader's term
  prop.entries = {Entry{}};
  expect_dropped(e.c, prop, DropReason::bad_term);
  prop.term = 0;
  prop.entries.clear();
  expect_dropped(e.c, prop, DropReason::bad_fields);
  Message unknown = heartbeat(1, 2, e.c.core(2).term(), 0);
  unknown.type = static_cast<MessageType>(200);
  expect_dropped(e.c, unknown, DropReason::unknown_type);
  Message huge = heartbeat(1, 2, kMaxTermOrIndex, 0);
  expect_dropped(e.c, huge, DropReason::bad_term);
}

TEST_CASE(
    "messages from a non-member or claiming our own id are dropped; a new leader we do not know yet is followed") {
  Elected e;
  uint64_t term = e.c.core(1).term();
  Message resp;
  resp.type = MessageType::app_resp;
  resp.from = 9;
  resp.to = 1;
  resp.term = term;
  resp.index = 1;
  expect_dropped(e.c, resp, DropReason::not_a_member);
  expect_dropped(e.c, heartbeat(2, 2, term, 0), DropReason::from_self);
  Message misaddressed = heartbeat(1, 3, term, 0);
  misaddressed.to = 5;
  CHECK_FALSE(e.c.core(2).step(misaddressed).has_value());
  // A follower whose configuration lags follows a leader of a newer term it does not list.
  REQUIRE(e.c.core(3).step(heartbeat(9, 3, term + 1, 0)));
  CHECK(e.c.core(3).leader() == 9);
}

TEST_CASE("an acknowledgement past the leader's log and a rejection hint past its index are dropped") {
  Elected e;
  uint64_t term = e.c.core(1).term();
  uint64_t last = e.c.core(1).log().last_index();
  Message ack;
  ack.type = MessageType::app_resp;
  ack.from = 2;
  ack.to = 1;
  ack.term = term;
  ack.index = last + 1000;
  expect_dropped(e.c, ack, DropReason::bad_response);
  ack.index = 2;
  ack.reject = true;
  ack.reject_hint = 3;
  expect_dropped(e.c, ack, DropReason::bad_response);
  CHECK(e.c.core(1).progress(2)->match() == last);
}

TEST_CASE("a snapshot with impossible metadata is dropped") {
  Elected e;
  uint64_t term = e.c.core(2).term();
  Message snap;
  snap.type = MessageType::snap;
  snap.from = 1;
  snap.to = 2;
  snap.term = term;
  snap.snapshot = Snapshot{SnapshotMetadata{100, term, {{}, {}}}, ""};  // no voters
  expect_dropped(e.c, snap, DropReason::bad_snapshot);
  snap.snapshot = Snapshot{SnapshotMetadata{100, term + 1, {{1, 2, 3}, {}}}, ""};  // newer than the message
  expect_dropped(e.c, snap, DropReason::bad_snapshot);
  snap.snapshot = Snapshot{SnapshotMetadata{100, term, {{3, 1}, {}}}, ""};  // unsorted
  expect_dropped(e.c, snap, DropReason::bad_snapshot);
  snap.snapshot = Snapshot{SnapshotMetadata{100, term, {{1, 2}, {2}}}, ""};  // voter and learner
  expect_dropped(e.c, snap, DropReason::bad_snapshot);
  snap.snapshot = Snapshot{SnapshotMetadata{kMaxTermOrIndex, term, {{1, 2, 3}, {}}}, ""};
  expect_dropped(e.c, snap, DropReason::bad_snapshot);
  snap.snapshot.reset();
  expect_dropped(e.c, snap, DropReason::bad_fields);
}

TEST_CASE("every message a correct cluster exchanges passes validation (check_message_shape)") {
  // The simulation flags any valid message dropped (sim_harness.cc); this runs a busy cluster
  // with elections, lossy links and a snapshot catch-up through it.
  sim::Cluster c({1, 2, 3}, {}, 11, options());
  c.faults().drop_per_mille = 100;
  c.faults().duplicate_per_mille = 50;
  c.faults().reorder_window = 3;
  REQUIRE(c.run_until([&] { return c.leader() != 0; }));
  for (int i = 0; i < 50; ++i) {
    uint64_t l = c.leader();
    if (l != 0) (void)c.core(l).propose("v" + std::to_string(i));
    c.tick_all();
    c.stabilize();
    if (i == 20) c.crash(3);
    if (i == 30 && c.leader() != 0) c.compact(c.leader(), 0);
    if (i == 35) c.restart(3);
  }
  c.faults() = {};
  REQUIRE(c.run_until(
      [&] { return c.leader() != 0 && c.core(3).log().committed() == c.core(c.leader()).log().committed(); }));
  CHECK(c.violations().empty());
  for (const std::string& v : c.violations()) MESSAGE(v);
}
