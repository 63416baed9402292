// RocksDB (Debian's librocksdb-dev, 7.8) under strata-bench: its synchronous API from OS threads.
// Compiled only when meson finds the package (STRATA_BENCH_HAVE_ROCKSDB).
#include "benchmarks/bench/rocksdb_engine.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "benchmarks/bench/threaded_engine.h"

namespace strata::bench {

namespace {

class RocksDbEngine final : public ThreadedEngine {
 public:
  explicit RocksDbEngine(EngineConfig config) : config_(std::move(config)) {
    options_.create_if_missing = true;
    options_.write_buffer_size = config_.write_buffer_bytes;
    options_.compression = compression_type(config_.compression);
    options_.use_direct_reads = config_.direct_reads;
    rocksdb::BlockBasedTableOptions table;
    table.block_size = config_.block_size_bytes;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(config_.bloom_bits_per_key));
    table.block_cache = rocksdb::NewLRUCache(config_.cache_bytes);
    options_.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  ~RocksDbEngine() override { close(); }

  std::string name() const override { return "rocksdb"; }

  int default_workers() const override { return config_.threads; }

  std::string describe() const override {
    std::ostringstream s;
    s << "rocksdb " << ROCKSDB_MAJOR << "." << ROCKSDB_MINOR << "." << ROCKSDB_PATCH
      << ": write_buffer_size=" << options_.write_buffer_size << " block_size=" << config_.block_size_bytes
      << " bloom_bits_per_key=" << config_.bloom_bits_per_key << " (full filter)"
      << " block_cache=LRU " << config_.cache_bytes << " compression=" << to_string(config_.compression)
      << (options_.use_direct_reads ? " use_direct_reads=true" : "")
      << " writes: WriteOptions.sync=false (fillsync: sync=true, group commit)"
      << " threads=" << config_.threads
      << " other options default (max_background_jobs=" << options_.max_background_jobs
      << ", level0_file_num_compaction_trigger=" << options_.level0_file_num_compaction_trigger
      << ", max_bytes_for_level_base=" << options_.max_bytes_for_level_base << ")";
    return s.str();
  }

  std::string open(bool fresh) override {
    close();
    if (fresh) {
      auto st = rocksdb::DestroyDB(config_.dir, options_);
      if (!st.ok()) return "DestroyDB: " + st.ToString();
    }
    rocksdb::DB* db = nullptr;
    auto st = rocksdb::DB::Open(options_, config_.dir, &db);
    if (!st.ok()) return "Open: " + st.ToString();
    db_.reset(db);
    return {};
  }

  void close() override {
    if (db_ == nullptr) return;
    db_->Close();
    db_.reset();
  }

  // Flush the memtable (waiting for it), then poll until no compaction is pending or running.
  std::string settle() override {
    auto start = std::chrono::steady_clock::now();
    rocksdb::FlushOptions fo;
    fo.wait = true;
    auto st = db_->Flush(fo);
    if (!st.ok()) return "Flush failed: " + st.ToString();
    for (;;) {
      uint64_t pending = 0, running = 0, flushes = 0;
      db_->GetIntProperty(rocksdb::DB::Properties::kCompactionPending, &pending);
      db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &running);
      db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &flushes);
      if (pending == 0 && running == 0 && flushes == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ostringstream s;
    s << "Flush(wait) + waited for compaction-pending=0 and num-running-compactions=0 (" << secs << " s)";
    return s.str();
  }

  std::string stats() override {
    std::ostringstream s;
    s << "files per level:";
    for (int l = 0; l < 7; ++l) {
      std::string v;
      db_->GetProperty("rocksdb.num-files-at-level" + std::to_string(l), &v);
      s << " L" << l << "=" << v;
    }
    uint64_t bytes = 0;
    db_->GetIntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &bytes);
    s << " sst_bytes=" << bytes;
    // "Cumulative stall: 00:00:1.234 H:M:S, 12.3 percent" from the DB stats text.
    std::string text;
    if (db_->GetProperty("rocksdb.stats", &text)) {
      auto at = text.find("Cumulative stall:");
      if (at != std::string::npos) s << " [" << text.substr(at, text.find('\n', at) - at) << "]";
    }
    return s.str();
  }

 protected:
  bool put(std::string_view key, std::string_view value, bool sync) override {
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return db_->Put(wo, rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size())).ok();
  }

  Lookup get(std::string_view key, std::string* value) override {
    auto st = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), value);
    if (st.ok()) return Lookup::found;
    return st.IsNotFound() ? Lookup::missing : Lookup::error;
  }

  int seek(std::string_view key, int entries) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    int n = 0;
    for (it->Seek(rocksdb::Slice(key.data(), key.size())); it->Valid() && n < entries; it->Next()) {
      // Touch the entry as a reader would (Strata's scan copies it out).
      if (it->key().size() + it->value().size() == 0) return -1;
      ++n;
    }
    return it->status().ok() ? n : -1;
  }

  int multi_get(const std::vector<std::string>& keys, std::vector<std::string>* values) override {
    std::vector<rocksdb::Slice> slices;
    slices.reserve(keys.size());
    for (const auto& k : keys) slices.emplace_back(k.data(), k.size());
    std::vector<rocksdb::Status> statuses = db_->MultiGet(rocksdb::ReadOptions(), slices, values);
    int found = 0;
    for (const auto& st : statuses) {
      if (st.ok())
        ++found;
      else if (!st.IsNotFound())
        return -1;
    }
    return found;
  }

  int64_t scan_all() override {
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;  // as Strata's scans: a full scan must not evict the hot blocks
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    int64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() + it->value().size() == 0) return -1;
      ++n;
    }
    return it->status().ok() ? n : -1;
  }

 private:
  static rocksdb::CompressionType compression_type(Compression c) {
    switch (c) {
      case Compression::snappy: return rocksdb::kSnappyCompression;
      case Compression::lz4: return rocksdb::kLZ4Compression;
      case Compression::zstd: return rocksdb::kZSTD;
      case Compression::none: break;
    }
    return rocksdb::kNoCompression;
  }

  EngineConfig config_;
  rocksdb::Options options_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

std::unique_ptr<Engine> make_rocksdb_engine(const EngineConfig& config) {
  return std::make_unique<RocksDbEngine>(config);
}

}  // namespace strata::bench
