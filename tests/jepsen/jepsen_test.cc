// The Jepsen-style cluster test (issue 5; shared/RELIABILITY.md "cluster under faults"):
//
//  1. Three real strata-server processes on loopback (--enable-fault-hooks), a leader elected;
//     their client ports serve HTTPS with a certificate from a CA made for the run, which the
//     clients verify, and their peer ports speak mutual TLS with a certificate per member (issue
//     18: TLS under kill -9, SIGSTOP and partitions; STRATA_JEPSEN_TLS=0: plain HTTP and TCP).
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
//   # ops=N faults=N linearizable=true acked_lost=0 tls=on seed=S
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
#include "tests/system/test_pki.h"
#include "tests/test_util.h"

namespace strata::jepsen {
namespace {

using namespace std::chrono_literals;
using strata::testing::env_u64;

std::string make_output_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/strata-jepsen-XXXXXX";
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

void print_problems(const CheckResult& r) {
  for (size_t i = 0; i < r.problems.size() && i < 10; ++i) {
    const KeyVerdict& k = r.problems[i];
    std::printf("# key %s: %s (%zu ops, %" PRIu64 " steps): %s\n", k.key.c_str(),
                std::string(to_string(k.verdict)).c_str(), k.ops, k.steps, k.detail.c_str());
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

struct RunConfig {
  std::string binary;
  uint64_t seed = 0;
  uint64_t seconds = 60;
  uint32_t clients = 10;
  double min_ops_per_s = 100;
  WorkloadOptions workload;
  // The client port over TLS (every node with a certificate from a test CA; clients verify it).
  bool tls = true;
};

RunConfig config_from_env() {
  RunConfig cfg;
  const char* binary = std::getenv("STRATA_SERVER");
  REQUIRE_MESSAGE(binary != nullptr, "set STRATA_SERVER to the strata-server binary");
  cfg.binary = binary;
  cfg.seed = env_u64("STRATA_SEED", std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32));
  cfg.seconds = env_u64("STRATA_SOAK_SECONDS", 60);
  cfg.clients = static_cast<uint32_t>(env_u64("STRATA_JEPSEN_CLIENTS", 10));
  cfg.min_ops_per_s = static_cast<double>(env_u64("STRATA_JEPSEN_MIN_OPS_PER_S", 100));
  cfg.workload.keys = static_cast<int>(env_u64("STRATA_JEPSEN_KEYS", 30));
  cfg.workload.stale_reads = env_u64("STRATA_JEPSEN_STALE_READS", 0) != 0;
  cfg.tls = env_u64("STRATA_JEPSEN_TLS", 1) != 0;
  if (cfg.workload.stale_reads)
    std::printf("# negative control: clients read with ?consistency=stale; expect a failure\n");
  std::printf("# jepsen: seed=%" PRIu64 " seconds=%" PRIu64 " clients=%u keys=%d tls=%s (replay: STRATA_SEED=%" PRIu64
              ", STRATA_JEPSEN_TLS=0 for plain HTTP)\n",
              cfg.seed, cfg.seconds, cfg.clients, cfg.workload.keys, cfg.tls ? "on" : "off", cfg.seed);
  std::fflush(stdout);
  REQUIRE(cfg.clients >= 8);
  REQUIRE(cfg.workload.keys > 0);
  return cfg;
}

// Clients and nemesis for cfg.seconds; returns when every thread has ended (the nemesis healed
// its last fault). Returns the workload's [start, end) in now_ns().
std::pair<int64_t, int64_t> run_workload(const RunConfig& cfg, const std::vector<std::string>& urls, Nemesis& nemesis,
                                         HistoryRecorder& history) {
  std::atomic<bool> stop{false};
  const int64_t start_ns = now_ns();
  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < cfg.clients; ++c) {
    threads.emplace_back([&, c] { run_client(c, cfg.seed + 1 + c, urls, cfg.workload, history, stop); });
  }
  std::thread nemesis_thread([&] { nemesis.run(stop); });
  std::this_thread::sleep_for(std::chrono::seconds(cfg.seconds));  // the workload's duration
  stop.store(true);
  nemesis_thread.join();
  for (auto& t : threads) t.join();
  return {start_ns, now_ns()};
}

// Reads every key (recorded in `history`) into *values; returns how many keys could not be read.
size_t read_every_key(KvClient& kv, uint32_t client, int keys, std::mt19937_64& rng, HistoryRecorder& history,
                      std::map<std::string, std::optional<std::string>>* values) {
  size_t unreadable = 0;
  for (int i = 0; i < keys; ++i) {
    std::optional<std::string> v;
    if (final_read(kv, client, key_name(i), rng, history, &v)) {
      (*values)[key_name(i)] = v;
    } else {
      ++unreadable;
    }
  }
  return unreadable;
}

// Keys read both times whose values differ (printing the first few).
size_t changed_keys(const std::map<std::string, std::optional<std::string>>& before,
                    const std::map<std::string, std::optional<std::string>>& after) {
  size_t changed = 0;
  for (const auto& [key, v] : after) {
    auto it = before.find(key);
    if (it == before.end() || it->second == v) continue;
    if (changed++ < 5) {
      std::printf("# changed across the restart: %s was '%s', now '%s'\n", key.c_str(),
                  it->second.value_or("<absent>").c_str(), v.value_or("<absent>").c_str());
    }
  }
  return changed;
}

struct Figures {
  size_t ok = 0;
  size_t failed = 0;
  size_t unknown = 0;
  double ops_per_s_before_fault = 0;  // ok operations completed before the first fault, per second
};

Figures figures_of(const std::vector<Op>& ops, int64_t start_ns, int64_t first_fault_ns) {
  Figures f;
  size_t ok_before_fault = 0;
  for (const Op& op : ops) {
    if (op.outcome == Outcome::ok) ++f.ok;
    if (op.outcome == Outcome::fail) ++f.failed;
    if (op.outcome == Outcome::unknown) ++f.unknown;
    if (op.outcome == Outcome::ok && first_fault_ns != 0 && op.complete_ns < first_fault_ns) ++ok_before_fault;
  }
  const double quiet_s = first_fault_ns != 0 ? static_cast<double>(first_fault_ns - start_ns) / 1e9 : 0;
  f.ops_per_s_before_fault = quiet_s > 0 ? static_cast<double>(ok_before_fault) / quiet_s : 0;
  return f;
}

// Writes the history, the nemesis journal and the node logs to `dir` and prints where.
void keep_evidence(const std::string& dir, const std::vector<Op>& ops, const Nemesis& nemesis,
                   testing::Cluster& cluster) {
  auto written = write_history(dir + "/history.jsonl", ops);
  std::ofstream journal(dir + "/nemesis.log");
  for (const std::string& line : nemesis.journal()) journal << line << "\n";
  for (uint64_t id : cluster.ids()) {
    std::error_code ec;
    std::filesystem::copy_file(cluster.node(id).log, dir + "/node" + std::to_string(id) + ".log",
                               std::filesystem::copy_options::overwrite_existing, ec);
  }
  std::printf(
      "# history: %s/history.jsonl%s (re-check: STRATA_JEPSEN_CHECK=%s/history.jsonl); node logs and "
      "nemesis.log beside it\n",
      dir.c_str(), written ? "" : " (WRITE FAILED)", dir.c_str());
}

TEST_CASE("jepsen: get/put/delete over a 3-node cluster under kill -9, SIGSTOP and partitions is linearizable") {
  if (const char* replay = std::getenv("STRATA_JEPSEN_CHECK")) {
    auto h = read_history(replay);
    REQUIRE(h.has_value());
    CheckResult r = check_history(*h);
    print_problems(r);
    std::printf("# checked %s: ops=%zu keys=%zu linearizable=%s\n", replay, h->size(), r.keys,
                r.verdict == Verdict::linearizable ? "true" : "false");
    CHECK(r.verdict == Verdict::linearizable);
    return;
  }
  RunConfig cfg = config_from_env();
  HistoryRecorder history;
  testing::Cluster cluster(cfg.binary, 3,
                           {"--enable-fault-hooks", "--tick-ms", "25", "--request-timeout-ms", "1000",
                            "--snapshot-threshold", "2000", "--snapshot-trailing", "500"});
  testing::Pki pki(cluster.dir());
  if (cfg.tls) {
    pki.make_ca("ca");
    pki.make_cert("node", "ca", /*server=*/true);
    cluster.use_tls(pki.pem("ca"), pki.pem("node"), pki.key("node"));
    // The peer port too: mutual TLS, each member with a certificate that names its node id.
    for (uint64_t id : cluster.ids()) pki.make_node_cert("peer" + std::to_string(id), "ca", id);
    cluster.use_peer_tls(pki.pem("ca"), [&pki](uint64_t id) {
      return std::pair{pki.pem("peer" + std::to_string(id)), pki.key("peer" + std::to_string(id))};
    });
    cfg.workload.ca_file = pki.pem("ca");
  }
  cluster.start_all();
  REQUIRE_MESSAGE(cluster.wait_leader() != 0, cluster.log_tail(1));
  std::vector<std::string> urls;
  for (uint64_t id : cluster.ids()) urls.push_back(cluster.url(id));

  Nemesis nemesis(cluster, cfg.seed, NemesisOptions{});
  auto [start_ns, end_ns] = run_workload(cfg, urls, nemesis, history);

  // Heal, let requests still queued on the servers resolve (their --request-timeout-ms is 1 s;
  // there is no condition to wait on from outside), then read every key.
  const bool healed = nemesis.heal_all();
  const uint64_t leader = cluster.wait_leader();
  std::this_thread::sleep_for(1500ms);
  KvClient kv(urls, 2000, /*stale_reads=*/false, cfg.workload.ca_file);
  std::mt19937_64 rng(cfg.seed);
  std::map<std::string, std::optional<std::string>> before;
  std::map<std::string, std::optional<std::string>> after;
  size_t unreadable = read_every_key(kv, cfg.clients, cfg.workload.keys, rng, history, &before);
  // Durability: kill -9 every node, restart, read every key again.
  for (uint64_t id : cluster.ids()) cluster.kill9(id);
  for (uint64_t id : cluster.ids()) cluster.start(id);
  const uint64_t leader_after = cluster.wait_leader();
  unreadable += read_every_key(kv, cfg.clients + 1, cfg.workload.keys, rng, history, &after);
  const size_t acked_lost = changed_keys(before, after);

  std::vector<Op> ops = history.take();
  const Figures f = figures_of(ops, start_ns, nemesis.first_fault_ns());
  auto check_start = testing::Clock::now();
  const CheckResult check = check_history(ops);
  const double check_s = std::chrono::duration<double>(testing::Clock::now() - check_start).count();
  const bool linearizable = check.verdict == Verdict::linearizable;
  std::printf("# run %.1f s: ok=%zu fail=%zu unknown=%zu; %.0f ok ops/s before the first fault; faults: kill=%" PRIu64
              " pause=%" PRIu64 " partition=%" PRIu64 " (injection failures %" PRIu64
              "); checked %zu keys, %zu ops, %" PRIu64 " search steps in %.2f s; verdict %s\n",
              static_cast<double>(end_ns - start_ns) / 1e9, f.ok, f.failed, f.unknown, f.ops_per_s_before_fault,
              nemesis.count(FaultKind::kill), nemesis.count(FaultKind::pause), nemesis.count(FaultKind::partition),
              nemesis.injection_failures(), check.keys, check.ops_checked, check.steps, check_s,
              std::string(to_string(check.verdict)).c_str());
  std::printf("# ops=%zu faults=%" PRIu64 " linearizable=%s acked_lost=%zu tls=%s seed=%" PRIu64 "\n", ops.size(),
              nemesis.faults(), linearizable ? "true" : "false", acked_lost, cfg.tls ? "on" : "off", cfg.seed);
  print_problems(check);

  const bool pass = healed && leader != 0 && leader_after != 0 && nemesis.faults() > 0 &&
                    f.ops_per_s_before_fault >= cfg.min_ops_per_s && linearizable && acked_lost == 0 && unreadable == 0;
  const std::string out_dir = make_output_dir();
  if (!pass || std::getenv("STRATA_JEPSEN_KEEP")) {
    keep_evidence(out_dir, ops, nemesis, cluster);
  } else {
    std::error_code ec;
    std::filesystem::remove_all(out_dir, ec);
  }
  CHECK_MESSAGE(healed, "a node did not come back after healing");
  CHECK_MESSAGE(leader != 0, "no leader after healing");
  CHECK_MESSAGE(leader_after != 0, "no leader after restarting every node");
  CHECK_MESSAGE(nemesis.faults() > 0, "no fault was injected: the run proves nothing");
  CHECK_MESSAGE(f.ops_per_s_before_fault >= cfg.min_ops_per_s, "throughput before the first fault ",
                f.ops_per_s_before_fault, " ops/s is below the minimum ", cfg.min_ops_per_s);
  CHECK_MESSAGE(linearizable, "the history is not proven linearizable (verdict ", std::string(to_string(check.verdict)),
                ")");
  CHECK(acked_lost == 0);
  CHECK(unreadable == 0);
}

}  // namespace
}  // namespace strata::jepsen
