// STRATA_ASSERT: checks an invariant and aborts the process when it is broken, in every build
// (release too). A broken invariant is a bug, not an error: errors are returned as values
// (see result.h).
//
// Thread-safety: safe from any thread.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace strata::detail {
[[noreturn]] inline void assert_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "strata: assertion failed: %s (%s) at %s:%d\n", expr, msg ? msg : "", file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace strata::detail

#define STRATA_ASSERT(cond)                                                \
  do {                                                                     \
    if (!(cond)) [[unlikely]]                                              \
      ::strata::detail::assert_failed(#cond, __FILE__, __LINE__, nullptr); \
  } while (0)

#define STRATA_ASSERT_MSG(cond, msg)                                     \
  do {                                                                   \
    if (!(cond)) [[unlikely]]                                            \
      ::strata::detail::assert_failed(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)
