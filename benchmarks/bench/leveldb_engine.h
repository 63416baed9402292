// The LevelDB engine of strata-bench (leveldb_engine.cc; only built with STRATA_BENCH_HAVE_LEVELDB).
// LevelDB supports compression none and snappy only.
// Thread-safety: see engine.h.
#pragma once

#include <memory>

#include "benchmarks/bench/engine.h"

namespace strata::bench {

std::unique_ptr<Engine> make_leveldb_engine(const EngineConfig& config);

}  // namespace strata::bench
