// replication::Node in one process: three nodes on real temp directories wired by an in-memory
// Transport (with a per-link cut), on one io_context. Election, a write through a follower,
// linearizable reads, restart with the applied index persisted with the data, and catch-up by
// snapshot after the log was compacted.
#include <doctest/doctest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <filesystem>
#include <functional>
#include <set>

#include "lib/io/default_file_system.h"
#include "lib/replication/node.h"
#include "lib/util/logging.h"
#include "tests/test_util.h"

namespace strata::replication {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Net;

// Delivers messages by posting to the executor; `cut` drops everything to or from a node.
class MemTransport final : public Transport {
 public:
  MemTransport(Net& net, uint64_t self) : net_(net), self_(self) {}
  void send(raft::Message m) override;
  asio::awaitable<Result<void>> send_snapshot(raft::Message m, SnapshotSource& src) override;
  void set_peer_address(uint64_t, std::string) override {}

 private:
  Net& net_;
  uint64_t self_;
};

struct Net {
  asio::any_io_executor ex;
  std::map<uint64_t, Node*> nodes;
  std::set<uint64_t> cut;
  bool linked(uint64_t a, uint64_t b) const { return !cut.count(a) && !cut.count(b) && nodes.count(b); }
};

void MemTransport::send(raft::Message m) {
  if (!net_.linked(self_, m.to)) return;
  Net* net = &net_;
  asio::post(net_.ex, [net, m = std::move(m)]() mutable {
    auto it = net->nodes.find(m.to);
    if (it != net->nodes.end() && !net->cut.count(m.to)) it->second->on_message(std::move(m));
  });
}

asio::awaitable<Result<void>> MemTransport::send_snapshot(raft::Message m, SnapshotSource& src) {
  // The receiver is looked up for every chunk: it may be stopped (and destroyed) meanwhile.
  for (;;) {
    if (!net_.linked(self_, m.to)) co_return make_error_code(Errc::unavailable);
    STRATA_CO_TRY_ASSIGN(auto chunk, co_await src.next());
    if (!chunk) break;
    if (!net_.linked(self_, m.to)) co_return make_error_code(Errc::unavailable);
    STRATA_CO_TRY(co_await net_.nodes.at(m.to)->on_snapshot_chunk(self_, std::move(*chunk)));
  }
  if (!net_.linked(self_, m.to)) co_return make_error_code(Errc::unavailable);
  co_return co_await net_.nodes.at(m.to)->on_snapshot_end(src.snapshot_id(), std::move(m));
}

asio::awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(std::chrono::milliseconds(ms));
  auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
}

// Polls `cond` every 10 ms for up to `limit_ms`.
asio::awaitable<bool> until(std::function<bool()> cond, int limit_ms = 10000) {
  for (int waited = 0; waited < limit_ms; waited += 10) {
    if (cond()) co_return true;
    co_await sleep_ms(10);
  }
  co_return cond();
}

struct Cluster {
  strata::testing::TempDir tmp;
  std::unique_ptr<io::FileSystem> fs;
  Net net;
  std::map<uint64_t, std::unique_ptr<MemTransport>> transports;
  std::map<uint64_t, std::unique_ptr<Node>> nodes;
  uint64_t threshold = 0;
  int election_tick = 30;  // 300-600 ms: a stalled test thread (sanitizers, load) does not start elections
  size_t max_pending = 8192;
  uint32_t learner_timeout_ms = 60000;
  bool pipeline = false;

  NodeOptions options(uint64_t id) {
    NodeOptions o;
    o.id = id;
    o.initial_members = {{1, "n1"}, {2, "n2"}, {3, "n3"}};
    o.data_dir = tmp.path() + "/node" + std::to_string(id);
    o.db_options.file_system = fs.get();
    o.tick_ms = 10;
    o.election_tick = election_tick;
    o.max_pending_proposals = max_pending;
    o.learner_timeout_ms = learner_timeout_ms;
    o.pipeline_apply = pipeline;
    o.proposal_timeout_ms = 3000;
    o.read_timeout_ms = 3000;
    o.snapshot_threshold_entries = threshold;
    o.snapshot_trailing_entries = 2;
    return o;
  }

