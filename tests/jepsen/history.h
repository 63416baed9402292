// A history of single-key register operations as recorded by Jepsen-style clients, and its
// on-disk form: JSON lines, one operation per line, in invocation order.
//
//   {"id":12,"client":3,"kind":"put","key":"k07","value":"c3-41","outcome":"ok",
//    "invoke_ns":1234,"complete_ns":5678}
//
// Shapes: `kind` is put | get | delete. `value` is the value written (put), the value read (get;
// null = the key was absent), or null (delete). `outcome` is ok (took effect, and for a get the
// value is what was read), fail (certainly took no effect) or unknown (may or may not have taken
// effect, e.g. a client timeout; its `complete_ns` is recorded but the checker treats the
// operation as completing at +infinity). Times are monotonic nanoseconds (steady_clock) from any
// common origin; invoke_ns <= complete_ns.
// Thread-safety: plain values; HistoryRecorder is safe to call from many threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "strata/result.h"

namespace strata::jepsen {

enum class OpKind : uint8_t { put, get, del };
enum class Outcome : uint8_t { ok, fail, unknown };

std::string_view to_string(OpKind k);
std::string_view to_string(Outcome o);

struct Op {
  uint64_t id = 0;
  uint32_t client = 0;
  OpKind kind = OpKind::get;
  std::string key;
  std::optional<std::string> value;
  Outcome outcome = Outcome::unknown;
  int64_t invoke_ns = 0;
  int64_t complete_ns = 0;
};

// One JSON object, without the newline.
std::string to_json_line(const Op& op);
// Parses one line. Errors: invalid_argument (not JSON, a missing or mistyped field).
Result<Op> op_from_json_line(std::string_view line);

// Writes `ops` to `path`, one line each. Errors: io_error.
Result<void> write_history(const std::string& path, const std::vector<Op>& ops);
// Reads a file written by write_history. Errors: io_error, invalid_argument (names the line).
Result<std::vector<Op>> read_history(const std::string& path);

// Collects the operations of concurrent clients. Ids are assigned in order of add().
class HistoryRecorder {
 public:
  void add(Op op) {
    std::lock_guard lock(mu_);
    op.id = ops_.size();
    ops_.push_back(std::move(op));
  }
  std::vector<Op> snapshot() const {
    std::lock_guard lock(mu_);
    return ops_;
  }
  // Moves the operations out (a long run's history is large); the recorder is left empty.
  std::vector<Op> take() {
    std::lock_guard lock(mu_);
    return std::move(ops_);
  }

 private:
  mutable std::mutex mu_;
  std::vector<Op> ops_;
};

}  // namespace strata::jepsen
