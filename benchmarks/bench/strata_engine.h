// The Strata engine of strata-bench: the public co_await API (lib/db/db.h) driven by
// Job::workers coroutines on an asio::thread_pool of EngineConfig::threads threads.
// Thread-safety: see engine.h.
#pragma once

#include <memory>
#include <string>

#include "benchmarks/bench/engine.h"
#include "lib/db/options.h"

namespace strata::bench {

std::unique_ptr<Engine> make_strata_engine(const EngineConfig& config);

// MERGE POINT (block cache + compression, another helper's branch): sets
// Options::block_cache_bytes and Options::compression (sstable::Compression) when this build's
// Options has them, detected at compile time, and returns what it set, e.g.
// "block_cache_bytes=33554432 compression=none", or which of the two this build lacks. Once both
// fields are on main this needs no change (check the printed line says they were set).
// Returns false in *equivalent when the cache or a requested compression could not be set.
std::string apply_cache_and_compression(Options& options, size_t cache_bytes, Compression compression,
                                        bool* equivalent);

}  // namespace strata::bench