  asio::awaitable<void> start(uint64_t id) {
    auto n = co_await Node::open(net.ex, *fs, options(id));
    REQUIRE(n.has_value());
    transports[id] = std::make_unique<MemTransport>(net, id);
    (*n)->set_transport(transports[id].get());
    net.nodes[id] = n->get();
    (*n)->start();
    nodes[id] = std::move(*n);
  }

  asio::awaitable<void> stop(uint64_t id) {
    net.nodes.erase(id);
    auto r = co_await nodes[id]->stop();
    CHECK(r.has_value());
    nodes.erase(id);
  }

  asio::awaitable<void> stop_all() {
    std::vector<uint64_t> ids;
    for (auto& [id, n] : nodes) ids.push_back(id);
    for (uint64_t id : ids) co_await stop(id);
  }

  uint64_t leader() {
    for (auto& [id, n] : nodes) {
      auto s = n->cluster_status();
      if (s->role == "leader" && !net.cut.count(id)) return id;
    }
    return 0;
  }

  // The leader once every reachable node knows it (0 before): a follower's write right after an
  // election would otherwise meet a follower that has not heard from the leader yet (not_leader).
  uint64_t agreed_leader() {
    uint64_t l = leader();
    if (l == 0) return 0;
    for (auto& [id, n] : nodes) {
      if (!net.cut.count(id) && n->cluster_status()->leader_id != l) return 0;
    }
    return l;
  }

  uint64_t follower(uint64_t not_this) {
    for (auto& [id, n] : nodes) {
      if (id != not_this && !net.cut.count(id)) return id;
    }
    return 0;
  }
};

asio::awaitable<Result<uint64_t>> put(Node& n, std::string k, std::string v) {
  WriteBatch b;
  b.put(k, v);
  co_return co_await n.write(std::move(b), {});
}

TEST_CASE("three in-process nodes elect a leader, forward a follower's write and serve linearizable reads") {
  strata::testing::run([]() -> asio::awaitable<void> {
    Cluster c;
    c.net.ex = co_await asio::this_coro::executor;
    c.fs = io::make_default_file_system(c.net.ex);
    for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
    REQUIRE(co_await until([&] { return c.agreed_leader() != 0; }));
    uint64_t l = c.leader();
    uint64_t f = c.follower(l);
    auto w = co_await put(*c.nodes[f], "a", "1");
    REQUIRE(w.has_value());
    // Applied on the follower when acknowledged.
    auto stale = co_await c.nodes[f]->get("a", ReadConsistency::stale);
    REQUIRE(stale.has_value());
    CHECK(*stale == std::optional<std::string>("1"));
    for (auto& [id, n] : c.nodes) {
      auto got = co_await n->get("a", ReadConsistency::linearizable);
      REQUIRE(got.has_value());
      CHECK(*got == std::optional<std::string>("1"));
    }
    // Scans see only user keys, without the state machine's metadata.
    auto rows = co_await c.nodes[l]->scan("", "", 0, ReadConsistency::linearizable);
    REQUIRE(rows.has_value());
    REQUIRE(rows->size() == 1);
    CHECK((*rows)[0].key == "a");
    co_await c.stop_all();
  }());
}

