// Helpers shared by the fuzz targets (tests/fuzz/*_fuzzer.cc).
//
// Every target is one .cc defining LLVMFuzzerTestOneInput. In a normal build it is linked with
// replay_main.cc (runs each corpus file once, as the meson test suite `fuzz`); in a fuzz build
// (meson option -Dfuzz=true, see scripts/fuzz) with libFuzzer (-fsanitize=fuzzer).
// A target must never crash, hang or leak for any input; it aborts (FUZZ_CHECK) when an invariant
// that the code under test promises is broken, so that the fuzzer reports it.
// Thread-safety: a target runs one input at a time on the calling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/util/logging.h"

// Aborts with a message when `cond` is false: a finding.
#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace strata::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Silences the warnings that every rejected input would log (they cost more than the parse).
inline void quiet_logs() { set_log_level(LogLevel::error); }

}  // namespace strata::fuzz
