// The Strata engine of strata-bench: the public co_await API (include/strata/db.h) driven by
// Job::workers coroutines on an asio::thread_pool of EngineConfig::threads threads.
// Thread-safety: see engine.h.
#pragma once

#include <memory>
#include <string>

#include "benchmarks/bench/engine.h"
#include "strata/options.h"

namespace strata::bench {

std::unique_ptr<Engine> make_strata_engine(const EngineConfig& config);

// Sets Options::block_cache_bytes and Options::compression to the peers' equivalents and
// returns them as printed at start. *equivalent is false when `compression` is one Strata lacks.
std::string apply_cache_and_compression(Options& options, size_t cache_bytes, Compression compression,
                                        bool* equivalent);

}  // namespace strata::bench
