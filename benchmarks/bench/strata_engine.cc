#include "benchmarks/bench/strata_engine.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "strata/db.h"
#include "lib/sstable/format.h"

namespace strata::bench {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Options::block_cache_bytes and Options::compression came with the block cache branch.
std::string apply_cache_and_compression_impl(Options& o, size_t cache_bytes, Compression compression,
                                             bool* equivalent) {
  std::ostringstream s;
  *equivalent = compression != Compression::snappy;
  o.block_cache_bytes = cache_bytes;
  o.compression = sstable::Compression::none;
  if (compression == Compression::lz4) o.compression = sstable::Compression::lz4;
  if (compression == Compression::zstd) o.compression = sstable::Compression::zstd;
  s << "block_cache_bytes=" << o.block_cache_bytes << " (sharded LRU) compression=" << sstable::to_string(o.compression)
    << " max_open_files=" << o.max_open_files;
  if (o.use_direct_reads) s << " use_direct_reads=true (O_DIRECT, no mmap)";
  return s.str();
}

class StrataEngine final : public Engine {
 public:
  explicit StrataEngine(EngineConfig config) : config_(std::move(config)), pool_(config_.threads) {
    options_.sync = SyncPolicy::none;
    options_.memtable_size_bytes = config_.write_buffer_bytes;
    options_.block_size_bytes = config_.block_size_bytes;
    options_.bloom_bits_per_key = config_.bloom_bits_per_key;
    options_.use_direct_reads = config_.direct_reads;
    cache_and_compression_ =
        apply_cache_and_compression(options_, config_.cache_bytes, config_.compression, &equivalent_);
  }
  ~StrataEngine() override {
    close();
    pool_.join();
  }

  std::string name() const override { return "strata"; }

  int default_workers() const override { return config_.concurrency; }

  std::string describe() const override {
    std::ostringstream s;
    s << "strata: memtable_size_bytes=" << options_.memtable_size_bytes
      << " block_size_bytes=" << options_.block_size_bytes << " bloom_bits_per_key=" << options_.bloom_bits_per_key
      << " " << cache_and_compression_ << (equivalent_ ? "" : " [NOT EQUIVALENT to the peers' cache/compression]")
      << " writes: SyncPolicy::none (fillsync: SyncPolicy::always, group commit)"
      << " pool_threads=" << config_.threads << " coroutines=" << config_.concurrency
      << " max_immutable_memtables=" << options_.max_immutable_memtables
      << " max_background_compactions=" << options_.max_background_compactions;
    return s.str();
  }

  std::string open(bool fresh) override {
    close();
    if (fresh) {
      std::error_code ec;
      std::filesystem::remove_all(config_.dir, ec);
      if (ec) return "remove " + config_.dir + ": " + ec.message();
    }
    std::error_code ec;
    std::filesystem::create_directories(config_.dir, ec);
    if (ec) return "create " + config_.dir + ": " + ec.message();
    auto opened = block_on(open_db());
    if (!opened) return "DB::open: " + opened.error().message();
    db_ = std::move(*opened);
    return {};
  }

  void close() override {
    if (db_ == nullptr) return;
    auto closed = block_on(db_->close());
    if (!closed) std::fprintf(stderr, "strata-bench: strata close: %s\n", closed.error().message().c_str());
    db_.reset();
  }

