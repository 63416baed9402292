#!/usr/bin/env bash
# Re-runs the Strata / RocksDB / LevelDB comparison recorded in benchmarks/RESULTS.md:
# every workload, medians of 3 rounds, the same run for all engines. Flags given here replace
# the defaults below or add to them (e.g. --num 200000 for a quick look, --compression lz4, --json).
#
#   benchmarks/compare.sh [BUILD_DIR] [strata-bench flags...]
#
# Takes about 15 minutes on the 2-core VM at --num 1000000. Check `uptime` first: other
# builds on the machine make the figures noisy. readrandom:N runs N reader threads (Strata: its
# coroutines on N executor threads); add `--concurrency 2` to run Strata with as many coroutines
# as the peers have threads.
set -euo pipefail
build=build
if [[ $# -gt 0 && -d "$1" ]]; then build=$1; shift; fi

declare -A defaults=(
  [--engines]=strata,rocksdb,leveldb
  [--repeat]=3
  [--num]=1000000
  [--sync-num]=100000
  [--benchmarks]=fillseq,fillrandom,overwrite,readrandom,readrandom:1,readrandom:4,multireadrandom,readmissing,seekrandom,seekrandom:100,scan,readwhilewriting,fillsync:8,fillsync:64
)
args=()
for flag in "${!defaults[@]}"; do
  given=0
  for a in "$@"; do
    if [[ $a == "$flag" || $a == "$flag="* ]]; then given=1; fi
  done
  if ((given == 0)); then args+=("$flag" "${defaults[$flag]}"); fi
done

ninja -C "$build" -j2 benchmarks/strata-bench
uptime
exec "$build/benchmarks/strata-bench" "${args[@]}" "$@"
