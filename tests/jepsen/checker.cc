#include "tests/jepsen/checker.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>

namespace strata::jepsen {

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::linearizable: return "linearizable";
    case Verdict::not_linearizable: return "not_linearizable";
    case Verdict::unknown: return "unknown";
  }
  return "?";
}

namespace {

constexpr int64_t kInfinity = std::numeric_limits<int64_t>::max();
constexpr uint32_t kAbsent = 0;                                           // model state: no value
constexpr uint32_t kNeverWritten = std::numeric_limits<uint32_t>::max();  // a read of no put's value

// One searched operation, with its value interned: put writes `value_id`, get expects it.
struct SearchOp {
  const Op* op;
  OpKind kind;
  uint32_t value_id;
  bool unknown;
};

// A node of the doubly linked event list (Wing & Gong's history list).
struct Entry {
  bool is_call = false;
  size_t op = 0;  // index into the SearchOp vector
  int64_t time = 0;
  Entry* match = nullptr;  // call -> its return
  Entry* prev = nullptr;
  Entry* next = nullptr;
};

// A memoized configuration: the set of linearized operations as a 128-bit Zobrist hash (the XOR
// of two random 64-bit keys per operation in the set, updated in O(1) per step), and the model
// state. Storing the hash instead of the set keeps the cache at 24 bytes an entry instead of
// n/8: a soak run has tens of thousands of operations per key.
struct Config {
  uint64_t h1;
  uint64_t h2;
  uint32_t state;
  bool operator==(const Config&) const = default;
};
struct ConfigHash {
  size_t operator()(const Config& c) const { return c.h1 ^ (uint64_t{c.state} * 0x9e3779b97f4a7c15ULL); }
};

// The register model: the state after `op` from `state`, or false when `op` cannot happen there.
bool step(const SearchOp& op, uint32_t state, uint32_t* next) {
  switch (op.kind) {
    case OpKind::put: *next = op.value_id; return true;
    case OpKind::del: *next = kAbsent; return true;
    case OpKind::get: *next = state; return op.value_id == state;
  }
  return false;
}

// Removes a call entry and its return from the list.
void lift(Entry* call) {
  call->prev->next = call->next;
  if (call->next) call->next->prev = call->prev;
  Entry* ret = call->match;
  ret->prev->next = ret->next;
  if (ret->next) ret->next->prev = ret->prev;
}

// Undoes lift() (in reverse order).
void unlift(Entry* call) {
  Entry* ret = call->match;
  ret->prev->next = ret;
  if (ret->next) ret->next->prev = ret;
  call->prev->next = call;
  if (call->next) call->next->prev = call;
}

std::string describe(const SearchOp& s, const std::vector<std::string>& values) {
  const Op& op = *s.op;
  char buf[160];
  std::snprintf(buf, sizeof buf, "op %" PRIu64 " (client %u, %s", op.id, op.client,
                std::string(to_string(op.kind)).c_str());
  std::string out = buf;
  if (op.kind != OpKind::del) out += op.value ? " '" + *op.value + "'" : std::string(" absent");
  std::snprintf(buf, sizeof buf, ", %s, invoke %" PRId64 " complete %" PRId64 ")",
                std::string(to_string(op.outcome)).c_str(), op.invoke_ns, op.complete_ns);
  return out + buf;
}

}  // namespace