  // Strata's flush() turns the memtable immutable and waits until every immutable memtable is
  // an SSTable; then, as for LevelDB, poll the stats until no compaction runs and no level's
  // compaction score is >= 1, twice in a row 100 ms apart.
  std::string settle() override {
    auto start = Clock::now();
    auto flushed = block_on(db_->flush());
    if (!flushed) return "flush failed: " + flushed.error().message();
    int calm = 0;
    // A bound, so that a level that never drops below its trigger cannot hang the run.
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (calm < 2 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      calm = compaction_pending() ? 0 : calm + 1;
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::ostringstream s;
    if (calm < 2) s << "GAVE UP after 120 s: ";
    s << "co_await DB::flush() + waited for running_compactions=0 and every compaction_score < 1 (" << secs << " s)";
    return s.str();
  }

  std::string stats() override {
    DbStats st = db_->stats();
    std::ostringstream s;
    s << "sstables=" << st.sstable_count << " files per level:";
    for (const auto& l : st.levels) s << " L" << l.level << "=" << l.file_count;
    s << " flushes=" << st.flushes << " compactions=" << st.compactions << " trivial_moves=" << st.trivial_moves
      << " wal_syncs=" << st.wal_syncs << " write_groups=" << st.write_groups << " stall_ms=" << st.stall_micros / 1000
      << " block_reads=" << st.block_reads << " block_cache_hit_rate=" << st.block_cache_hit_rate()
      << " bloom_negatives=" << st.bloom_negatives << " read_amplification=" << st.read_amplification()
      << " write_amplification=" << st.write_amplification();
    return s.str();
  }

  Measurement run(const Job& job) override;

 private:
  struct Shared {
    const Job* job = nullptr;
    std::atomic<uint64_t> next{0};
    std::atomic<uint64_t> scanned{0};  // scan: entries read
    std::atomic<int> running{0};
    std::atomic<bool> readers_done{false};
    std::promise<void> all_done;
    std::promise<void> writer_done;
  };

  template <class T>
  T block_on(asio::awaitable<T> aw) {
    std::promise<T> p;
    asio::co_spawn(pool_, std::move(aw), [&p](std::exception_ptr e, T v) {
      if (e)
        p.set_exception(e);
      else
        p.set_value(std::move(v));
    });
    return p.get_future().get();
  }

  asio::awaitable<Result<std::unique_ptr<DB>>> open_db() {
    auto ex = co_await asio::this_coro::executor;
    co_return co_await DB::open(ex, config_.dir, options_);
  }

  bool compaction_pending() const {
    DbStats st = db_->stats();
    if (st.running_compactions > 0) return true;
    for (const auto& l : st.levels) {
      if (l.compaction_score >= 1) return true;
    }
    return false;
  }

  // Runs on: the pool. Lives until the shared counter passes job.ops; *shared and *st outlive it
  // (run() waits for all_done).
  asio::awaitable<void> worker(Shared* shared, WorkerState* st);
  // Runs on: a single-thread io_context of its own (run() starts and joins it).
  // readwhilewriting's writer: paced puts until readers_done.
  asio::awaitable<void> writer(Shared* shared, WorkerState* st);

  EngineConfig config_;
  asio::thread_pool pool_;
  Options options_;
  std::string cache_and_compression_;
  bool equivalent_ = true;
  std::unique_ptr<DB> db_;
};

asio::awaitable<void> StrataEngine::worker(Shared* shared, WorkerState* st) {
  const Job& job = *shared->job;
  const OpKind op = job.spec.op();
  WriteOptions wo;
  wo.sync = job.spec.sync() ? SyncPolicy::always : SyncPolicy::none;
  // multireadrandom takes kMultiGetKeys operation numbers per call; scan takes them all at once.
  const uint64_t step = op == OpKind::multiget ? kMultiGetKeys : op == OpKind::scan ? job.ops : 1;
  for (uint64_t i = shared->next.fetch_add(step, std::memory_order_relaxed); i < job.ops;
       i = shared->next.fetch_add(step, std::memory_order_relaxed)) {
    st->keys.make(job.spec.workload, i, &st->key);
    auto t0 = Clock::now();
    switch (op) {
      case OpKind::put: {
        std::string_view v = st->values.next();
        auto r = co_await db_->put(st->key, std::string(v), wo);
        if (!r) ++st->errors;
        break;
      }
      case OpKind::get: {
        // Into one string per worker, as the LevelDB and RocksDB engines read.
        auto r = co_await db_->get(st->key, &st->value);
        if (!r)
          ++st->errors;
        else if (*r == Found::yes)
          ++st->found;
        break;
      }
      case OpKind::multiget: {
        uint64_t n = std::min<uint64_t>(kMultiGetKeys, job.ops - i);
        std::vector<std::string> keys(n);
        keys[0] = st->key;
        for (uint64_t k = 1; k < n; ++k) st->keys.make(job.spec.workload, i + k, &keys[k]);
        auto r = co_await db_->multi_get(std::move(keys));
        if (!r)
          ++st->errors;
        else
          for (const auto& v : *r) st->found += v.has_value() ? 1 : 0;
        break;
      }
      case OpKind::seek: {
        // An iterator, as the peers' seek() uses one: the entries are touched, not copied out.
        auto it = db_->new_iterator();
        int want = job.spec.seek_nexts + 1, n = 0;
        Result<void> r;
        if (!it->try_seek(st->key, &r)) r = co_await it->seek(st->key);
        while (r && it->valid() && n < want) {
          if (it->key().size() + it->value().size() == 0) break;
          if (++n == want) break;
          if (!it->try_next(&r)) r = co_await it->next();
        }
        if (!r)
          ++st->errors;
        else
          st->found += static_cast<uint64_t>(n);
        break;
      }
      case OpKind::scan: {
        // One full scan, by the first worker to get here.
        if (i != 0) break;
        auto it = db_->new_iterator(ReadOptions{.fill_cache = false});
        uint64_t n = 0;
        Result<void> r = co_await it->seek_to_first();
        while (true) {
          if (!r) {
            ++st->errors;
            break;
          }
          if (!it->valid()) break;
          if (it->key().size() + it->value().size() == 0) ++st->errors;
          ++n;
          if (!it->try_next(&r)) r = co_await it->next();
        }
        shared->scanned.store(n);
        break;
      }
    }
    auto t1 = Clock::now();
    st->latency.record(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()));
    ++st->ops;
    if (job.progress != nullptr && (i & 255) == 0) job.progress->store(i, std::memory_order_relaxed);
  }
  if (shared->running.fetch_sub(1, std::memory_order_acq_rel) == 1) shared->all_done.set_value();
}

asio::awaitable<void> StrataEngine::writer(Shared* shared, WorkerState* st) {
  WriteOptions wo;
  wo.sync = SyncPolicy::none;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto start = Clock::now();
  while (!shared->readers_done.load(std::memory_order_acquire)) {
    auto deadline = pace_deadline(start, shared->job->writer_puts_per_sec, st->ops);
    if (Clock::now() < deadline) {
      // Short waits so that the writer notices readers_done within a millisecond.
      timer.expires_at(std::min(deadline, Clock::now() + std::chrono::milliseconds(1)));
      co_await timer.async_wait(asio::use_awaitable);
      continue;
    }
    st->keys.make_random(&st->key);
    std::string_view v = st->values.next();
    auto r = co_await db_->put(st->key, std::string(v), wo);
    if (!r) ++st->errors;
    ++st->ops;
  }
  shared->writer_done.set_value();
}

Measurement StrataEngine::run(const Job& job) {
  Shared shared;
  shared.job = &job;
  shared.running = job.workers;
  std::vector<WorkerState> states;
  states.reserve(job.workers + 1);
  for (int w = 0; w <= job.workers; ++w) states.emplace_back(job, w);
  const bool with_writer = job.spec.workload == Workload::readwhilewriting;

  double cpu0 = process_cpu_seconds();
  auto start = Clock::now();
  // The writer runs on a thread of its own, like the peers' writer thread, so that the OS
  // scheduler (not the pool's round robin among 64 reader coroutines) gives it its share of CPU.
  asio::io_context writer_io;
  std::thread writer_thread;
  if (with_writer) {
    asio::co_spawn(writer_io, writer(&shared, &states[job.workers]), asio::detached);
    writer_thread = std::thread([&writer_io] { writer_io.run(); });
  }
  // A workload with its own thread count runs its coroutines on a pool of that size; the DB's
  // own background work stays on pool_.
  std::optional<asio::thread_pool> job_pool;
  if (job.threads > 0) job_pool.emplace(job.threads);
  for (int w = 0; w < job.workers; ++w) {
    if (job_pool)
      asio::co_spawn(*job_pool, worker(&shared, &states[w]), asio::detached);
    else
      asio::co_spawn(pool_, worker(&shared, &states[w]), asio::detached);
  }
  shared.all_done.get_future().get();
  auto end = Clock::now();
  shared.readers_done.store(true, std::memory_order_release);
  if (with_writer) {
    shared.writer_done.get_future().get();
    writer_thread.join();
  }
  double cpu1 = process_cpu_seconds();

  if (job_pool) job_pool->join();
  Measurement m;
  m.ops = job.spec.op() == OpKind::scan ? shared.scanned.load() : job.ops;
  m.seconds = std::chrono::duration<double>(end - start).count();
  m.cpu_seconds = cpu1 - cpu0;
  for (int w = 0; w < job.workers; ++w) states[w].merge_into(&m);
  m.background_writes = states[job.workers].ops;
  m.errors += states[job.workers].errors;
  return m;
}

}  // namespace

std::string apply_cache_and_compression(Options& options, size_t cache_bytes, Compression compression,
                                        bool* equivalent) {
  return apply_cache_and_compression_impl(options, cache_bytes, compression, equivalent);
}

std::unique_ptr<Engine> make_strata_engine(const EngineConfig& config) {
  return std::make_unique<StrataEngine>(config);
}

}  // namespace strata::bench
