// Engine: one storage engine under strata-bench (Strata, RocksDB or LevelDB), behind the same
// open / run workload / settle / stats / close interface so that every engine runs the same
// workloads with equivalent options in the same process.
//
// Equivalence (printed at start by describe()): memtable / write buffer of
// EngineConfig::write_buffer_bytes, bloom filters of bloom_bits_per_key, data blocks of
// block_size_bytes, the same compression, a block cache of cache_bytes, and the same durability:
// ordinary writes reach the kernel before they are acknowledged (Strata SyncPolicy::none, RocksDB
// and LevelDB sync=false) and fillsync writes are fdatasynced (Strata SyncPolicy::always,
// sync=true; all three group-commit concurrent synced writers).
//
// Concurrency: run() owns its workers. Strata runs coroutines on an asio::thread_pool of
// EngineConfig::threads threads (Job::workers coroutines); RocksDB and LevelDB run Job::workers
// OS threads on their synchronous API.
// Thread-safety: an Engine is driven from one thread (main); run() is internally parallel.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/bench/latency_histogram.h"
#include "benchmarks/bench/workload.h"

namespace strata::bench {

enum class Compression { none, snappy, lz4, zstd };
std::string_view to_string(Compression c);

struct EngineConfig {
  std::string dir;       // the DB directory (one per engine)
  int threads = 2;       // Strata's pool size; RocksDB/LevelDB worker threads
  int concurrency = 64;  // Strata's coroutines per workload
  size_t write_buffer_bytes = 64 << 20;
  int bloom_bits_per_key = 10;
  size_t block_size_bytes = 4096;
  size_t cache_bytes = 32 << 20;
  Compression compression = Compression::none;
  // Reads bypass the OS page cache (O_DIRECT): Strata's Options::use_direct_reads, RocksDB's
  // use_direct_reads. LevelDB has no such option (strata-bench refuses the combination).
  bool direct_reads = false;
};

// One measured execution of a workload.
struct Job {
  BenchmarkSpec spec;
  uint64_t ops = 0;        // operations to run (reads only, for readwhilewriting)
  uint64_t key_space = 0;  // keys are drawn from [0, key_space)
  int workers = 1;         // concurrent workers (threads or coroutines)
  int threads = 0;         // threads to run them on (0: the engine's own; BenchmarkSpec::threads)
  size_t key_size = 16;
  size_t value_size = 100;
  uint64_t seed = 301;
  const ValueBuffer* values = nullptr;
  // readwhilewriting: the extra writer's pace in puts per second (0: as fast as it can). The
  // default, 2 MiB/s of keys and values, is RocksDB's tools/benchmark.sh readwhilewriting.
  double writer_puts_per_sec = 0;
  // Operations completed so far, for the progress line (updated by the workers, relaxed).
  std::atomic<uint64_t>* progress = nullptr;
};

struct Measurement {
  uint64_t ops = 0;
  uint64_t found = 0;  // gets that found their key; entries read by seeks
  uint64_t errors = 0;
  uint64_t background_writes = 0;  // readwhilewriting: writes of the extra writer
  double seconds = 0;
  double cpu_seconds = 0;  // user + system of the whole process (background threads too)
  LatencyHistogram latency;

  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
  double cpu_us_per_op() const { return ops > 0 ? cpu_seconds * 1e6 / static_cast<double>(ops) : 0; }
};

// What one worker (thread or coroutine) of a run owns: its key and value generators, its
// latency histogram and counters. Merged into the Measurement when the run ends.
struct WorkerState {
  WorkerState(const Job& job, int worker)
      : keys(job.key_size, job.key_space, job.seed * 1000003 + static_cast<uint64_t>(worker)),
        values(*job.values, job.value_size, static_cast<size_t>(worker) * 7919 * job.value_size) {}
  KeyMaker keys;
  ValueCursor values;
  LatencyHistogram latency;
  uint64_t ops = 0, found = 0, errors = 0;
  std::string key;
  std::string value;  // a get's destination, reused as the peers' engines reuse theirs
  // Adds this worker's figures to `m` (not its ops: the run counts those).
  void merge_into(Measurement* m) const {
    m->latency.merge(latency);
    m->found += found;
    m->errors += errors;
  }
};

// When the n-th put (0-based) of a paced writer may start: start + n / rate.
inline std::chrono::steady_clock::time_point pace_deadline(std::chrono::steady_clock::time_point start,
                                                           double puts_per_sec, uint64_t n) {
  if (puts_per_sec <= 0) return start;
  auto offset = std::chrono::duration<double>(static_cast<double>(n) / puts_per_sec);
  return start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(offset);
}

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  // The equivalent options as this engine sees them, one "key=value" list per line.
  virtual std::string describe() const = 0;
  // Concurrent workers for workloads without their own count: Strata's coroutines
  // (EngineConfig::concurrency), the peers' threads (EngineConfig::threads).
  virtual int default_workers() const = 0;
  // Opens the DB in EngineConfig::dir, deleting what is there first when `fresh`.
  // Returns an empty string on success, else the error.
  virtual std::string open(bool fresh) = 0;
  virtual void close() = 0;
  // Runs the job; the caller times nothing itself.
  virtual Measurement run(const Job& job) = 0;
  // Finishes background work before reads: flushes the memtable, then waits until no
  // compaction is pending or running. Returns what it did, for the log.
  virtual std::string settle() = 0;
  // A one-line summary of the engine's own counters (files per level, flushes, ...).
  virtual std::string stats() = 0;
};

// The engines compiled into this build, in --engines order: "strata" always, then "rocksdb"
// and "leveldb" when their Debian packages were found at configure time.
std::vector<std::string> available_engines();
// nullptr, with the reason in *why_not, for a name that is not available or an engine that
// cannot run `config` equivalently (LevelDB with lz4 or zstd; Strata or RocksDB with snappy).
std::unique_ptr<Engine> make_engine(const std::string& name, const EngineConfig& config, std::string* why_not);

// CPU seconds (user + system) used by this process so far (getrusage(RUSAGE_SELF)).
double process_cpu_seconds();

}  // namespace strata::bench