KeyVerdict check_key(const std::string& key, const std::vector<const Op*>& all, const CheckOptions& options) {
  KeyVerdict kv;
  kv.key = key;
  // Intern the values of puts; a get of any other value can never be linearized.
  std::unordered_map<std::string, uint32_t> ids;
  std::vector<std::string> values{"<absent>"};
  for (const Op* op : all) {
    if (op->kind == OpKind::put && op->outcome != Outcome::fail && op->value && !ids.count(*op->value)) {
      ids[*op->value] = static_cast<uint32_t>(values.size());
      values.push_back(*op->value);
    }
  }
  // Unknown writes that no read can have observed are dropped: removing such a write from any
  // linearization leaves a linearization (the next write overwrites its effect; no read needs
  // it). Without this, each dead unknown write doubles the configurations a backtracking
  // search may visit. An unknown put is observable only by a read of its (unique) value; an
  // unknown delete only by a read of "absent" that completed after the delete was invoked.
  std::unordered_set<std::string> read_values;
  int64_t last_absent_read_ns = std::numeric_limits<int64_t>::min();
  for (const Op* op : all) {
    if (op->kind != OpKind::get || op->outcome != Outcome::ok) continue;
    if (op->value) {
      read_values.insert(*op->value);
    } else {
      last_absent_read_ns = std::max(last_absent_read_ns, op->complete_ns);
    }
  }
  std::vector<SearchOp> ops;
  for (const Op* op : all) {
    if (op->outcome == Outcome::fail) continue;
    if (op->kind == OpKind::get && op->outcome != Outcome::ok) continue;
    if (op->outcome == Outcome::unknown) {
      if (op->kind == OpKind::put && !read_values.count(*op->value)) continue;
      if (op->kind == OpKind::del && last_absent_read_ns < op->invoke_ns) continue;
    }
    SearchOp s{op, op->kind, kAbsent, op->outcome == Outcome::unknown};
    if (op->kind == OpKind::put) s.value_id = ids.at(*op->value);
    if (op->kind == OpKind::get && op->value) {
      auto it = ids.find(*op->value);
      s.value_id = it == ids.end() ? kNeverWritten : it->second;
    }
    ops.push_back(s);
  }
  kv.ops = ops.size();
  if (ops.empty()) return kv;

  // The event list, sorted by time; at equal times calls come first (treated as concurrent).
  std::vector<Entry> entries(2 * ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    Entry& c = entries[2 * i];
    Entry& r = entries[2 * i + 1];
    c.is_call = true;
    c.op = r.op = i;
    c.time = ops[i].op->invoke_ns;
    r.time = ops[i].unknown ? kInfinity : std::max(ops[i].op->complete_ns, ops[i].op->invoke_ns);
    c.match = &r;
  }
  std::vector<Entry*> order;
  for (Entry& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    if (a->time != b->time) return a->time < b->time;
    if (a->is_call != b->is_call) return a->is_call;
    return a->op < b->op;  // a total order: the search is the same on every run
  });
  Entry head;
  Entry* prev = &head;
  for (Entry* e : order) {
    prev->next = e;
    e->prev = prev;
    prev = e;
  }

  std::unordered_set<Config, ConfigHash> cache;
  struct Frame {
    Entry* call;
    uint32_t state;
  };
  std::vector<Frame> stack;
  std::vector<std::pair<uint64_t, uint64_t>> zobrist(ops.size());
  std::mt19937_64 zrng(0x5717a7a5eedULL);  // fixed: the search is the same on every run
  for (auto& z : zobrist) z = {zrng(), zrng()};
  uint64_t h1 = 0;
  uint64_t h2 = 0;
  uint32_t state = kAbsent;
  size_t best_depth = 0;
  const Entry* best_block = nullptr;
  uint32_t best_state = kAbsent;
  Entry* entry = head.next;
  while (head.next != nullptr) {
    if (entry == nullptr) break;  // cannot happen: a return always ends a pass
    if (entry->is_call) {
      if (++kv.steps > options.max_steps_per_key || cache.size() > options.max_cache_entries_per_key) {
        kv.verdict = Verdict::unknown;
        kv.detail = "search budget exhausted after " + std::to_string(kv.steps) + " steps, " +
                    std::to_string(cache.size()) + " configurations, " + std::to_string(ops.size()) + " operations";
        return kv;
      }
      uint32_t next = 0;
      if (step(ops[entry->op], state, &next)) {
        const auto& z = zobrist[entry->op];
        if (cache.insert(Config{h1 ^ z.first, h2 ^ z.second, next}).second) {
          stack.push_back({entry, state});
          state = next;
          h1 ^= z.first;
          h2 ^= z.second;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry->next;
      continue;
    }
    // A return whose call is not linearized yet. If it is at +infinity, every operation left is
    // an unknown write that may never have taken effect: done.
    if (entry->time == kInfinity) break;
    if (stack.size() >= best_depth) {
      best_depth = stack.size();
      best_block = entry;
      best_state = state;
    }
    if (stack.empty()) {
      kv.verdict = Verdict::not_linearizable;
      break;
    }
    Frame f = stack.back();
    stack.pop_back();
    h1 ^= zobrist[f.call->op].first;
    h2 ^= zobrist[f.call->op].second;
    state = f.state;
    unlift(f.call);
    entry = f.call->next;
  }
  if (kv.verdict == Verdict::not_linearizable && best_block != nullptr) {
    kv.detail = "linearized at most " + std::to_string(best_depth) + " of " + std::to_string(ops.size()) +
                " operations; then " + describe(ops[best_block->op], values) +
                " could not take effect; register then held " +
                (best_state == kAbsent ? std::string("<absent>") : "'" + values[best_state] + "'");
  }
  return kv;
}

CheckResult check_history(const std::vector<Op>& history, const CheckOptions& options) {
  std::map<std::string, std::vector<const Op*>> by_key;
  for (const Op& op : history) by_key[op.key].push_back(&op);
  CheckResult result;
  result.keys = by_key.size();
  for (const auto& [key, ops] : by_key) {
    KeyVerdict kv = check_key(key, ops, options);
    result.ops_checked += kv.ops;
    result.steps += kv.steps;
    if (kv.verdict == Verdict::linearizable) continue;
    if (kv.verdict == Verdict::not_linearizable) {
      result.verdict = Verdict::not_linearizable;
    } else if (result.verdict == Verdict::linearizable) {
      result.verdict = Verdict::unknown;
    }
    result.problems.push_back(std::move(kv));
  }
  return result;
}

}  // namespace strata::jepsen
