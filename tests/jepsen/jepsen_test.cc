// The Jepsen-style cluster test (issue 5; shared/RELIABILITY.md "cluster under faults"):
//
//  1. Three real strata-server processes on loopback (--enable-fault-hooks), a leader elected.
//  2. N clients (default 10) run get/put/delete with unique values over a few dozen keys against
//     random nodes with a 1 s client timeout, recording a history (history.h; outcome.h says how
//     an answer becomes ok/fail/unknown). Meanwhile the nemesis (nemesis.h) kills -9, pauses and
//     partitions nodes, one fault at a time, each healed before the next.
//  3. Heal everything, wait for a leader, let in-flight requests time out on the servers, then read
//     every key (linearizable reads, recorded in the history so the checker proves them).
//  4. Durability: kill -9 every node, restart, read every key again (also recorded); a key whose
//     value differs from the one read before the restart counts in acked_lost.
//  5. Check the whole history per key for linearizability (checker.h); a search that runs out of
//     budget ("unknown") is a failure.
// Fails when: no fault was injected, throughput before the first fault was below the minimum,
// the history is not proven linearizable, acked_lost > 0, or a key could not be read at the end.
// On failure the history (JSON lines), the nemesis journal and the node logs are kept in a
// directory whose path is printed. Prints one summary line:
//   # ops=N faults=N linearizable=true acked_lost=0 seed=S
//
// Environment: STRATA_SERVER (binary, required), STRATA_SOAK_SECONDS (workload seconds, default
// 60), STRATA_SEED (replays the choices of clients and nemesis), STRATA_JEPSEN_CLIENTS (10),
// STRATA_JEPSEN_KEYS (30), STRATA_JEPSEN_MIN_OPS_PER_S (100), STRATA_JEPSEN_KEEP=1 (keep the
// output directory on success), STRATA_JEPSEN_CHECK=PATH (only check a saved history),
// STRATA_JEPSEN_STALE_READS=1 (negative control: reads with ?consistency=stale; the run is then
// expected to FAIL, which shows that the checker and nemesis can catch stale reads).
#include <doctest/doctest.h>

#include <signal.h>

#include <cinttypes>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "tests/jepsen/checker.h"
#include "tests/jepsen/client.h"
#include "tests/jepsen/history.h"
#include "tests/jepsen/nemesis.h"
#include "tests/system/cluster_harness.h"

