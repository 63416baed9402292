// The per-key linearizability checker (tests/jepsen/checker.h) and the history's JSON lines:
// hand-written classic histories, unknown outcomes both ways, the search budget, and random
// small histories cross-checked against a brute-force enumeration of linearizations.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>

#include "tests/jepsen/checker.h"
#include "tests/jepsen/history.h"
#include "tests/jepsen/outcome.h"
#include "tests/test_util.h"

namespace strata::jepsen {
namespace {

Op put(std::string key, std::string v, int64_t t0, int64_t t1, Outcome o = Outcome::ok, uint32_t client = 0) {
  return Op{0, client, OpKind::put, std::move(key), std::move(v), o, t0, t1};
}
Op get(std::string key, std::optional<std::string> v, int64_t t0, int64_t t1, Outcome o = Outcome::ok) {
  return Op{0, 1, OpKind::get, std::move(key), std::move(v), o, t0, t1};
}
Op del(std::string key, int64_t t0, int64_t t1, Outcome o = Outcome::ok) {
  return Op{0, 2, OpKind::del, std::move(key), std::nullopt, o, t0, t1};
}

Verdict verdict_of(std::vector<Op> h, CheckOptions opt = {}) {
  for (size_t i = 0; i < h.size(); ++i) h[i].id = i;
  return check_history(h, opt).verdict;
}

TEST_CASE("an empty history and a sequential put-get-delete-get history are linearizable") {
  CHECK(verdict_of({}) == Verdict::linearizable);
  CHECK(verdict_of({put("k", "a", 0, 1), get("k", "a", 2, 3), del("k", 4, 5), get("k", std::nullopt, 6, 7)}) ==
        Verdict::linearizable);
}

TEST_CASE("a read concurrent with a put may see the old or the new value") {
  CHECK(verdict_of({put("k", "a", 0, 1), put("k", "b", 2, 10), get("k", "a", 3, 4)}) == Verdict::linearizable);
  CHECK(verdict_of({put("k", "a", 0, 1), put("k", "b", 2, 10), get("k", "b", 3, 4)}) == Verdict::linearizable);
  // Two reads inside the put's interval: old then new is fine, new then old is not.
  CHECK(verdict_of({put("k", "a", 0, 1), put("k", "b", 2, 10), get("k", "a", 3, 4), get("k", "b", 5, 6)}) ==
        Verdict::linearizable);
  CHECK(verdict_of({put("k", "a", 0, 1), put("k", "b", 2, 10), get("k", "b", 3, 4), get("k", "a", 5, 6)}) ==
        Verdict::not_linearizable);
}

TEST_CASE("a stale read after an acknowledged write is not linearizable") {
  auto r = check_history({put("k", "a", 0, 1), put("k", "b", 2, 3), get("k", "a", 4, 5)});
  CHECK(r.verdict == Verdict::not_linearizable);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].key == "k");
  CHECK(r.problems[0].detail.find("could not take effect") != std::string::npos);
}

TEST_CASE("a read of a value that no put wrote is not linearizable") {
  CHECK(verdict_of({put("k", "a", 0, 1), get("k", "zzz", 2, 3)}) == Verdict::not_linearizable);
  CHECK(verdict_of({get("k", "zzz", 0, 3)}) == Verdict::not_linearizable);
}

TEST_CASE("a lost delete (the old value read after the delete was acknowledged) is not linearizable") {
  CHECK(verdict_of({put("k", "a", 0, 1), del("k", 2, 3), get("k", "a", 4, 5)}) == Verdict::not_linearizable);
  CHECK(verdict_of({put("k", "a", 0, 1), del("k", 2, 3), get("k", std::nullopt, 4, 5)}) == Verdict::linearizable);
}

TEST_CASE("a read of absent after an acknowledged put is not linearizable; before it, it is") {
  CHECK(verdict_of({get("k", std::nullopt, 0, 1), put("k", "a", 2, 3)}) == Verdict::linearizable);
  CHECK(verdict_of({put("k", "a", 0, 1), get("k", std::nullopt, 2, 3)}) == Verdict::not_linearizable);
}

