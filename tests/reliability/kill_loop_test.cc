// Reliability: kill -9 loop against the real strata-server with writers in flight.
//
// Each round starts the server on the same data directory with `--sync always`, shrinks its
// memtable and compaction targets over /v1/config so that flushes, compactions and manifest
// writes happen every second or so, and runs 8 writer threads (each owning its own keys, so the
// last acknowledged value of a key is well defined). The round ends when the server dies:
//  - armed rounds: STRATA_KILL_POINT=NAME:N makes the server SIGKILL itself at a named point
//    (lib/util/kill_point.h); every name in kAllKillPoints gets a round and must be reached;
//  - random rounds: the test sends SIGKILL after a random delay.
// Then an unarmed server opens the directory and every key is read back:
//   acked_lost        a key with an acknowledged write is missing
//   older_than_acked  a key holds a value older than its last acknowledged write
//   wrong_value       a key holds a value never written to it
// The in-flight (unacknowledged) write of a key may or may not be there; both are correct.
// The verifying server is stopped with SIGTERM and must exit 0 (a clean shutdown).
// Summary line: `kills=N kill_points=M/M acked_lost=0 older_than_acked=0 wrong_value=0`.
// Env: STRATA_SERVER (the binary), STRATA_SEED (replay), STRATA_SOAK_SECONDS (run longer: more
// random rounds until the time is up).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "lib/util/kill_point.h"
#include "net/http/json_codec.h"
#include "tests/system/cluster_harness.h"

using namespace strata;
using namespace strata::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kWriters = 8;
constexpr int kKeysPerWriter = 40;

std::string server_binary() {
  const char* s = std::getenv("STRATA_SERVER");
  REQUIRE_MESSAGE(s != nullptr, "STRATA_SERVER must name the strata-server binary");
  return s;
}