TEST_CASE("concurrent writes are proposed to Raft in batches and each is acknowledged with its own index") {
  for (bool pipeline : {false, true}) {  // NodeOptions::pipeline_apply off (default) and on
    CAPTURE(pipeline);
    strata::testing::run([pipeline]() -> asio::awaitable<void> {
      Cluster c;
      c.pipeline = pipeline;
      // No election may interrupt the 80 writes (a new leader fails pending proposals, and this
      // test requires each one to succeed); the nodes share one thread, which under a sanitizer on
      // a loaded machine can stall for longer than the default 100 ms election timeout.
      c.election_tick = 100;
      c.net.ex = co_await asio::this_coro::executor;
      c.fs = io::make_default_file_system(c.net.ex);
      for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
      REQUIRE(co_await until([&] { return c.agreed_leader() != 0; }));
      uint64_t l = c.leader();
      uint64_t f = c.follower(l);
      // 64 writes to the leader and 16 through a follower, all started before any of them runs.
      constexpr int kLeaderWrites = 64, kFollowerWrites = 16;
      std::vector<std::optional<Result<uint64_t>>> results(kLeaderWrites + kFollowerWrites);
      uint64_t batches_before = c.nodes[l]->node_stats().proposal_batches;
      for (int i = 0; i < kLeaderWrites + kFollowerWrites; ++i) {
        Node& n = *c.nodes[i < kLeaderWrites ? l : f];
        asio::co_spawn(c.net.ex, put(n, "k" + std::to_string(i), "v" + std::to_string(i)),
                       [&results, i](std::exception_ptr e, Result<uint64_t> r) {
                         REQUIRE(!e);
                         results[i] = r;
                       });
      }
      REQUIRE(co_await until([&] {
        for (auto& r : results) {
          if (!r) return false;
        }
        return true;
      }));
      std::set<uint64_t> indexes;
      for (size_t i = 0; i < results.size(); ++i) {
        auto& r = results[i];
        REQUIRE_MESSAGE(r->has_value(), "write " << i << " failed: " << r->error().message());
        indexes.insert(r->value());
      }
      CHECK(indexes.size() == results.size());  // every write has its own log index
      // The leader stepped its own 64 writes into Raft in far fewer prop messages than writes: one
      // per Ready-loop turn, not one per write. (The follower's writes are forwarded to the leader
      // as its own batched prop messages; they are not counted here.)
      uint64_t batches = c.nodes[l]->node_stats().proposal_batches - batches_before;
      CHECK(batches >= 1);
      CHECK(batches <= 8);
      for (int i = 0; i < kLeaderWrites + kFollowerWrites; ++i) {
        auto got = co_await c.nodes[f]->get("k" + std::to_string(i), ReadConsistency::linearizable);
        REQUIRE(got.has_value());
        CHECK(*got == std::optional<std::string>("v" + std::to_string(i)));
      }
      co_await c.stop_all();
    }());
  }
}

TEST_CASE("a cut-off leader's pending write fails with a retriable error, never a false success") {
  strata::testing::run([]() -> asio::awaitable<void> {
    Cluster c;
    c.net.ex = co_await asio::this_coro::executor;
    c.fs = io::make_default_file_system(c.net.ex);
    for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
    REQUIRE(co_await until([&] { return c.leader() != 0; }));
    uint64_t l = c.leader();
    c.net.cut.insert(l);
    auto w = co_await put(*c.nodes[l], "x", "1");
    REQUIRE_FALSE(w.has_value());
    bool retriable = w.error() == make_error_code(Errc::timed_out) || w.error() == make_error_code(Errc::unavailable) ||
                     w.error() == make_error_code(Errc::not_leader);
    CHECK(retriable);
    // The majority side elects a new leader that accepts writes.
    REQUIRE(co_await until([&] { return c.leader() != 0; }));
    auto w2 = co_await put(*c.nodes[c.leader()], "y", "2");
    CHECK(w2.has_value());
    c.net.cut.clear();
    co_await c.stop_all();
  }());
}

