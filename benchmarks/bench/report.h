// Reporting for strata-bench: one line per measured run (text or JSON), medians over --repeat
// runs, and the summary table with each engine's ratio against the best peer.
//
// JSON shape (one object per line, on stdout):
//   {"engine":"strata","benchmark":"fillsync:8","run":1,"ops_per_sec":15234,"p50_us":480.5,
//    "p99_us":1210,"p999_us":2400,"cpu_us_per_op":9.1,"ops":100000,"found":0,"errors":0,
//    "seconds":6.56,"background_writes":0}
// "run" is 1..N for single runs and "median" for the median lines printed when --repeat > 1
// (each field is the median of that field over the runs). Latencies are microseconds of one
// operation as its caller saw it (queueing behind other operations of the same engine
// included); cpu_us_per_op is process user+system CPU time over the run divided by ops.
// Thread-safety: none (main thread only).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "benchmarks/bench/engine.h"

namespace strata::bench {

struct RunRecord {
  std::string engine;
  std::string benchmark;
  int run = 0;  // 0: the median of several runs
  double ops_per_sec = 0, p50_us = 0, p99_us = 0, p999_us = 0, cpu_us_per_op = 0, seconds = 0;
  uint64_t ops = 0, found = 0, errors = 0, background_writes = 0;
};

RunRecord make_record(const std::string& engine, const std::string& benchmark, int run, const Measurement& m);

// The median of every field of `runs` (all of the same engine and benchmark). REQUIRES: !runs.empty().
RunRecord median_of(const std::vector<RunRecord>& runs);

std::string to_json(const RunRecord& r);
// A human-readable line: "rocksdb   readrandom    213,456 ops/s  p50 ...".
std::string to_text(const RunRecord& r);

// The summary table (markdown, so that it pastes into RESULTS.md): one row per benchmark, one
// ops/s, p99 and CPU-per-operation column per engine, then Strata's ratio to the best other engine on that row.
// `medians` holds one record per (engine, benchmark); engines and benchmarks give the order.
std::string summary_table(const std::vector<RunRecord>& medians, const std::vector<std::string>& engines,
                          const std::vector<std::string>& benchmarks);

// 1234567.8 -> "1,234,568".
std::string with_commas(double v);

}  // namespace strata::bench
