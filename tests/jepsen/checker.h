// A linearizability checker for histories of a key-value store whose keys are independent
// registers: put(k, v), get(k) -> v | absent, delete(k).
//
// Algorithm:
//  - P-compositionality (Horn & Kroening, "Faster linearizability checking via
//    P-compositionality", FORTE 2015): a history of a map of registers is linearizable iff the
//    sub-history of every key is, so each key is checked on its own (and small).
//  - Per key, the Wing & Gong search ("Testing and verifying concurrent objects", JPDC 1993):
//    walk the time-ordered list of call/return events, tentatively linearize a pending call when
//    the register model allows it, backtrack when a return is reached whose call has not been
//    linearized. With Lowe's memoization ("Testing for linearizability", Concurrency and
//    Computation: Practice and Experience, 2017): a configuration (set of linearized operations
//    as a bitset, model state) already explored is never explored again. The set is memoized as a
//    128-bit Zobrist hash: a collision (probability about n^2 / 2^129 for n configurations) can
//    only prune an unexplored configuration, i.e. err towards not_linearizable, never towards
//    a false linearizable verdict. The event-list form
//    follows Lowe's JIT-free "WGL" variant as used by Porcupine (anishathalye/porcupine).
//
// Operation semantics (see history.h): fail = no effect, dropped. A get that did not complete
// (fail or unknown) tells nothing and is dropped. An unknown put/delete may have taken effect at
// any time after its invocation, or never: its return event is at +infinity, and the search
// succeeds once only such operations remain. An unknown write that no read can have observed
// (a put whose value is never read; a delete with no read of "absent" completing after its
// invocation) is dropped before the search: it never changes the verdict, and each one would
// otherwise double the configurations a backtracking search can visit. Calls and returns at the same nanosecond are
// treated as concurrent (the permissive choice: no false alarms from clock granularity).
//
// Budget: the search of one key stops after `max_steps_per_key` steps (one step = one attempt to
// linearize a call) or `max_cache_entries_per_key` memoized configurations; the key's verdict
// is then `unknown`, which callers must treat as a failure.
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/jepsen/history.h"

namespace strata::jepsen {

enum class Verdict : uint8_t { linearizable, not_linearizable, unknown };
std::string_view to_string(Verdict v);

struct CheckOptions {
  uint64_t max_steps_per_key = 50'000'000;
  uint64_t max_cache_entries_per_key = 4'000'000;
};

struct KeyVerdict {
  std::string key;
  Verdict verdict = Verdict::linearizable;
  size_t ops = 0;      // operations searched (after dropping fail, incomplete gets, unobservable unknowns)
  uint64_t steps = 0;  // search steps spent
  std::string detail;  // for not_linearizable/unknown: where the search got stuck
};

struct CheckResult {
  Verdict verdict = Verdict::linearizable;  // linearizable iff every key is
  size_t keys = 0;
  size_t ops_checked = 0;
  uint64_t steps = 0;
  std::vector<KeyVerdict> problems;  // every key whose verdict is not linearizable
};

// Checks the operations of one key. REQUIRES: every op has this key.
KeyVerdict check_key(const std::string& key, const std::vector<const Op*>& ops, const CheckOptions& options = {});

// Partitions `history` by key and checks every key.
CheckResult check_history(const std::vector<Op>& history, const CheckOptions& options = {});

}  // namespace strata::jepsen