namespace strata::jepsen {
namespace {

using namespace std::chrono_literals;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string make_output_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/strata-jepsen-XXXXXX";
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

void print_problems(const CheckResult& r) {
  for (size_t i = 0; i < r.problems.size() && i < 10; ++i) {
    const KeyVerdict& k = r.problems[i];
    std::printf("# key %s: %s (%zu ops, %" PRIu64 " steps): %s\n", k.key.c_str(), std::string(to_string(k.verdict)).c_str(),
                k.ops, k.steps, k.detail.c_str());
  }
}

// Reads `key` (linearizable) from random nodes until a read succeeds or the deadline passes;
// every attempt is recorded. Returns the value read (nullopt = absent), or false when no read
// succeeded.
bool final_read(KvClient& kv, uint32_t client, const std::string& key, std::mt19937_64& rng, HistoryRecorder& history,
                std::optional<std::string>* value) {
  auto until = testing::Clock::now() + 20s;
  while (testing::Clock::now() < until) {
    Op op = kv.get(client, rng() % kv.nodes(), key);
    bool ok = op.outcome == Outcome::ok;
    *value = op.value;
    history.add(std::move(op));
    if (ok) return true;
    std::this_thread::sleep_for(50ms);  // retry interval while a leader settles
  }
  return false;
}

TEST_CASE("the link-fault debug endpoint exists only with --enable-fault-hooks and partitions a follower") {
  if (std::getenv("STRATA_JEPSEN_CHECK")) return;  // only checking a saved history
  const char* binary = std::getenv("STRATA_SERVER");
  REQUIRE_MESSAGE(binary != nullptr, "set STRATA_SERVER to the strata-server binary");
  testing::Http http;
  const std::string cut3 = R"({"to":3,"cut":true})";
  {
    testing::Cluster plain(binary, 3);
    plain.start_all();
    REQUIRE_MESSAGE(plain.wait_leader() != 0, plain.log_tail(1));
    auto r = http.call("POST", plain.url(1) + "/v1/debug/link-fault", &cut3);
    CHECK(r.status == 404);
    CHECK(r.body.find("route_not_found") != std::string::npos);
  }
  testing::Cluster c(binary, 3, {"--enable-fault-hooks", "--tick-ms", "25"});
  c.start_all();
  uint64_t leader = c.wait_leader();
  REQUIRE_MESSAGE(leader != 0, c.log_tail(1));
  uint64_t follower = leader == 3 ? 2 : 3;
  const std::string bad = R"({"to":"x"})";
  CHECK(http.call("POST", c.url(leader) + "/v1/debug/link-fault", &bad).status == 400);
  const std::string nobody = R"({"to":99,"cut":true})";
  CHECK(http.call("POST", c.url(leader) + "/v1/debug/link-fault", &nobody).status == 404);
  const std::string self = "{\"to\":" + std::to_string(leader) + ",\"cut\":true}";
  CHECK(http.call("POST", c.url(leader) + "/v1/debug/link-fault", &self).status == 404);
  // Isolate the follower: every link into and out of it is cut.
  for (uint64_t other : c.ids()) {
    if (other == follower) continue;
    std::string to_other = "{\"to\":" + std::to_string(other) + ",\"cut\":true}";
    std::string to_follower = "{\"to\":" + std::to_string(follower) + ",\"cut\":true}";
    REQUIRE(http.call("POST", c.url(follower) + "/v1/debug/link-fault", &to_other).status == 200);
    REQUIRE(http.call("POST", c.url(other) + "/v1/debug/link-fault", &to_follower).status == 200);
  }
  // The majority side commits; the isolated follower does not learn the write.
  REQUIRE(c.put(leader, "partitioned", "v1").status == 200);
  std::this_thread::sleep_for(500ms);  // long enough for a heartbeat to have carried it
  CHECK(c.get(follower, "partitioned", true).status == 404);
  auto stats = http.call("GET", c.url(leader) + "/v1/debug/link-fault");
  CHECK(stats.status == 200);
  CHECK(stats.body.find("\"dropped\"") != std::string::npos);
  // Heal: {"to": N} with no fault fields clears the link.
  for (uint64_t a : c.ids()) {
    for (uint64_t b : c.ids()) {
      if (a == b) continue;
      std::string heal = "{\"to\":" + std::to_string(b) + "}";
      REQUIRE(http.call("POST", c.url(a) + "/v1/debug/link-fault", &heal).status == 200);
    }
  }
  CHECK(testing::eventually([&] { return c.get(follower, "partitioned", true).body == "v1"; }, 15000ms));
}

TEST_CASE("jepsen: get/put/delete over a 3-node cluster under kill -9, SIGSTOP and partitions is linearizable") {
  CheckOptions check_options;
  if (const char* replay = std::getenv("STRATA_JEPSEN_CHECK")) {
    auto h = read_history(replay);
    REQUIRE(h.has_value());
    CheckResult r = check_history(*h, check_options);
    print_problems(r);
    std::printf("# checked %s: ops=%zu keys=%zu linearizable=%s\n", replay, h->size(), r.keys,
                r.verdict == Verdict::linearizable ? "true" : "false");
    CHECK(r.verdict == Verdict::linearizable);
    return;
  }
  const char* binary = std::getenv("STRATA_SERVER");
  REQUIRE_MESSAGE(binary != nullptr, "set STRATA_SERVER to the strata-server binary");
  const uint64_t seed = env_u64("STRATA_SEED", std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32));
  const uint64_t seconds = env_u64("STRATA_SOAK_SECONDS", 60);
  const uint32_t clients = static_cast<uint32_t>(env_u64("STRATA_JEPSEN_CLIENTS", 10));
  const double min_ops_per_s = static_cast<double>(env_u64("STRATA_JEPSEN_MIN_OPS_PER_S", 100));
  WorkloadOptions workload;
  workload.keys = static_cast<int>(env_u64("STRATA_JEPSEN_KEYS", 30));
  workload.stale_reads = env_u64("STRATA_JEPSEN_STALE_READS", 0) != 0;
  if (workload.stale_reads) std::printf("# negative control: clients read with ?consistency=stale; expect a failure\n");
  std::printf("# jepsen: seed=%" PRIu64 " seconds=%" PRIu64 " clients=%u keys=%d (replay: STRATA_SEED=%" PRIu64 ")\n",
              seed, seconds, clients, workload.keys, seed);
  std::fflush(stdout);
  REQUIRE(clients >= 8);

