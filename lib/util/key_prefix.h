// Key prefixes as key ranges: every key that starts with `prefix` lies in
// [prefix, prefix_successor(prefix)) in bytewise order (the upper bound is open-ended when the
// successor is empty). Used by prefix scans in the engine, the replicated key space and HTTP.
// Thread-safety: pure functions.
#pragma once

#include <string>

namespace strata {

// The smallest key greater than every key starting with `prefix`: drop trailing 0xff bytes, then
// increment the last byte. Empty when none exists (the prefix is empty or only 0xff bytes), which
// callers read as "no upper bound". E.g. "ab" -> "ac", "a\xff" -> "b", "\xff\xff" -> "".
inline std::string prefix_successor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

}  // namespace strata