struct Server {
  pid_t pid = -1;
  uint16_t port = 0;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

Server start(const std::string& binary, const std::string& dir, const std::string& log, const std::string& kill_point) {
  Server s;
  s.port = free_loopback_port();
  std::string listen = "127.0.0.1:" + std::to_string(s.port);
  s.pid = ::fork();
  if (s.pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    if (kill_point.empty()) {
      ::unsetenv("STRATA_KILL_POINT");
    } else {
      ::setenv("STRATA_KILL_POINT", kill_point.c_str(), 1);
    }
    ::execl(binary.c_str(), binary.c_str(), "--listen", listen.c_str(), "--data-dir", dir.c_str(), "--sync", "always",
            "--threads", "2", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return s;
}

// true when the server answers; false when it exited first (e.g. killed at a point in open()).
bool wait_ready(Server& s, Http& http) {
  for (int i = 0; i < 400; ++i) {
    int status = 0;
    if (::waitpid(s.pid, &status, WNOHANG) == s.pid) {
      s.pid = -1;
      return false;
    }
    if (http.call("GET", s.url() + "/v1/status", nullptr, 500).status == 200) return true;
    std::this_thread::sleep_for(25ms);
  }
  FAIL("strata-server did not become ready");
  return false;
}

// Waits for the process; true when SIGKILL ended it.
bool reap_killed(Server& s, std::chrono::milliseconds limit) {
  auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    int status = 0;
    pid_t r = ::waitpid(s.pid, &status, WNOHANG);
    if (r == s.pid) {
      s.pid = -1;
      return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

void set_small_tree(Http& http, const Server& s) {
  for (auto [name, value] :
       {std::pair{"memtable_size_bytes", "65536"}, std::pair{"target_file_size_bytes", "65536"},
        std::pair{"max_bytes_for_level_base", "262144"}, std::pair{"l0_compaction_trigger", "2"}}) {
    std::string body = std::string("{\"name\":\"") + name + "\",\"value\":\"" + value + "\"}";
    auto r = http.call("POST", s.url() + "/v1/config", &body, 2000);
    if (r.status == 0) return;  // already dead (an armed point fired)
    REQUIRE_MESSAGE(r.status == 200, "POST /v1/config " << name << ": " << r.status << " " << r.body);
  }
}

std::string key_name(int writer, int k) { return "w" + std::to_string(writer) + "/k" + std::to_string(k); }

// What the writers know: per key, every value attempted in order and how many were acknowledged.
struct KeyLog {
  std::vector<std::string> attempts;  // in order
  size_t acked = 0;                   // attempts[0..acked) were acknowledged
};

struct Totals {
  uint64_t kills = 0, acked_lost = 0, older_than_acked = 0, wrong_value = 0, writes_acked = 0, unclean_stops = 0;
};

// Runs writers until the server stops answering (or `stop` is set). Returns acked writes.
uint64_t run_writers(const Server& s, std::map<std::string, KeyLog>& logs, std::mutex& mu, std::atomic<bool>& stop,
                     uint64_t round, std::mt19937_64& seed_rng) {
  std::atomic<uint64_t> acked{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    uint64_t seed = seed_rng();
    threads.emplace_back([&, w, seed] {
      std::mt19937_64 rng(seed);
      Http http;
      uint64_t n = 0;
      while (!stop.load()) {
        int k = static_cast<int>(rng() % kKeysPerWriter);
        std::string key = key_name(w, k);
        std::string value = "r" + std::to_string(round) + ":w" + std::to_string(w) + ":" + std::to_string(n++) + ":" +
                            std::string(200 + rng() % 1500, static_cast<char>('a' + rng() % 26));
        {
          std::lock_guard l(mu);
          logs[key].attempts.push_back(value);
        }
        auto r = http.call("PUT", s.url() + "/v1/kv/" + net::http::percent_encode(key), &value, 3000);
        if (r.status == 200 || r.status == 201 || r.status == 204) {
          std::lock_guard l(mu);
          auto& log = logs[key];
          log.acked = log.attempts.size();  // this writer owns the key: its last attempt is this one
          acked.fetch_add(1);
        } else {
          stop.store(true);  // the server died (or refused): end the round
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return acked.load();
}

void verify(const Server& s, Http& http, std::map<std::string, KeyLog>& logs, Totals& totals) {
  for (auto& [key, log] : logs) {
    auto r = http.call("GET", s.url() + "/v1/kv/" + net::http::percent_encode(key), nullptr, 5000);
    REQUIRE_MESSAGE((r.status == 200 || r.status == 404), "GET " << key << ": " << r.status);
    if (r.status == 404) {
      if (log.acked > 0) ++totals.acked_lost;
      // Nothing acknowledged and nothing there: forget the attempts that did not land.
      log.attempts.resize(log.acked);
      continue;
    }
    auto it = std::find(log.attempts.begin(), log.attempts.end(), r.body);
    if (it == log.attempts.end()) {
      ++totals.wrong_value;
      continue;
    }
    size_t index = static_cast<size_t>(it - log.attempts.begin());
    if (log.acked > 0 && index + 1 < log.acked) ++totals.older_than_acked;
    // The value found is now the key's known state: later attempts never landed.
    log.attempts.resize(index + 1);
    log.acked = index + 1;
  }
}

bool stop_cleanly(Server& s) {
  ::kill(s.pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(s.pid, &status, WNOHANG) == s.pid) {
      s.pid = -1;
      return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    std::this_thread::sleep_for(10ms);
  }
  ::kill(s.pid, SIGKILL);
  ::waitpid(s.pid, &status, 0);
  s.pid = -1;
  return false;
}

}  // namespace

TEST_CASE("kill -9 loop: every kill point, random kills, no acknowledged write lost") {
  std::string binary = server_binary();
  uint64_t seed = std::getenv("STRATA_SEED") ? std::strtoull(std::getenv("STRATA_SEED"), nullptr, 10)
                                             : static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  uint64_t soak_seconds =
      std::getenv("STRATA_SOAK_SECONDS") ? std::strtoull(std::getenv("STRATA_SOAK_SECONDS"), nullptr, 10) : 0;
  std::printf("# seed=%" PRIu64 " (replay: STRATA_SEED=%" PRIu64 ")\n", seed, seed);
  std::mt19937_64 rng(seed);
  TempDir tmp;
  std::string dir = tmp.path() + "/db", log = tmp.path() + "/server.log";
  curl_global_init(CURL_GLOBAL_ALL);
  Http http;
  std::map<std::string, KeyLog> logs;
  std::mutex mu;
  Totals totals;
  std::set<std::string> points_reached;  // distinct kill points that fired
  uint64_t armed_rounds = 0, armed_not_reached = 0;
  auto deadline = Clock::now() + std::chrono::seconds(soak_seconds);

  // Armed rounds first (each point once), then random kills (6). A soak then goes on until its
  // end, alternating a random kill with the next kill point in turn.
  std::vector<std::string> rounds(kAllKillPoints.begin(), kAllKillPoints.end());
  for (int i = 0; i < 6; ++i) rounds.push_back("");
  for (uint64_t round = 0; round < rounds.size() || Clock::now() < deadline; ++round) {
    std::string point = round < rounds.size() ? rounds[round]
                        : round % 2 == 0      ? ""
                                              : std::string(kAllKillPoints[(round / 2) % kAllKillPoints.size()]);
    // Points on the write path fire quickly; flush/compaction ones after a few memtables.
    // A fresh manifest is written once per open, so that point can only fire on its first hit.
    long countdown = point.empty() ? 0 : point == "manifest.new_before_current" ? 1 : 1 + static_cast<long>(rng() % 3);
    std::string arm = point.empty() ? "" : point + ":" + std::to_string(countdown);
    Server s = start(binary, dir, log, arm);
    std::atomic<bool> stop{false};
    bool died_in_open = !wait_ready(s, http);
    if (!died_in_open) {
      set_small_tree(http, s);
      std::thread killer;
      if (point.empty()) {
        auto delay = std::chrono::milliseconds(300 + rng() % 1200);
        killer = std::thread([&, delay] {
          std::this_thread::sleep_for(delay);
          ::kill(s.pid, SIGKILL);
        });
      } else {
        // Bounded: an armed point that is not reached in time fails the round.
        killer = std::thread([&] {
          auto until = Clock::now() + 30s;
          while (!stop.load() && Clock::now() < until) std::this_thread::sleep_for(20ms);
          stop.store(true);
        });
      }
      totals.writes_acked += run_writers(s, logs, mu, stop, round, rng);
      stop.store(true);
      killer.join();
    }
    bool killed = died_in_open ? true : reap_killed(s, 10s);
    if (s.pid > 0) {
      ::kill(s.pid, SIGKILL);
      ::waitpid(s.pid, nullptr, 0);
    }
    CHECK_MESSAGE(killed, "round " << round << " (" << (point.empty() ? "random kill" : point)
                                   << "): the server did not die by SIGKILL");
    if (!point.empty()) {
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      bool reached = text.str().find("kill point " + point + " hit") != std::string::npos;
      if (!reached) std::printf("# kill point %s (hit %ld) was not reached\n", point.c_str(), countdown);
      CHECK_MESSAGE(reached, "kill point " << point << " was not reached");
      ++armed_rounds;
      if (reached)
        points_reached.insert(point);
      else
        ++armed_not_reached;
    }
    ++totals.kills;

    Server v = start(binary, dir, log, "");
    REQUIRE_MESSAGE(wait_ready(v, http), "the server did not reopen after round " << round);
    verify(v, http, logs, totals);
    if (!stop_cleanly(v)) ++totals.unclean_stops;
  }
  curl_global_cleanup();
  // The share of the named kill points that fired at least once in this run, rounded down.
  const size_t covered_percent = points_reached.size() * 100 / kAllKillPoints.size();
  std::printf("# kills=%" PRIu64 " points_covered=%zu%% kill_points=%zu/%zu armed_rounds=%" PRIu64
              " armed_not_reached=%" PRIu64 " acked_lost=%" PRIu64 " older_than_acked=%" PRIu64 " wrong_value=%" PRIu64
              " writes_acked=%" PRIu64 " unclean_sigterm_stops=%" PRIu64 " seed=%" PRIu64 "\n",
              totals.kills, covered_percent, points_reached.size(), kAllKillPoints.size(), armed_rounds,
              armed_not_reached, totals.acked_lost, totals.older_than_acked, totals.wrong_value, totals.writes_acked,
              totals.unclean_stops, seed);
  CHECK(points_reached.size() == kAllKillPoints.size());
  CHECK(armed_not_reached == 0);
  CHECK(totals.acked_lost == 0);
  CHECK(totals.older_than_acked == 0);
  CHECK(totals.wrong_value == 0);
  CHECK(totals.unclean_stops == 0);
  CHECK(totals.writes_acked > 1000);
}