TEST_CASE("an unknown put may have taken effect at any later time") {
  // Seen later: it took effect.
  CHECK(verdict_of({put("k", "a", 0, 1, Outcome::unknown), get("k", "a", 50, 51)}) == Verdict::linearizable);
  // Never seen: it did not take effect (or not yet).
  CHECK(verdict_of({put("k", "a", 0, 1, Outcome::unknown), get("k", std::nullopt, 50, 51)}) == Verdict::linearizable);
  // Taking effect long after the client gave up is allowed.
  CHECK(verdict_of({put("k", "a", 0, 1, Outcome::unknown), get("k", std::nullopt, 20, 21), get("k", "a", 50, 51)}) ==
        Verdict::linearizable);
  // But once seen it cannot be unseen.
  CHECK(verdict_of({put("k", "a", 0, 1, Outcome::unknown), get("k", "a", 20, 21), get("k", std::nullopt, 50, 51)}) ==
        Verdict::not_linearizable);
  // And it cannot take effect before it was invoked.
  CHECK(verdict_of({get("k", "a", 0, 1), put("k", "a", 5, 6, Outcome::unknown)}) == Verdict::not_linearizable);
}

TEST_CASE("an unknown delete may or may not have taken effect") {
  CHECK(verdict_of({put("k", "a", 0, 1), del("k", 2, 3, Outcome::unknown), get("k", "a", 10, 11)}) ==
        Verdict::linearizable);
  CHECK(verdict_of({put("k", "a", 0, 1), del("k", 2, 3, Outcome::unknown), get("k", std::nullopt, 10, 11)}) ==
        Verdict::linearizable);
  // An unknown delete taking effect after a later acknowledged put overwrote the value.
  CHECK(verdict_of({put("k", "a", 0, 1), del("k", 2, 3, Outcome::unknown), put("k", "b", 5, 6),
                    get("k", std::nullopt, 10, 11)}) == Verdict::linearizable);
}

TEST_CASE("a failed put has no effect: reading its value is not linearizable") {
  CHECK(verdict_of({put("k", "a", 0, 1, Outcome::fail), get("k", "a", 5, 6)}) == Verdict::not_linearizable);
  CHECK(verdict_of({put("k", "a", 0, 1, Outcome::fail), get("k", std::nullopt, 5, 6)}) == Verdict::linearizable);
}

TEST_CASE("reads that did not complete are ignored") {
  CHECK(verdict_of({put("k", "a", 0, 1), get("k", "zzz", 2, 3, Outcome::unknown),
                    get("k", "b", 4, 5, Outcome::fail)}) == Verdict::linearizable);
}

TEST_CASE("keys are checked independently and the failing key is named") {
  auto r = check_history({put("x", "1", 0, 10), put("y", "2", 0, 1), get("x", "1", 2, 3), get("y", std::nullopt, 4, 5),
                          get("x", std::nullopt, 11, 12)});
  CHECK(r.keys == 2);
  CHECK(r.verdict == Verdict::not_linearizable);
  REQUIRE(r.problems.size() == 2);
  CHECK(r.problems[0].key == "x");
  CHECK(r.problems[1].key == "y");
}

TEST_CASE("an exhausted search budget gives the verdict unknown, never linearizable") {
  // Many concurrent unknown puts and reads: a real search, which a budget of 3 steps cannot finish.
  std::vector<Op> h;
  for (int i = 0; i < 8; ++i) h.push_back(put("k", "v" + std::to_string(i), i, i + 1, Outcome::unknown));
  for (int i = 0; i < 8; ++i) h.push_back(get("k", "v" + std::to_string(7 - i), 100 + 2 * i, 101 + 2 * i));
  CHECK(verdict_of(h) == Verdict::linearizable);
  CheckOptions tiny;
  tiny.max_steps_per_key = 3;
  auto r = check_history(h, tiny);
  CHECK(r.verdict == Verdict::unknown);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].verdict == Verdict::unknown);
}

