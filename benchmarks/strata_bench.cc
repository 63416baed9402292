// strata-bench: db_bench-style workloads through the public co_await API.
//
//   build/benchmarks/strata-bench --benchmarks fillrandom,readrandom,fillsync --num 1000000
//
// Workloads: fillseq, fillrandom (sync none), overwrite, readrandom, readmissing, fillsync (sync
// always). --concurrency coroutines issue operations on a pool of --threads threads. Keys are
// 16 bytes, values --value-size bytes (half random, half zeros: about 2x compressible).
// Prints one line per workload (or JSON with --json): ops/s and latency percentiles.
// The comparison against RocksDB and LevelDB in the same run is the next engine issue.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <sstream>

#include "lib/db/db.h"
#include "lib/util/random.h"

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace strata;

namespace {

struct Config {
  std::string db_path;
  uint64_t num = 1000000;
  int threads = 2;
  int concurrency = 64;
  size_t value_size = 100;
  bool json = false;
};

std::string key_of(uint64_t k) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llu", static_cast<unsigned long long>(k));
  return std::string(buf, 16);
}

std::string value_of(Random& rnd, size_t size) {
  std::string v(size, '\0');
  for (size_t i = 0; i < size / 2; ++i) v[i] = static_cast<char>('a' + rnd.uniform(26));
  return v;
}

template <class T>
T run_on(asio::thread_pool& pool, asio::awaitable<T> aw) {
  std::promise<T> p;
  asio::co_spawn(pool, std::move(aw), [&](std::exception_ptr e, T v) {
    if (e) p.set_exception(e); else p.set_value(std::move(v));
  });
  return p.get_future().get();
}

struct Outcome {
  double ops_per_sec = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
  uint64_t errors = 0, found = 0;
};

// Runs `op(i)` for i in [0, num) from `concurrency` coroutines; op returns false on error.
template <class Op>
Outcome drive(asio::thread_pool& pool, const Config& cfg, Op op) {
  std::atomic<uint64_t> next{0}, errors{0}, found{0};
  std::vector<std::vector<uint32_t>> lat(cfg.concurrency);
  std::atomic<int> done{0};
  std::promise<void> all;
  auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < cfg.concurrency; ++c) {
    asio::co_spawn(pool, [&, c]() -> asio::awaitable<void> {
      Random rnd(c + 1);
      for (uint64_t i = next++; i < cfg.num; i = next++) {
        auto t0 = std::chrono::steady_clock::now();
        int r = co_await op(i, rnd);
        auto t1 = std::chrono::steady_clock::now();
        if (r < 0) ++errors;
        if (r > 0) ++found;
        lat[c].push_back(static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count()));
      }
      if (++done == cfg.concurrency) all.set_value();
    }, asio::detached);
  }
  all.get_future().get();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<uint32_t> merged;
  for (auto& l : lat) merged.insert(merged.end(), l.begin(), l.end());
  std::sort(merged.begin(), merged.end());
  Outcome o;
  o.ops_per_sec = cfg.num / secs;
  auto pct = [&](double p) { return merged.empty() ? 0.0 : double(merged[std::min(merged.size() - 1, size_t(p * merged.size()))]); };
  o.p50_us = pct(0.50);
  o.p99_us = pct(0.99);
  o.p999_us = pct(0.999);
  o.errors = errors;
  o.found = found;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::string benchmarks;
  po::options_description desc("strata-bench options");
  desc.add_options()("help", "show this help")(
      "benchmarks", po::value(&benchmarks)->default_value("fillrandom,readrandom,readmissing,fillsync"),
      "comma-separated: fillseq,fillrandom,overwrite,readrandom,readmissing,fillsync")(
      "num", po::value(&cfg.num)->default_value(1000000), "operations per workload")(
      "threads", po::value(&cfg.threads)->default_value(2), "executor threads")(
      "concurrency", po::value(&cfg.concurrency)->default_value(64), "coroutines issuing operations")(
      "value-size", po::value(&cfg.value_size)->default_value(100), "value bytes")(
      "db", po::value(&cfg.db_path)->default_value("/tmp/strata-bench"), "DB directory (wiped first)")(
      "json", po::bool_switch(&cfg.json), "one JSON object per line");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "strata-bench: " << e.what() << "\n" << desc;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc;
    return 0;
  }
  std::filesystem::remove_all(cfg.db_path);
  asio::thread_pool pool(cfg.threads);
  auto db = run_on(pool, [&]() -> asio::awaitable<std::unique_ptr<DB>> {
    auto ex = co_await asio::this_coro::executor;
    Options o;
    o.sync = SyncPolicy::none;
    auto opened = co_await DB::open(ex, cfg.db_path, o);
    if (!opened) throw std::runtime_error("open: " + opened.error().message());
    co_return std::move(*opened);
  }());

  std::stringstream list(benchmarks);
  std::string name;
  while (std::getline(list, name, ',')) {
    Outcome o;
    if (name == "fillseq" || name == "fillrandom" || name == "overwrite" || name == "fillsync") {
      bool seq = name == "fillseq";
      WriteOptions wo;
      wo.sync = name == "fillsync" ? SyncPolicy::always : SyncPolicy::none;
      o = drive(pool, cfg, [&](uint64_t i, Random& rnd) -> asio::awaitable<int> {
        uint64_t k = seq ? i : rnd.uniform(cfg.num);
        auto r = co_await db->put(key_of(k), value_of(rnd, cfg.value_size), wo);
        co_return r ? 0 : -1;
      });
    } else if (name == "readrandom" || name == "readmissing") {
      bool missing = name == "readmissing";
      o = drive(pool, cfg, [&](uint64_t, Random& rnd) -> asio::awaitable<int> {
        std::string k = key_of(rnd.uniform(cfg.num));
        if (missing) k.back() = '.';
        auto r = co_await db->get(k);
        if (!r) co_return -1;
        co_return r->has_value() ? 1 : 0;
      });
    } else {
      std::cerr << "strata-bench: unknown benchmark " << name << "\n";
      return 2;
    }
    if (cfg.json) {
      std::printf("{\"engine\":\"strata\",\"benchmark\":\"%s\",\"ops_per_sec\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
                  "\"p999_us\":%.0f,\"errors\":%llu}\n",
                  name.c_str(), o.ops_per_sec, o.p50_us, o.p99_us, o.p999_us, static_cast<unsigned long long>(o.errors));
    } else {
      std::printf("%-12s %10.0f ops/s  p50 %6.0f us  p99 %7.0f us  p99.9 %7.0f us  errors %llu  found %llu\n",
                  name.c_str(), o.ops_per_sec, o.p50_us, o.p99_us, o.p999_us, static_cast<unsigned long long>(o.errors),
                  static_cast<unsigned long long>(o.found));
    }
    std::fflush(stdout);
  }
  auto st = db->stats();
  std::printf("# flushes=%llu sstables=%llu wal_syncs=%llu write_groups=%llu write_amplification=%.2f\n",
              static_cast<unsigned long long>(st.flushes), static_cast<unsigned long long>(st.sstable_count),
              static_cast<unsigned long long>(st.wal_syncs), static_cast<unsigned long long>(st.write_groups),
              st.write_amplification());
  run_on(pool, [&]() -> asio::awaitable<int> {
    auto c = co_await db->close();
    co_return c ? 0 : 1;
  }());
  std::filesystem::remove_all(cfg.db_path);
  return 0;
}
