// ThreadedEngine: the run() of engines with a synchronous API (RocksDB, LevelDB): Job::workers
// OS threads (Job::threads when a workload names its thread count) take operation numbers from one shared counter and
// call put/get/seek, timing each call; readwhilewriting adds one writer thread that puts random keys until the readers
// finish. Thread-safety: put/get/seek are called from many threads at once (RocksDB and LevelDB DB handles are
// thread-safe); everything else from the driving thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/bench/engine.h"

namespace strata::bench {

class ThreadedEngine : public Engine {
 public:
  Measurement run(const Job& job) override;

 protected:
  enum class Lookup { found, missing, error };
  // Returns false on error (the error is counted, not printed per operation).
  virtual bool put(std::string_view key, std::string_view value, bool sync) = 0;
  virtual Lookup get(std::string_view key, std::string* value) = 0;
  // Seeks to `key` and reads up to `entries` entries from there; returns the number read or -1.
  virtual int seek(std::string_view key, int entries) = 0;
  // Gets every key (values into (*values)[i]); returns how many were found, or -1 on an error.
  // The default calls get() for each (LevelDB has no batched get).
  virtual int multi_get(const std::vector<std::string>& keys, std::vector<std::string>* values);
  // Reads every entry in key order; returns how many, or -1 on an error.
  virtual int64_t scan_all() = 0;
};

}  // namespace strata::bench
