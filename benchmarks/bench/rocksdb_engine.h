// The RocksDB engine of strata-bench (rocksdb_engine.cc; only built with STRATA_BENCH_HAVE_ROCKSDB).
// Thread-safety: see engine.h.
#pragma once

#include <memory>

#include "benchmarks/bench/engine.h"

namespace strata::bench {

std::unique_ptr<Engine> make_rocksdb_engine(const EngineConfig& config);

}  // namespace strata::bench