TEST_CASE("unknown writes that no read observed do not blow up the search") {
  // 40 unknown puts never read and 40 unknown deletes before any read of absent, interleaved
  // with acknowledged puts and reads, then a stale read at the end that forces the search to
  // backtrack through everything: 2^80 configurations without dropping the dead writes.
  std::vector<Op> h;
  int64_t t = 0;
  for (int i = 0; i < 40; ++i) {
    h.push_back(put("k", "lost" + std::to_string(i), t, t + 1, Outcome::unknown));
    h.push_back(del("k", t, t + 1, Outcome::unknown));
    h.push_back(put("k", "v" + std::to_string(i), t + 2, t + 3));
    h.push_back(get("k", "v" + std::to_string(i), t + 4, t + 5));
    t += 10;
  }
  CHECK(verdict_of(h) == Verdict::linearizable);
  h.push_back(get("k", "v0", t, t + 1));
  CheckOptions small;
  small.max_steps_per_key = 200000;
  CHECK(verdict_of(h, small) == Verdict::not_linearizable);
}

// Brute force: is there an order of the ok ops plus any subset of the unknown writes that
// respects real time (a before b when a returned strictly before b was invoked) and the model?
bool brute_force_linearizable(const std::vector<Op>& h) {
  std::vector<const Op*> must;
  std::vector<const Op*> maybe;
  for (const Op& op : h) {
    if (op.outcome == Outcome::fail) continue;
    if (op.kind == OpKind::get && op.outcome != Outcome::ok) continue;
    (op.outcome == Outcome::unknown ? maybe : must).push_back(&op);
  }
  for (uint32_t mask = 0; mask < (1u << maybe.size()); ++mask) {
    std::vector<const Op*> ops = must;
    for (size_t i = 0; i < maybe.size(); ++i) {
      if (mask & (1u << i)) ops.push_back(maybe[i]);
    }
    std::sort(ops.begin(), ops.end());
    do {
      bool ok = true;
      std::optional<std::string> reg;
      for (size_t i = 0; i < ops.size() && ok; ++i) {
        for (size_t j = i + 1; j < ops.size() && ok; ++j) {
          // ops[j] is placed after ops[i]: forbidden if ops[j] returned before ops[i] began.
          if (ops[j]->outcome == Outcome::ok && ops[j]->complete_ns < ops[i]->invoke_ns) ok = false;
        }
        if (!ok) break;
        const Op& op = *ops[i];
        if (op.kind == OpKind::put) reg = op.value;
        if (op.kind == OpKind::del) reg.reset();
        if (op.kind == OpKind::get && op.value != reg) ok = false;
      }
      if (ok) return true;
    } while (std::next_permutation(ops.begin(), ops.end()));
  }
  return false;
}

TEST_CASE("random small histories: the checker agrees with a brute-force enumeration") {
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("STRATA_SEED")) seed = std::strtoull(s, nullptr, 10);
  std::printf("# checker cross-check seed=%llu (replay: STRATA_SEED=%llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  int linearizable = 0;
  int not_linearizable = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<Op> h;
    int n = 1 + static_cast<int>(rng() % 6);
    int writes = 0;
    for (int i = 0; i < n; ++i) {
      int64_t t0 = static_cast<int64_t>(rng() % 20);
      int64_t t1 = t0 + static_cast<int64_t>(rng() % 8);
      int kind = static_cast<int>(rng() % 3);
      Outcome o = rng() % 4 == 0 ? Outcome::unknown : (rng() % 10 == 0 ? Outcome::fail : Outcome::ok);
      if (kind == 0) {
        h.push_back(put("k", "v" + std::to_string(writes++), t0, t1, o));
      } else if (kind == 1) {
        h.push_back(del("k", t0, t1, o));
      } else {
        std::optional<std::string> v;
        if (rng() % 3 != 0) v = "v" + std::to_string(rng() % 3);
        h.push_back(get("k", v, t0, t1, o));
      }
    }
    bool expected = brute_force_linearizable(h);
    Verdict got = verdict_of(h);
    REQUIRE(got != Verdict::unknown);
    if ((got == Verdict::linearizable) != expected) {
      for (const Op& op : h) std::printf("# %s\n", to_json_line(op).c_str());
    }
    REQUIRE_MESSAGE((got == Verdict::linearizable) == expected, "round ", round, " seed ", seed);
    ++(expected ? linearizable : not_linearizable);
  }
  // Both verdicts must have been exercised for the comparison to mean anything.
  CHECK(linearizable > 100);
  CHECK(not_linearizable > 100);
}

