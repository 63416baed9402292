// The admin endpoints over a replication::Node (a one-voter cluster on a temp directory, with a
// transport that has no peers): the node's DB stores user key k as "u" + k, and trace, scans and
// compact_range must hide that; reads at a sequence number answer 501.
#include <doctest/doctest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include "lib/io/default_file_system.h"
#include "lib/replication/node.h"
#include "net/http/json_codec.h"
#include "net/http/router.h"
#include "tests/unit/net/router_test_util.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::net::http;
using namespace strata::net::http::testing;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// One voter needs no messages; snapshots are never sent.
class NoPeers final : public replication::Transport {
 public:
  void send(raft::Message) override {}
  asio::awaitable<Result<void>> send_snapshot(raft::Message, replication::SnapshotSource&) override {
    co_return make_error_code(Errc::unavailable);
  }
  void set_peer_address(uint64_t, std::string) override {}
};

asio::awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(std::chrono::milliseconds(ms));
  auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
}

asio::awaitable<Response> call(const Router& router, Method method, std::string_view target, std::string body = {}) {
  co_return co_await router.handle(make_request(method, target, std::move(body)));
}

}  // namespace

TEST_CASE("admin endpoints on a cluster node decode the replicated key space and refuse ?at=") {
  strata::testing::TempDir tmp;
  strata::testing::run([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto fs = io::make_default_file_system(ex);
    replication::NodeOptions o;
    o.id = 1;
    o.initial_members = {{1, "127.0.0.1:1"}};
    o.data_dir = tmp.path() + "/node1";
    o.db_options.file_system = fs.get();
    o.tick_ms = 10;
    o.election_tick = 5;
    auto opened = co_await replication::Node::open(ex, *fs, o);
    REQUIRE(opened.has_value());
    std::unique_ptr<replication::Node> node = std::move(*opened);
    NoPeers transport;
    node->set_transport(&transport);
    node->start();
    for (int i = 0; i < 500 && node->cluster_status()->role != "leader"; ++i) co_await sleep_ms(10);
    REQUIRE(node->cluster_status()->role == "leader");

    Router router(*node, NodeInfo{}, Limits{});
    for (const char* k : {"a", "b", "c", "d"}) {
      CHECK((co_await call(router, Method::put, std::string("/v1/kv/") + k, std::string("v") + k)).status == 200);
    }
    CHECK((co_await call(router, Method::post, "/v1/admin/flush")).status == 200);
    CHECK((co_await call(router, Method::put, "/v1/kv/e", "ve")).status == 200);
    // The elected, caught-up voter is ready (GET /readyz) and healthy.
    Response ready = co_await call(router, Method::get, "/readyz");
    CHECK(ready.status == 200);
    CHECK(ready.body == "{\"ready\":true}");
    CHECK((co_await call(router, Method::get, "/health")).status == 200);

    // Scans: only user keys, decoded, both directions.
    CHECK(scan_keys(co_await call(router, Method::get, "/v1/kv")) == std::vector<std::string>{"a", "b", "c", "d", "e"});
    CHECK(scan_keys(co_await call(router, Method::get, "/v1/kv?reverse=true")) ==
          std::vector<std::string>{"e", "d", "c", "b", "a"});
    CHECK(scan_keys(co_await call(router, Method::get, "/v1/kv?reverse=true&start=b&end=d&consistency=stale")) ==
          std::vector<std::string>{"c", "b"});

    // Trace: the user's key, found in the SSTable the flush wrote.
    auto t = body_json(co_await call(router, Method::get, "/v1/trace?key=b"));
    CHECK(t["key"] == "b");
    CHECK(t["found"] == true);
    CHECK(t["value"] == "vb");
    CHECK(t["sstables_consulted"].to_number<uint64_t>() == 1);
    auto missing = body_json(co_await call(router, Method::get, "/v1/trace?key=zz"));
    CHECK(missing["found"] == false);

    // Reads at a sequence number: 501 with a JSON error.
    for (const char* target : {"/v1/kv/a?at=1", "/get?key=a&at=1", "/v1/trace?key=a&at=1"}) {
      CAPTURE(target);
      auto r = co_await call(router, Method::get, target);
      CHECK(r.status == 501);
      CHECK(body_json(r)["code"] == "not_supported");
    }

    // Config, compaction and stats act on the node's DB.
    CHECK(
        (co_await call(router, Method::post, "/v1/config", R"({"name":"l0_compaction_trigger","value":"9"})")).status ==
        200);
    bool set = false;
    for (const auto& opt : node->option_list()) set |= opt.name == "l0_compaction_trigger" && opt.value == "9";
    CHECK(set);
    CHECK((co_await call(router, Method::post, "/v1/admin/compact", R"({"start":"a","end":"c"})")).status == 200);
    CHECK((co_await call(router, Method::post, "/v1/admin/compact")).status == 200);
    DbStats s = node->stats();
    CHECK(s.levels[0].file_count == 0);
    CHECK(s.sstable_count >= 1);
    auto stats = body_json(co_await call(router, Method::get, "/v1/stats"));
    CHECK(stats["sstable_count"].to_number<uint64_t>() == s.sstable_count);
    // The replication counters: five writes proposed, each persisted by some Ready and applied.
    REQUIRE(stats.contains("replication"));
    auto& rep = stats["replication"].as_object();
    CHECK(rep.at("proposals").to_number<uint64_t>() == 5);
    CHECK(rep.at("applied_entries").to_number<uint64_t>() >= 5);
    CHECK(rep.at("entries_persisted").to_number<uint64_t>() >= 5);
    uint64_t cycles = rep.at("ready_cycles").to_number<uint64_t>();
    CHECK(cycles >= 1);
    auto metrics = co_await call(router, Method::get, "/metrics");
    CHECK(metrics.body.find("\nstrata_raft_proposals_total 5\n") != std::string::npos);
    CHECK(metrics.body.find("# TYPE strata_raft_persist_seconds_total counter\n") != std::string::npos);
    constexpr std::string_view kCycles = "\nstrata_raft_ready_cycles_total ";
    size_t at = metrics.body.find(kCycles);
    REQUIRE(at != std::string::npos);
    CHECK(std::stoull(metrics.body.substr(at + kCycles.size())) >= cycles);  // the loop may have run since
    // Invalid peer messages by reason, and the transport's counters and limits (zeros here: the
    // test transport keeps none).
    CHECK(rep.at("messages_invalid").as_object().at("commit_out_of_range").to_number<uint64_t>() == 0);
    CHECK(rep.at("transport").as_object().at("max_frame_bytes").to_number<uint64_t>() == 0);
    CHECK(metrics.body.find("\nstrata_raft_messages_invalid_total{reason=\"commit_out_of_range\"} 0\n") !=
          std::string::npos);
    CHECK(metrics.body.find("# TYPE strata_peer_inbound_connections gauge\n") != std::string::npos);
    CHECK(metrics.body.find("\nstrata_peer_limit_max_frame_bytes 0\n") != std::string::npos);
    CHECK(scan_keys(co_await call(router, Method::get, "/v1/kv")) == std::vector<std::string>{"a", "b", "c", "d", "e"});
    CHECK((co_await call(router, Method::get, "/v1/kv/c")).body == "vc");

    auto stopped = co_await node->stop();
    CHECK(stopped.has_value());
  }());
}
