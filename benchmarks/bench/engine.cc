#include "benchmarks/bench/engine.h"

#include "benchmarks/bench/strata_engine.h"
#ifdef STRATA_BENCH_HAVE_ROCKSDB
#include "benchmarks/bench/rocksdb_engine.h"
#endif
#ifdef STRATA_BENCH_HAVE_LEVELDB
#include "benchmarks/bench/leveldb_engine.h"
#endif

namespace strata::bench {

std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::snappy: return "snappy";
    case Compression::lz4: return "lz4";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

std::vector<std::string> available_engines() {
  std::vector<std::string> names{"strata"};
#ifdef STRATA_BENCH_HAVE_ROCKSDB
  names.emplace_back("rocksdb");
#endif
#ifdef STRATA_BENCH_HAVE_LEVELDB
  names.emplace_back("leveldb");
#endif
  return names;
}

std::unique_ptr<Engine> make_engine(const std::string& name, const EngineConfig& config, std::string* why_not) {
  if (name == "strata") {
    if (config.compression == Compression::snappy) {
      *why_not = "strata has no snappy compression (none, lz4, zstd)";
      return nullptr;
    }
    return make_strata_engine(config);
  }
#ifdef STRATA_BENCH_HAVE_ROCKSDB
  if (name == "rocksdb") return make_rocksdb_engine(config);
#endif
#ifdef STRATA_BENCH_HAVE_LEVELDB
  if (name == "leveldb") {
    if (config.compression == Compression::lz4 || config.compression == Compression::zstd) {
      *why_not = "leveldb has no " + std::string(to_string(config.compression)) + " compression (none, snappy)";
      return nullptr;
    }
    return make_leveldb_engine(config);
  }
#endif
  if (name == "rocksdb" || name == "leveldb") {
    *why_not = name + " is not in this build (install lib" + name + "-dev and re-run meson setup)";
  } else {
    *why_not = "unknown engine '" + name + "'";
  }
  return nullptr;
}

}  // namespace strata::bench