TEST_CASE("a long linearizable history of concurrent clients is checked within the budget") {
  // 8 clients, each op's interval contains its linearization point on a shared register.
  std::mt19937_64 rng(7);
  std::vector<Op> h;
  std::optional<std::string> reg;
  int64_t t = 0;
  for (int i = 0; i < 3000; ++i) {
    t += 10;
    int64_t t0 = t - static_cast<int64_t>(rng() % 60);
    int64_t t1 = t + static_cast<int64_t>(rng() % 60);
    int kind = static_cast<int>(rng() % 3);
    if (kind == 0) {
      reg = "v" + std::to_string(i);
      h.push_back(put("k", *reg, t0, t1, rng() % 20 == 0 ? Outcome::unknown : Outcome::ok));
    } else if (kind == 1) {
      reg.reset();
      h.push_back(del("k", t0, t1));
    } else {
      h.push_back(get("k", reg, t0, t1));
    }
  }
  auto r = check_history(h);
  CHECK(r.verdict == Verdict::linearizable);
  CHECK(r.ops_checked >= 2800);  // unknown puts whose values were never read are dropped
  // One corrupted read (a value from long ago) must be caught.
  h[2999] = get("k", "v0", t + 100, t + 101);
  if (!h[0].value || *h[0].value != "v0") h[0] = put("k", "v0", 0, 1);
  CHECK(check_history(h).verdict == Verdict::not_linearizable);
}

TEST_CASE("history JSON lines round-trip, including absent values and unknown outcomes") {
  std::vector<Op> h = {put("k\"1\n", "a b\tc", 5, 9, Outcome::ok, 3), get("k", std::nullopt, 10, 20, Outcome::fail),
                       del("k", 30, 40, Outcome::unknown)};
  for (size_t i = 0; i < h.size(); ++i) h[i].id = i;
  testing::TempDir dir;
  std::string path = dir.path() + "/history.jsonl";
  REQUIRE(write_history(path, h).has_value());
  auto back = read_history(path);
  REQUIRE(back.has_value());
  REQUIRE(back->size() == h.size());
  for (size_t i = 0; i < h.size(); ++i) {
    CHECK(to_json_line((*back)[i]) == to_json_line(h[i]));
    CHECK((*back)[i].value == h[i].value);
    CHECK((*back)[i].outcome == h[i].outcome);
  }
  CHECK_FALSE(op_from_json_line("{\"id\":1}").has_value());
  CHECK_FALSE(op_from_json_line("not json").has_value());
  CHECK_FALSE(
      op_from_json_line(
          R"({"id":1,"client":0,"kind":"put","key":"k","value":null,"outcome":"ok","invoke_ns":1,"complete_ns":2})")
          .has_value());
}

}  // namespace
}  // namespace strata::jepsen

namespace strata::jepsen {
namespace {

TEST_CASE(
    "HTTP answers map to outcomes: only a 503 that says not applied, or a refused connection, is a failed write") {
  CHECK(classify_write({200, false, R"({"ok":true,"sequence":4})"}) == Outcome::ok);
  CHECK(classify_write({503, false, R"({"code":"not_leader","write_may_have_been_applied":false})"}) == Outcome::fail);
  CHECK(classify_write({503, false, R"({"code":"timed_out","write_may_have_been_applied":true})"}) == Outcome::unknown);
  CHECK(classify_write({503, false, R"({"code":"shutting_down"})"}) == Outcome::unknown);
  CHECK(classify_write({503, false, "garbage"}) == Outcome::unknown);
  CHECK(classify_write({500, false, "{}"}) == Outcome::unknown);
  CHECK(classify_write({0, false, ""}) == Outcome::unknown);  // client timeout
  CHECK(classify_write({0, true, ""}) == Outcome::fail);      // connection refused
  std::optional<std::string> v;
  CHECK(classify_read({200, false, "c1-7"}, &v) == Outcome::ok);
  CHECK(v == std::optional<std::string>("c1-7"));
  CHECK(classify_read({404, false, R"({"error":"key not found","code":"not_found"})"}, &v) == Outcome::ok);
  CHECK_FALSE(v.has_value());
  CHECK(classify_read({404, false, R"({"code":"route_not_found"})"}, &v) == Outcome::fail);
  CHECK(classify_read({503, false, R"({"code":"timed_out"})"}, &v) == Outcome::fail);
  CHECK(classify_read({0, false, ""}, &v) == Outcome::fail);
}

}  // namespace
}  // namespace strata::jepsen