TEST_CASE("writes beyond max_pending_proposals fail at once with overloaded and are not proposed") {
  strata::testing::run([]() -> asio::awaitable<void> {
    Cluster c;
    c.max_pending = 3;
    c.election_tick = 50;  // the cut-off leader keeps its role (check-quorum) for 0.5 s at least
    c.net.ex = co_await asio::this_coro::executor;
    c.fs = io::make_default_file_system(c.net.ex);
    for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
    REQUIRE(co_await until([&] { return c.leader() != 0; }));
    uint64_t l = c.leader();
    Node& leader = *c.nodes[l];
    c.net.cut.insert(l);  // nothing commits: the writes stay pending
    int finished = 0;
    std::vector<Result<uint64_t>> results;
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(
          c.net.ex,
          [&, i]() -> asio::awaitable<void> {
            results.push_back(co_await put(leader, "p" + std::to_string(i), "v"));
            ++finished;
          },
          asio::detached);
    }
    REQUIRE(co_await until([&] { return leader.node_stats().proposals == 3; }, 2000));
    auto start = std::chrono::steady_clock::now();
    auto over = co_await put(leader, "over", "v");
    REQUIRE_FALSE(over.has_value());
    CHECK(over.error() == make_error_code(Errc::overloaded));
    CHECK(std::chrono::steady_clock::now() - start < 100ms);  // at once, not after a timeout
    CHECK(finished == 0);
    CHECK(leader.node_stats().proposals == 3);  // the refused one was never proposed
    CHECK(leader.node_stats().proposals_refused == 1);
    c.net.cut.clear();
    REQUIRE(co_await until([&] { return finished == 3; }));
    // Once the pending writes are done (applied, or failed with a retriable error), there is room.
    REQUIRE(co_await until([&] { return c.leader() != 0; }));
    auto w = co_await put(*c.nodes[c.leader()], "after", "v");
    CHECK(w.has_value());
    // The refused write was never applied anywhere.
    auto got = co_await c.nodes[c.leader()]->get("over", ReadConsistency::linearizable);
    REQUIRE(got.has_value());
    CHECK_FALSE(got->has_value());
    co_await c.stop_all();
  }());
}

// What the leader reports about member `id`: nullopt if it is not a member, else whether it votes.
std::optional<bool> member(Cluster& c, uint64_t id) {
  uint64_t l = c.leader();
  if (l == 0) return std::nullopt;
  // Keep the status alive: a range-for over `cluster_status()->members` would iterate a member of
  // a temporary destroyed before the loop body (ASan: stack-use-after-scope).
  auto status = c.nodes[l]->cluster_status();
  if (!status) return std::nullopt;
  for (const MemberStatus& m : status->members) {
    if (m.id == id) return m.voter;
  }
  return std::nullopt;
}

TEST_CASE("a learner whose join was interrupted before it caught up is removed; joining again adds it") {
  strata::testing::run([]() -> asio::awaitable<void> {
    Cluster c;
    c.learner_timeout_ms = 400;
    c.net.ex = co_await asio::this_coro::executor;
    c.fs = io::make_default_file_system(c.net.ex);
    for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
    REQUIRE(co_await until([&] { return c.leader() != 0; }));
    REQUIRE((co_await put(*c.nodes[c.leader()], "k", "v")).has_value());
    // Node 4 is added (the first step of --join) but never comes up: killed before it caught up.
    REQUIRE((co_await c.nodes[c.leader()]->add_member(4, "n4")).has_value());
    CHECK(member(c, 4) == std::optional<bool>(false));
    REQUIRE(co_await until([&] { return c.leader() != 0 && !member(c, 4).has_value(); }, 5000));
    uint64_t removed = 0;
    for (auto& [id, n] : c.nodes) removed += n->node_stats().learners_removed;
    CHECK(removed == 1);
    // The cluster still takes writes with three voters.
    REQUIRE((co_await put(*c.nodes[c.leader()], "k2", "v2")).has_value());
    // Restarted with --join: added again (idempotent join), catches up, promoted to voter.
    co_await c.start(4);
    REQUIRE((co_await c.nodes[c.leader()]->add_member(4, "n4")).has_value());
    REQUIRE((co_await c.nodes[c.leader()]->add_member(4, "n4")).has_value());  // a retried join: ok, no change
    REQUIRE(co_await until([&] { return member(c, 4) == std::optional<bool>(true); }, 10000));
    REQUIRE(co_await until([&] { return c.nodes[4]->cluster_status()->applied_index >= 4; }));
    auto got = co_await c.nodes[4]->get("k2", ReadConsistency::linearizable);
    REQUIRE(got.has_value());
    CHECK(*got == std::optional<std::string>("v2"));
    co_await c.stop_all();
  }());
}

