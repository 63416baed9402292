#!/usr/bin/env bash
# Re-runs the Strata / RocksDB / LevelDB comparison recorded in benchmarks/RESULTS.md:
# every workload, medians of 3 rounds, the same run for all engines. Extra flags are passed on
# (e.g. --num 200000 for a quick look, --compression lz4, --json).
#
#   benchmarks/compare.sh [BUILD_DIR] [strata-bench flags...]
#
# Takes about 10 minutes on the 2-core VM at the default --num 1000000. Check `uptime` first:
# other builds on the machine make the figures noisy.
set -euo pipefail
build=build
if [[ $# -gt 0 && -d "$1" ]]; then build=$1; shift; fi
ninja -C "$build" -j2 benchmarks/strata-bench
uptime
exec "$build/benchmarks/strata-bench" \
  --engines strata,rocksdb,leveldb --repeat 3 --num 1000000 --sync-num 100000 \
  --benchmarks fillseq,fillrandom,overwrite,readrandom,readmissing,seekrandom,readwhilewriting,fillsync:8,fillsync:64 \
  "$@"
