#include "tests/jepsen/nemesis.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "tests/jepsen/client.h"

namespace strata::jepsen {

using namespace std::chrono_literals;

std::string_view to_string(FaultKind k) {
  switch (k) {
    case FaultKind::kill: return "kill";
    case FaultKind::pause: return "pause";
    case FaultKind::partition: return "partition";
  }
  return "?";
}

namespace {

// Sleeps `d`, waking early when `stop` is set.
void sleep_unless(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  auto until = testing::Clock::now() + d;
  while (!stop.load() && testing::Clock::now() < until) {
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(until - testing::Clock::now(), 20ms));
  }
}

}  // namespace

Nemesis::Nemesis(testing::Cluster& cluster, uint64_t seed, NemesisOptions options)
    : cluster_(cluster), rng_(seed), options_(options), start_ns_(now_ns()) {
  http_.set_tls(cluster.tls_client());  // an https:// cluster's CA, if it has one
}

std::chrono::milliseconds Nemesis::between(std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
  auto span = static_cast<uint64_t>(std::max<int64_t>(1, (hi - lo).count() + 1));
  return lo + std::chrono::milliseconds(rng_() % span);
}

void Nemesis::note(std::string line) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "t+%.1fs ", static_cast<double>(now_ns() - start_ns_) / 1e9);
  std::lock_guard lock(journal_mu_);
  journal_.push_back(prefix + line);
}

std::vector<std::string> Nemesis::journal() const {
  std::lock_guard lock(journal_mu_);
  return journal_;
}

// The leader half of the time (when one is known), else a random node.
uint64_t Nemesis::pick_node() {
  std::vector<uint64_t> ids = cluster_.ids();
  uint64_t random_node = ids[rng_() % ids.size()];
  if (rng_() % 2 == 0) return random_node;
  for (uint64_t id : ids) {
    auto r = http_.call("GET", cluster_.url(id) + "/status", nullptr, 500);
    auto v = r.status == 200 ? r.json() : std::nullopt;
    if (!v || !v->is_object()) continue;
    const auto* leader = v->as_object().if_contains("leader");
    if (!leader || !leader->is_object()) continue;
    const auto* lid = leader->as_object().if_contains("id");
    boost::system::error_code ec;
    uint64_t l = lid ? lid->to_number<uint64_t>(ec) : 0;
    if (!ec && std::find(ids.begin(), ids.end(), l) != ids.end()) return l;
  }
  return random_node;
}

void Nemesis::run(const std::atomic<bool>& stop) {
  sleep_unless(options_.quiet_before_first_fault, stop);
  std::vector<FaultKind> round;
  while (!stop.load()) {
    if (round.empty()) {
      round = {FaultKind::kill, FaultKind::pause, FaultKind::partition};
      std::shuffle(round.begin(), round.end(), rng_);
    }
    FaultKind kind = round.back();
    round.pop_back();
    uint64_t id = pick_node();
    auto how_long = between(options_.min_fault, options_.max_fault);
    int64_t expected = 0;
    first_fault_ns_.compare_exchange_strong(expected, now_ns());
    bool injected = false;
    switch (kind) {
      case FaultKind::kill: injected = kill_and_restart(id, how_long, stop); break;
      case FaultKind::pause: injected = pause(id, how_long, stop); break;
      case FaultKind::partition: injected = partition(id, how_long, stop); break;
    }
    if (injected) {
      faults_.fetch_add(1);
      counts_[static_cast<size_t>(kind)].fetch_add(1);
    } else {
      injection_failures_.fetch_add(1);
    }
    sleep_unless(between(options_.min_gap, options_.max_gap), stop);
  }
}

bool Nemesis::wait_answering(uint64_t id) {
  return testing::eventually(
      [&] { return http_.call("GET", cluster_.url(id) + "/status", nullptr, 500).status == 200; }, 15000ms);
}

bool Nemesis::kill_and_restart(uint64_t id, std::chrono::milliseconds down, const std::atomic<bool>& stop) {
  note("kill -9 node " + std::to_string(id) + ", down " + std::to_string(down.count()) + " ms");
  bool was_alive = cluster_.alive(id);
  cluster_.kill9(id);
  sleep_unless(down, stop);
  cluster_.start(id);
  if (!wait_answering(id)) note("node " + std::to_string(id) + " did not answer after restart");
  return was_alive;
}

bool Nemesis::pause(uint64_t id, std::chrono::milliseconds how_long, const std::atomic<bool>& stop) {
  pid_t pid = cluster_.node(id).pid;
  note("SIGSTOP node " + std::to_string(id) + " for " + std::to_string(how_long.count()) + " ms");
  if (pid <= 0 || ::kill(pid, SIGSTOP) != 0) return false;
  sleep_unless(how_long, stop);
  ::kill(pid, SIGCONT);
  return true;
}

bool Nemesis::set_cut(uint64_t on, uint64_t to, bool cut) {
  std::string body = std::string("{\"to\":") + std::to_string(to) + ",\"cut\":" + (cut ? "true" : "false") + "}";
  return testing::eventually(
      [&] { return http_.call("POST", cluster_.url(on) + "/v1/debug/link-fault", &body, 1000).status == 200; },
      10000ms);
}

bool Nemesis::partition(uint64_t id, std::chrono::milliseconds how_long, const std::atomic<bool>& stop) {
  note("partition node " + std::to_string(id) + " from the others for " + std::to_string(how_long.count()) + " ms");
  bool injected = true;
  for (uint64_t other : cluster_.ids()) {
    if (other == id) continue;
    if (!set_cut(id, other, true) || !set_cut(other, id, true)) {
      note("cutting link " + std::to_string(id) + "<->" + std::to_string(other) + " failed");
      injected = false;
    }
  }
  sleep_unless(how_long, stop);
  for (uint64_t other : cluster_.ids()) {
    if (other == id) continue;
    if (!set_cut(id, other, false) || !set_cut(other, id, false)) {
      note("healing link " + std::to_string(id) + "<->" + std::to_string(other) + " failed");
    }
  }
  return injected;
}

bool Nemesis::heal_all() {
  bool ok = true;
  for (uint64_t id : cluster_.ids()) {
    if (cluster_.alive(id)) {
      ::kill(cluster_.node(id).pid, SIGCONT);
    } else {
      cluster_.start(id);
    }
  }
  for (uint64_t id : cluster_.ids()) ok = wait_answering(id) && ok;
  for (uint64_t a : cluster_.ids()) {
    for (uint64_t b : cluster_.ids()) {
      if (a != b) ok = set_cut(a, b, false) && ok;
    }
  }
  return ok;
}

}  // namespace strata::jepsen