TEST_CASE(
    "a removed voter refuses reads and writes with removed, remembers it across a restart, and serves again once added back") {
  strata::testing::run([]() -> asio::awaitable<void> {
    Cluster c;
    c.net.ex = co_await asio::this_coro::executor;
    c.fs = io::make_default_file_system(c.net.ex);
    for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
    REQUIRE(co_await until([&] { return c.leader() != 0; }));
    uint64_t l = c.leader();
    uint64_t v = c.follower(l);
    REQUIRE((co_await put(*c.nodes[l], "k", "v")).has_value());
    REQUIRE((co_await c.nodes[l]->remove_member(v)).has_value());
    // The leader told it the commit index of its removal; it applied it and knows.
    REQUIRE(co_await until([&] { return c.nodes[v]->removed(); }, 5000));
    CHECK(c.nodes[v]->cluster_status()->removed);
    CHECK_FALSE(c.nodes[l]->removed());
    auto w = co_await put(*c.nodes[v], "via-removed", "x");
    CHECK(w.error() == make_error_code(Errc::removed));
    auto stale = co_await c.nodes[v]->get("k", ReadConsistency::stale);
    CHECK(stale.error() == make_error_code(Errc::removed));
    auto lin = co_await c.nodes[v]->get("k", ReadConsistency::linearizable);
    CHECK(lin.error() == make_error_code(Errc::removed));
    // The record is in its DB: a restart remembers.
    co_await c.stop(v);
    co_await c.start(v);
    CHECK(c.nodes[v]->removed());
    // Added back (as a learner, then promoted): the add clears the record and it serves again.
    REQUIRE((co_await c.nodes[l]->add_member(v, "n" + std::to_string(v))).has_value());
    REQUIRE(co_await until([&] { return !c.nodes[v]->removed(); }, 5000));
    REQUIRE((co_await put(*c.nodes[l], "k2", "v2")).has_value());
    REQUIRE(co_await until([&] { return member(c, v) == std::optional<bool>(true); }, 10000));
    auto got = co_await c.nodes[v]->get("k2", ReadConsistency::linearizable);
    REQUIRE(got.has_value());
    CHECK(*got == std::optional<std::string>("v2"));
    co_await c.stop_all();
  }());
}

TEST_CASE("a restarted node keeps its applied index with its data and applies nothing twice") {
  for (bool pipeline : {false, true}) {  // NodeOptions::pipeline_apply off (default) and on
    CAPTURE(pipeline);
    strata::testing::run([pipeline]() -> asio::awaitable<void> {
      Cluster c;
      c.pipeline = pipeline;
      c.net.ex = co_await asio::this_coro::executor;
      c.fs = io::make_default_file_system(c.net.ex);
      for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
      REQUIRE(co_await until([&] { return c.leader() != 0; }));
      uint64_t l = c.leader();
      for (int i = 0; i < 30; ++i) REQUIRE((co_await put(*c.nodes[l], "k" + std::to_string(i), "v")).has_value());
      // An overwrite then a delete: replaying older entries after a restart would resurrect "k3".
      REQUIRE((co_await put(*c.nodes[l], "k3", "second")).has_value());
      WriteBatch del;
      del.del("k3");
      REQUIRE((co_await c.nodes[l]->write(std::move(del), {})).has_value());
      uint64_t f = c.follower(l);
      REQUIRE(co_await until(
          [&] { return c.nodes[f]->cluster_status()->applied_index == c.nodes[l]->cluster_status()->applied_index; }));
      uint64_t applied_before = c.nodes[f]->cluster_status()->applied_index;
      co_await c.stop(f);
      co_await c.start(f);
      auto s = c.nodes[f]->cluster_status();
      CHECK(s->applied_index == applied_before);  // read back from the DB, not replayed
      auto k3 = co_await c.nodes[f]->get("k3", ReadConsistency::stale);
      REQUIRE(k3.has_value());
      CHECK_FALSE(k3->has_value());
      CHECK(c.nodes[f]->node_stats().applied_entries == 0);  // nothing re-applied
      co_await c.stop_all();
    }());
  }
}