  const std::string out_dir = make_output_dir();
  HistoryRecorder history;
  testing::Cluster cluster(binary, 3,
                           {"--enable-fault-hooks", "--tick-ms", "25", "--request-timeout-ms", "1000",
                            "--snapshot-threshold", "2000", "--snapshot-trailing", "500"});
  cluster.start_all();
  REQUIRE_MESSAGE(cluster.wait_leader() != 0, cluster.log_tail(1));
  std::vector<std::string> urls;
  for (uint64_t id : cluster.ids()) urls.push_back(cluster.url(id));

  // The run: clients and nemesis until the deadline.
  std::atomic<bool> stop{false};
  Nemesis nemesis(cluster, seed, NemesisOptions{});
  const int64_t start_ns = now_ns();
  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] { run_client(c, seed + 1 + c, urls, workload, history, stop); });
  }
  std::thread nemesis_thread([&] { nemesis.run(stop); });
  std::this_thread::sleep_for(std::chrono::seconds(seconds));  // the workload's duration
  stop.store(true);
  nemesis_thread.join();
  for (auto& t : threads) t.join();
  const int64_t end_ns = now_ns();

  // Heal, let requests still queued on the servers resolve (their --request-timeout-ms is 1 s;
  // there is no condition to wait on from outside), then read every key.
  bool healed = nemesis.heal_all();
  uint64_t leader = cluster.wait_leader();
  std::this_thread::sleep_for(1500ms);
  KvClient kv(urls, 2000);
  std::mt19937_64 rng(seed);
  const uint32_t checker_client = clients;  // the final reads' client id
  std::map<std::string, std::optional<std::string>> before;
  size_t unreadable = 0;
  for (int i = 0; i < workload.keys; ++i) {
    std::optional<std::string> v;
    if (final_read(kv, checker_client, key_name(i), rng, history, &v)) {
      before[key_name(i)] = v;
    } else {
      ++unreadable;
    }
  }

  // Durability: kill -9 every node, restart, read every key again.
  for (uint64_t id : cluster.ids()) cluster.kill9(id);
  for (uint64_t id : cluster.ids()) cluster.start(id);
  uint64_t leader_after = cluster.wait_leader();
  size_t acked_lost = 0;
  for (int i = 0; i < workload.keys; ++i) {
    std::optional<std::string> v;
    if (!final_read(kv, checker_client + 1, key_name(i), rng, history, &v)) {
      ++unreadable;
      continue;
    }
    auto it = before.find(key_name(i));
    if (it != before.end() && it->second != v) {
      if (acked_lost < 5) {
        std::printf("# lost after restart: %s was '%s', now '%s'\n", key_name(i).c_str(),
                    it->second.value_or("<absent>").c_str(), v.value_or("<absent>").c_str());
      }
      ++acked_lost;
    }
  }

  // The figures.
  std::vector<Op> ops = history.take();
  size_t ok = 0, failed = 0, unknown = 0, ok_before_fault = 0;
  const int64_t first_fault = nemesis.first_fault_ns();
  for (const Op& op : ops) {
    if (op.outcome == Outcome::ok) ++ok;
    if (op.outcome == Outcome::fail) ++failed;
    if (op.outcome == Outcome::unknown) ++unknown;
    if (op.outcome == Outcome::ok && first_fault != 0 && op.complete_ns < first_fault) ++ok_before_fault;
  }
  const double quiet_s = first_fault != 0 ? static_cast<double>(first_fault - start_ns) / 1e9 : 0;
  const double ops_per_s_before_fault = quiet_s > 0 ? static_cast<double>(ok_before_fault) / quiet_s : 0;
  auto check_start = testing::Clock::now();
  CheckResult check = check_history(ops, check_options);
  double check_s = std::chrono::duration<double>(testing::Clock::now() - check_start).count();
  const bool linearizable = check.verdict == Verdict::linearizable;

  std::printf("# run %.1f s: ok=%zu fail=%zu unknown=%zu; %.0f ok ops/s before the first fault; faults: kill=%" PRIu64
              " pause=%" PRIu64 " partition=%" PRIu64 " (injection failures %" PRIu64 "); checked %zu keys, %zu ops, %" PRIu64
              " search steps in %.2f s; verdict %s\n",
              static_cast<double>(end_ns - start_ns) / 1e9, ok, failed, unknown, ops_per_s_before_fault,
              nemesis.count(FaultKind::kill), nemesis.count(FaultKind::pause), nemesis.count(FaultKind::partition),
              nemesis.injection_failures(), check.keys, check.ops_checked, check.steps, check_s,
              std::string(to_string(check.verdict)).c_str());
  std::printf("# ops=%zu faults=%" PRIu64 " linearizable=%s acked_lost=%zu seed=%" PRIu64 "\n", ops.size(),
              nemesis.faults(), linearizable ? "true" : "false", acked_lost, seed);
  print_problems(check);

  const bool pass = healed && leader != 0 && leader_after != 0 && nemesis.faults() > 0 &&
                    ops_per_s_before_fault >= min_ops_per_s && linearizable && acked_lost == 0 && unreadable == 0;
  if (!pass || std::getenv("STRATA_JEPSEN_KEEP")) {
    auto written = write_history(out_dir + "/history.jsonl", ops);
    std::ofstream journal(out_dir + "/nemesis.log");
    for (const std::string& line : nemesis.journal()) journal << line << "\n";
    for (uint64_t id : cluster.ids()) {
      std::error_code ec;
      std::filesystem::copy_file(cluster.node(id).log, out_dir + "/node" + std::to_string(id) + ".log",
                                 std::filesystem::copy_options::overwrite_existing, ec);
    }
    std::printf("# history: %s/history.jsonl%s (re-check: STRATA_JEPSEN_CHECK=%s/history.jsonl); node logs and "
                "nemesis.log beside it\n",
                out_dir.c_str(), written ? "" : " (WRITE FAILED)", out_dir.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(out_dir, ec);
  }
  CHECK_MESSAGE(healed, "a node did not come back after healing");
  CHECK_MESSAGE(leader != 0, "no leader after healing");
  CHECK_MESSAGE(leader_after != 0, "no leader after restarting every node");
  CHECK_MESSAGE(nemesis.faults() > 0, "no fault was injected: the run proves nothing");
  CHECK_MESSAGE(ops_per_s_before_fault >= min_ops_per_s, "throughput before the first fault ", ops_per_s_before_fault,
                " ops/s is below the minimum ", min_ops_per_s);
  CHECK_MESSAGE(linearizable, "the history is not proven linearizable (verdict ", std::string(to_string(check.verdict)), ")");
  CHECK(acked_lost == 0);
  CHECK(unreadable == 0);
}

}  // namespace
}  // namespace strata::jepsen
