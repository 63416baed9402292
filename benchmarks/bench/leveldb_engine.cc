// LevelDB (Debian's libleveldb-dev, 1.23) under strata-bench: its synchronous API from OS threads.
// Compiled only when meson finds the library (STRATA_BENCH_HAVE_LEVELDB).
#include "benchmarks/bench/leveldb_engine.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "benchmarks/bench/threaded_engine.h"

namespace strata::bench {

namespace {

// LevelDB's compaction triggers (db/dbformat.h and db/version_set.cc, 1.23): L0 compacts at 4
// files, level L >= 1 when it holds more than 10 MiB * 10^(L-1).
constexpr int kL0CompactionTrigger = 4;
constexpr int kNumLevels = 7;

double max_bytes_for_level(int level) {
  double result = 10. * 1048576.0;
  while (level > 1) {
    result *= 10;
    --level;
  }
  return result;
}

class LevelDbEngine final : public ThreadedEngine {
 public:
  explicit LevelDbEngine(EngineConfig config) : config_(std::move(config)) {
    filter_.reset(leveldb::NewBloomFilterPolicy(config_.bloom_bits_per_key));
    cache_.reset(leveldb::NewLRUCache(config_.cache_bytes));
    options_.create_if_missing = true;
    options_.write_buffer_size = config_.write_buffer_bytes;
    options_.block_size = config_.block_size_bytes;
    options_.filter_policy = filter_.get();
    options_.block_cache = cache_.get();
    options_.compression =
        config_.compression == Compression::snappy ? leveldb::kSnappyCompression : leveldb::kNoCompression;
  }
  ~LevelDbEngine() override { close(); }

  std::string name() const override { return "leveldb"; }

  int default_workers() const override { return config_.threads; }

  std::string describe() const override {
    std::ostringstream s;
    s << "leveldb " << leveldb::kMajorVersion << "." << leveldb::kMinorVersion
      << ": write_buffer_size=" << options_.write_buffer_size << " block_size=" << options_.block_size
      << " bloom_bits_per_key=" << config_.bloom_bits_per_key << " block_cache=LRU " << config_.cache_bytes
      << " compression=" << to_string(config_.compression)
      << " writes: WriteOptions.sync=false (fillsync: sync=true, group commit)"
      << " threads=" << config_.threads << " other options default (max_file_size=" << options_.max_file_size
      << ", max_open_files=" << options_.max_open_files << ")";
    return s.str();
  }

  std::string open(bool fresh) override {
    close();
    if (fresh) {
      auto st = leveldb::DestroyDB(config_.dir, options_);
      if (!st.ok()) return "DestroyDB: " + st.ToString();
    }
    leveldb::DB* db = nullptr;
    auto st = leveldb::DB::Open(options_, config_.dir, &db);
    if (!st.ok()) return "Open: " + st.ToString();
    db_.reset(db);
    return {};
  }

  void close() override { db_.reset(); }

  // LevelDB has no public flush: CompactRange over a range past every key flushes the memtable
  // (DBImpl::CompactRange always compacts the memtable first) and finds no SSTable to compact
  // in it. Then poll "leveldb.sstables" until no level is over its compaction trigger (the
  // score LevelDB's VersionSet::Finalize computes), twice in a row 100 ms apart.
  std::string settle() override {
    auto start = std::chrono::steady_clock::now();
    std::string past_all(64, '\xff');
    leveldb::Slice k(past_all);
    db_->CompactRange(&k, &k);
    int calm = 0;
    // A bound, so that a level that never drops below its trigger cannot hang the run.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (calm < 2 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      calm = needs_compaction() ? 0 : calm + 1;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ostringstream s;
    if (calm < 2) s << "GAVE UP after 120 s: ";
    s << "memtable flushed (CompactRange past all keys) + waited until no level over its compaction trigger (" << secs
      << " s)";
    return s.str();
  }

  std::string stats() override {
    std::ostringstream s;
    s << "files per level:";
    for (int l = 0; l < kNumLevels; ++l) {
      std::string v;
      db_->GetProperty("leveldb.num-files-at-level" + std::to_string(l), &v);
      s << " L" << l << "=" << v;
    }
    return s.str();
  }

 protected:
  bool put(std::string_view key, std::string_view value, bool sync) override {
    leveldb::WriteOptions wo;
    wo.sync = sync;
    return db_->Put(wo, leveldb::Slice(key.data(), key.size()), leveldb::Slice(value.data(), value.size())).ok();
  }

  Lookup get(std::string_view key, std::string* value) override {
    auto st = db_->Get(leveldb::ReadOptions(), leveldb::Slice(key.data(), key.size()), value);
    if (st.ok()) return Lookup::found;
    return st.IsNotFound() ? Lookup::missing : Lookup::error;
  }

  int seek(std::string_view key, int entries) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    int n = 0;
    for (it->Seek(leveldb::Slice(key.data(), key.size())); it->Valid() && n < entries; it->Next()) {
      if (it->key().size() + it->value().size() == 0) return -1;
      ++n;
    }
    return it->status().ok() ? n : -1;
  }

  int64_t scan_all() override {
    leveldb::ReadOptions ro;
    ro.fill_cache = false;  // as Strata's scans: a full scan must not evict the hot blocks
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
    int64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() + it->value().size() == 0) return -1;
      ++n;
    }
    return it->status().ok() ? n : -1;
  }

 private:
  // Parses "leveldb.sstables" ("--- level N ---" headers, then " number:size[...]" lines).
  bool needs_compaction() {
    std::string v;
    if (!db_->GetProperty("leveldb.sstables", &v)) return false;
    double bytes[kNumLevels] = {};
    int files[kNumLevels] = {};
    int level = 0;
    std::istringstream in(v);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("--- level ", 0) == 0) {
        level = std::stoi(line.substr(10));
        continue;
      }
      auto colon = line.find(':');
      if (colon == std::string::npos || level < 0 || level >= kNumLevels) continue;
      bytes[level] += std::stod(line.substr(colon + 1));
      ++files[level];
    }
    if (files[0] >= kL0CompactionTrigger) return true;
    for (int l = 1; l < kNumLevels - 1; ++l) {
      if (bytes[l] > max_bytes_for_level(l)) return true;
    }
    return false;
  }

  EngineConfig config_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::Cache> cache_;
  leveldb::Options options_;
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace

std::unique_ptr<Engine> make_leveldb_engine(const EngineConfig& config) {
  return std::make_unique<LevelDbEngine>(config);
}

}  // namespace strata::bench