TEST_CASE("a follower cut off while the log is compacted catches up by a DB snapshot") {
  for (bool pipeline : {false, true}) {  // NodeOptions::pipeline_apply off (default) and on
    CAPTURE(pipeline);
    strata::testing::run([pipeline]() -> asio::awaitable<void> {
      Cluster c;
      c.pipeline = pipeline;
      c.threshold = 20;
      c.net.ex = co_await asio::this_coro::executor;
      c.fs = io::make_default_file_system(c.net.ex);
      for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
      REQUIRE(co_await until([&] { return c.leader() != 0; }));
      uint64_t l = c.leader();
      REQUIRE((co_await put(*c.nodes[l], "gone", "soon")).has_value());
      uint64_t f = c.follower(l);
      REQUIRE(co_await until([&] { return c.nodes[f]->cluster_status()->applied_index >= 2; }));
      c.net.cut.insert(f);
      for (int i = 0; i < 100; ++i) REQUIRE((co_await put(*c.nodes[l], "s" + std::to_string(i), "v")).has_value());
      WriteBatch del;
      del.del("gone");
      REQUIRE((co_await c.nodes[l]->write(std::move(del), {})).has_value());
      // The log is compacted once a background DB flush finished (maybe after the last write).
      REQUIRE(co_await until([&] { return c.nodes[l]->cluster_status()->snapshot_index > 50; }));
      c.net.cut.clear();
      REQUIRE(co_await until([&] { return c.nodes[f]->node_stats().snapshots_installed >= 1; }));
      REQUIRE(co_await until(
          [&] { return c.nodes[f]->cluster_status()->applied_index >= c.nodes[l]->cluster_status()->commit_index; }));
      auto s99 = co_await c.nodes[f]->get("s99", ReadConsistency::stale);
      REQUIRE(s99.has_value());
      CHECK(*s99 == std::optional<std::string>("v"));
      auto gone = co_await c.nodes[f]->get("gone", ReadConsistency::stale);
      REQUIRE(gone.has_value());
      CHECK_FALSE(gone->has_value());
      CHECK(c.nodes[l]->node_stats().snapshots_sent >= 1);
      // remove_tree (on the blocking pool) cleaned up: the sent checkpoint, the follower's old DB.
      std::string ldir = c.options(l).data_dir, fdir = c.options(f).data_dir;
      REQUIRE(co_await until(
          [&] { return std::filesystem::is_empty(ldir + "/snap-out") && !std::filesystem::exists(fdir + "/db.old"); }));
      co_await c.stop_all();
    }());
  }
}

