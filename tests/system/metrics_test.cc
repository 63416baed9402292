// GET /metrics as an operator's Prometheus sees it (issue 16), through real strata-server
// processes: the whole exposition passes `promtool check metrics` (Debian's prometheus package),
// and the latency histograms, Raft gauges, build and process families move with real traffic; a
// cluster logs its elections and leader changes at info.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "tests/system/cluster_harness.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

// `promtool check metrics` over `text`: its exit status, and what it printed in *output.
int promtool_check(const std::string& dir, const std::string& text, std::string* output) {
  std::string in = dir + "/metrics.txt", out = dir + "/promtool.out";
  std::ofstream(in) << text;
  int st = std::system(("promtool check metrics < " + in + " > " + out + " 2>&1").c_str());
  *output = read_file(out);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// The value of one sample, labels included in `series` (e.g. `x_count{op="put"}`); -1 if absent.
double sample(const std::string& metrics, const std::string& series) {
  size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size() + 2));
}

TEST_CASE("a single node's /metrics passes promtool; request and fdatasync histograms count real traffic") {
  TempDir dir;
  uint16_t port = free_loopback_port();
  std::string log = dir.path() + "/server.log";
  pid_t pid = spawn_process({env_binary("STRATA_SERVER"), "--listen", "127.0.0.1:" + std::to_string(port), "--data-dir",
                             dir.path() + "/data", "--sync", "always"},
                            log);
  REQUIRE(eventually([&] { return read_file(log).find("strata-server listening on") != std::string::npos; }, 20000ms));
  Http http;
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  for (int i = 0; i < 20; ++i) {
    std::string v = "value" + std::to_string(i);
    REQUIRE(http.call("PUT", url + "/v1/kv/key" + std::to_string(i), &v).status == 200);
    REQUIRE(http.call("GET", url + "/v1/kv/key" + std::to_string(i)).status == 200);
  }
  REQUIRE(http.call("DELETE", url + "/v1/kv/key0").status == 200);
  std::string metrics = http.call("GET", url + "/metrics").body;
  std::string lint;
  CHECK_MESSAGE(promtool_check(dir.path(), metrics, &lint) == 0, lint);
  CHECK(sample(metrics, "strata_http_request_duration_seconds_count{op=\"put\"}") == 20);
  CHECK(sample(metrics, "strata_http_request_duration_seconds_count{op=\"get\"}") == 20);
  CHECK(sample(metrics, "strata_http_request_duration_seconds_count{op=\"delete\"}") == 1);
  CHECK(sample(metrics, "strata_http_request_duration_seconds_bucket{op=\"put\",le=\"+Inf\"}") == 20);
  CHECK(sample(metrics, "strata_http_request_duration_seconds_sum{op=\"put\"}") > 0);
  // --sync always: every write's group commit synced the WAL.
  CHECK(sample(metrics, "strata_wal_sync_duration_seconds_count") >= 21);
  CHECK(sample(metrics, "strata_build_info{version=\"0.1.0\"}") == 1);
  CHECK(sample(metrics, "process_resident_memory_bytes") > 1e6);
  CHECK(sample(metrics, "process_open_fds") > 3);
  CHECK(sample(metrics, "process_start_time_seconds") > 1.7e9);
  CHECK(sample(metrics, "strata_raft_term") == -1);  // no Raft on a single node
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
}

TEST_CASE(
    "a cluster node's /metrics passes promtool; Raft gauges, proposal and persist histograms, and election logs") {
  Cluster c(env_binary("STRATA_SERVER"), 3);
  c.start_all();
  uint64_t leader = c.wait_leader();
  REQUIRE_MESSAGE(leader != 0, c.log_tail(1));
  for (int i = 0; i < 20; ++i) REQUIRE(c.put(leader, "k" + std::to_string(i), "v").status == 200);
  std::string metrics = c.call("GET", c.url(leader) + "/metrics").body;
  std::string lint;
  CHECK_MESSAGE(promtool_check(c.dir(), metrics, &lint) == 0, lint);
  CHECK(sample(metrics, "strata_raft_is_leader") == 1);
  CHECK(sample(metrics, "strata_raft_has_leader") == 1);
  CHECK(sample(metrics, "strata_raft_term") >= 1);
  CHECK(sample(metrics, "strata_raft_commit_index") >= 20);
  CHECK(sample(metrics, "strata_raft_applied_index") >= 20);
  CHECK(sample(metrics, "strata_raft_proposal_duration_seconds_count") >= 20);
  CHECK(sample(metrics, "strata_raft_log_persist_duration_seconds_count") >= 1);
  CHECK(sample(metrics, "strata_http_request_duration_seconds_count{op=\"put\"}") == 20);
  uint64_t term = static_cast<uint64_t>(sample(metrics, "strata_raft_term"));
  CHECK(c.log_tail(leader).find("won the election for term " + std::to_string(term)) != std::string::npos);
  for (uint64_t id : c.ids()) {
    if (id == leader) continue;
    std::string m = c.call("GET", c.url(id) + "/metrics").body;
    CHECK(sample(m, "strata_raft_is_leader") == 0);
    CHECK(sample(m, "strata_raft_leader_changes_total") >= 1);
    CHECK(eventually(
        [&] { return sample(c.call("GET", c.url(id) + "/metrics").body, "strata_raft_applied_index") >= 20; },
        10000ms));
    CHECK(c.log_tail(id).find("the leader is node " + std::to_string(leader)) != std::string::npos);
  }
  // A new election after the leader dies: logged by the new leader, counted by the survivors.
  c.kill9(leader);
  uint64_t next = c.wait_leader();
  REQUIRE(next != 0);
  CHECK(c.log_tail(next).find("won the election") != std::string::npos);
  CHECK(sample(c.call("GET", c.url(next) + "/metrics").body, "strata_raft_leader_changes_total") >= 2);
}

}  // namespace
}  // namespace strata::testing