TEST_CASE(
    "forged peer messages (issue 18: a heartbeat committing past the log, a TimeoutNow from a non-leader) are counted, not fatal") {
  strata::testing::run([]() -> asio::awaitable<void> {
    Cluster c;
    c.net.ex = co_await asio::this_coro::executor;
    c.fs = io::make_default_file_system(c.net.ex);
    for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
    REQUIRE(co_await until([&] { return c.leader() != 0; }));
    uint64_t l = c.leader();
    uint64_t f = c.follower(l);
    uint64_t other = 6 - l - f;
    REQUIRE((co_await put(*c.nodes[l], "a", "1")).has_value());
    uint64_t term = c.nodes[f]->cluster_status()->term;
    // What an attacker on the peer port sent: three ~40-byte frames took the cluster down.
    for (uint64_t to : {l, f, other}) {
      raft::Message hb{
          .type = raft::MessageType::heartbeat, .to = to, .from = l == to ? f : l, .term = term, .commit = 1'000'000};
      c.nodes[to]->on_message(hb);
    }
    raft::Message tn{.type = raft::MessageType::timeout_now, .to = f, .from = other, .term = term};
    c.nodes[f]->on_message(tn);
    raft::Message junk{.type = raft::MessageType::app, .to = f, .from = l, .term = term, .index = 5, .log_term = 0};
    c.nodes[f]->on_message(junk);
    uint64_t invalid = 0;
    for (auto& [id, n] : c.nodes) {
      for (uint64_t v : n->node_stats().messages_invalid) invalid += v;
    }
    CHECK(invalid == 5);
    auto fs = c.nodes[f]->node_stats();
    CHECK(fs.messages_invalid[static_cast<size_t>(raft::DropReason::commit_out_of_range)] == 1);
    CHECK(fs.messages_invalid[static_cast<size_t>(raft::DropReason::not_the_leader)] == 1);
    CHECK(fs.messages_invalid[static_cast<size_t>(raft::DropReason::bad_log_position)] == 1);
    CHECK(c.nodes[f]->cluster_status()->stats.messages_invalid == fs.messages_invalid);
    // The cluster keeps its leader and keeps serving.
    CHECK(c.leader() == l);
    CHECK(c.nodes[f]->cluster_status()->term == term);
    REQUIRE((co_await put(*c.nodes[f], "b", "2")).has_value());
    co_await c.stop_all();
  }());
}

TEST_CASE(
    "snapshot chunks from a node that is not the leader, a second stream's chunk during a write, and an end from another sender are refused") {
  strata::testing::run([]() -> asio::awaitable<void> {
    Cluster c;
    c.net.ex = co_await asio::this_coro::executor;
    c.fs = io::make_default_file_system(c.net.ex);
    for (uint64_t id = 1; id <= 3; ++id) co_await c.start(id);
    REQUIRE(co_await until([&] { return c.leader() != 0; }));
    uint64_t l = c.leader();
    uint64_t f = c.follower(l);
    uint64_t other = 6 - l - f;
    REQUIRE(co_await until([&] { return c.nodes[f]->cluster_status()->leader_id == l; }));
    Node& node = *c.nodes[f];
    auto refused = co_await node.on_snapshot_chunk(other, SnapshotChunk{7, "CURRENT", 0, "x"});
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error() == make_error_code(Errc::invalid_argument));
    // Two streams at once: the second's chunk arrives while the first one's is being written.
    std::optional<Result<void>> first;
    asio::co_spawn(c.net.ex, node.on_snapshot_chunk(l, SnapshotChunk{8, "CURRENT", 0, "first"}),
                   [&](std::exception_ptr, Result<void> r) { first = r; });
    co_await asio::post(c.net.ex, asio::use_awaitable);  // the first runs up to its first I/O
    auto second = co_await node.on_snapshot_chunk(l, SnapshotChunk{9, "CURRENT", 0, "second"});
    REQUIRE(co_await until([&] { return first.has_value(); }));
    CHECK(first->has_value());
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error() == make_error_code(Errc::busy));
    // The end of stream 8 from a node that did not send its chunks.
    raft::Message snap{.type = raft::MessageType::snap, .to = f, .from = other, .term = 1};
    snap.snapshot = raft::Snapshot{raft::SnapshotMetadata{100, 1, {{1, 2, 3}, {}}}, ""};
    auto end = co_await node.on_snapshot_end(8, snap);
    CHECK_FALSE(end.has_value());
    REQUIRE((co_await put(node, "still", "serving")).has_value());
    co_await c.stop_all();
  }());
}

}  // namespace
}  // namespace strata::replication
