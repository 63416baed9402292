// strata-bench: db_bench-style workloads on Strata (through the public co_await API) and, when
// their Debian packages were present at configure time, on RocksDB and LevelDB in the same run
// with equivalent options.
//
//   build/benchmarks/strata-bench --engines strata,rocksdb,leveldb --repeat 3 \
//       --benchmarks
//       fillseq,fillrandom,overwrite,readrandom,readmissing,seekrandom,readwhilewriting,fillsync:8,fillsync:64
//
// Each --repeat round runs every engine through the whole benchmark list in order, on one DB
// per engine (db_bench style: fill* start a fresh DB, the others use the DB as the previous
// benchmarks left it; a read benchmark on a DB not yet filled with --num keys first runs an
// unmeasured fillrandom). Before every benchmark, sync() writes back the page cache (untimed);
// each engine's directory is deleted when its round ends. Before every read benchmark that follows writes, each engine
// settles: memtable flushed and no compaction pending or running (Engine::settle). The results are the median of the
// rounds for each (engine, benchmark), with a summary table of Strata against the best peer. Workloads and key/value
// shapes: bench/workload.h; engines: bench/engine.h; output format: bench/report.h. Human-readable output goes to
// stdout, or to stderr with --json (stdout then carries only JSON lines).
#include <boost/program_options.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "benchmarks/bench/engine.h"
#include "benchmarks/bench/report.h"
#include "benchmarks/bench/workload.h"

namespace po = boost::program_options;
using namespace strata::bench;

namespace {

struct Flags {
  std::string engines;
  std::string benchmarks;
  uint64_t num = 1000000;
  uint64_t sync_num = 100000;
  int repeat = 1;
  int writers = 8;
  bool json = false;
  bool use_existing = false;
  bool keep_db = false;
  size_t key_size = 16;
  size_t value_size = 100;
  uint64_t seed = 301;
  std::string compression = "none";
  size_t cache_mb = 32;
  double write_rate_mb = 2;
  EngineConfig engine;
};

// Prints "[engine benchmark] 45% 123,456 ops/s" on stderr once a second while a job runs (on a
// terminal, overwriting itself), or every 10 s as its own line when stderr is not a terminal.
class ProgressLine {
 public:
  ProgressLine(std::string label, uint64_t total, std::atomic<uint64_t>* done)
      : label_(std::move(label)), total_(total), done_(done), tty_(isatty(2) != 0), thread_([this] { loop(); }) {}
  ~ProgressLine() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (printed_ && tty_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  void loop() {
    auto start = std::chrono::steady_clock::now();
    auto interval = std::chrono::seconds(tty_ ? 1 : 10);
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      uint64_t done = done_->load(std::memory_order_relaxed);
      std::fprintf(stderr, "%s[%s] %3.0f%%  %s ops/s%s", tty_ ? "\r\033[K" : "", label_.c_str(),
                   100.0 * static_cast<double>(done) / static_cast<double>(total_),
                   with_commas(static_cast<double>(done) / secs).c_str(), tty_ ? "" : "\n");
      std::fflush(stderr);
      printed_ = true;
    }
  }

  std::string label_;
  uint64_t total_;
  std::atomic<uint64_t>* done_;
  bool tty_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool printed_ = false;
  std::thread thread_;
};

bool parse_flags(int argc, char** argv, Flags* f, int* exit_code) {
  std::string all_engines;
  for (const auto& e : available_engines()) all_engines += (all_engines.empty() ? "" : ",") + e;
  po::options_description desc("strata-bench options");
  desc.add_options()("help", "show this help")("version", "print the version and exit")(
      "engines", po::value(&f->engines)->default_value(all_engines),
      ("comma-separated engines; in this build: " + all_engines).c_str())(
      "benchmarks", po::value(&f->benchmarks)->default_value("fillrandom,readrandom,readmissing,fillsync:8"),
      "comma-separated, run in order: fillseq,fillrandom,overwrite,readrandom,readmissing,seekrandom,"
      "readwhilewriting,fillsync[:WRITERS]")("num", po::value(&f->num)->default_value(1000000),
                                             "operations per workload and the key space [0, num)")(
      "sync-num", po::value(&f->sync_num)->default_value(100000), "operations per fillsync (at most --num)")(
      "repeat", po::value(&f->repeat)->default_value(1), "rounds; the results are the medians")(
      "threads", po::value(&f->engine.threads)->default_value(2),
      "Strata's executor threads; RocksDB/LevelDB worker threads (readers in readwhilewriting)")(
      "concurrency", po::value(&f->engine.concurrency)->default_value(64), "Strata's coroutines per workload")(
      "writers", po::value(&f->writers)->default_value(8), "concurrent writers of a fillsync without :N")(
      "key-size", po::value(&f->key_size)->default_value(16), "key bytes (>= 8)")(
      "value-size", po::value(&f->value_size)->default_value(100), "value bytes (about 2x compressible)")(
      "compression", po::value(&f->compression)->default_value("none"), "none|snappy|lz4|zstd (where supported)")(
      "write-rate-mb", po::value(&f->write_rate_mb)->default_value(2),
      "readwhilewriting: the writer's MiB/s of keys+values (0: unlimited; 2 as in RocksDB's benchmark.sh)")(
      "cache-mb", po::value(&f->cache_mb)->default_value(32), "block cache MiB for every engine")(
      "direct-reads", po::bool_switch(&f->engine.direct_reads),
      "read SSTables with O_DIRECT (Strata's use_direct_reads, RocksDB's; LevelDB has none): the cold-read profile")(
      "db", po::value(&f->engine.dir)->default_value("/tmp/strata-bench"),
      "root directory; one subdirectory per engine")(
      "use-existing", po::bool_switch(&f->use_existing),
      "do not wipe, pre-fill or delete the DBs: read what a previous --keep-db run left")(
      "keep-db", po::bool_switch(&f->keep_db), "keep the DB directories at exit")(
      "seed", po::value(&f->seed)->default_value(301), "seed of keys and values")(
      "json", po::bool_switch(&f->json), "one JSON object per line on stdout (text on stderr)");
  po::variables_map vm;
  try {
    // No positional arguments and no abbreviated flags: a typo must not run another benchmark.
    po::store(po::command_line_parser(argc, argv)
                  .options(desc)
                  .positional(po::positional_options_description())
                  .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "strata-bench: " << e.what() << "\n" << desc;
    *exit_code = 2;
    return false;
  }
  if (vm.count("help")) {
    std::cout << desc;
    *exit_code = 0;
    return false;
  }
  if (vm.count("version")) {
    std::cout << "strata-bench " STRATA_VERSION "\n";
    *exit_code = 0;
    return false;
  }
  auto fail = [&](const std::string& msg) {
    std::cerr << "strata-bench: " << msg << "\n";
    *exit_code = 2;
    return false;
  };
  if (f->num == 0) return fail("--num must be > 0");
  if (f->repeat < 1) return fail("--repeat must be >= 1");
  if (f->engine.threads < 1 || f->engine.concurrency < 1 || f->writers < 1) return fail("thread counts must be >= 1");
  if (f->key_size < 8 || f->key_size > 1024) return fail("--key-size must be in [8, 1024]");
  if (f->key_size < 20 && f->num > static_cast<uint64_t>(std::pow(10.0, static_cast<double>(f->key_size)))) {
    return fail("--num does not fit in --key-size decimal digits");
  }
  if (f->value_size == 0 || f->value_size > ValueBuffer::kBytes) return fail("--value-size must be in [1, 1 MiB]");
  if (f->compression == "none")
    f->engine.compression = Compression::none;
  else if (f->compression == "snappy")
    f->engine.compression = Compression::snappy;
  else if (f->compression == "lz4")
    f->engine.compression = Compression::lz4;
  else if (f->compression == "zstd")
    f->engine.compression = Compression::zstd;
  else
    return fail("--compression must be none, snappy, lz4 or zstd");
  f->engine.cache_bytes = f->cache_mb << 20;
  if (f->engine.direct_reads) {
    std::stringstream engines(f->engines);
    for (std::string e; std::getline(engines, e, ',');) {
      if (e == "leveldb") return fail("--direct-reads: leveldb cannot read with O_DIRECT; leave it out of --engines");
    }
  }
  f->sync_num = std::min(f->sync_num, f->num);
  return true;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// One engine's pass through the benchmark list in one --repeat round (db_bench's order and
// fresh-DB rules; see the top of this file). Records every run in *runs.
class RoundRunner {
 public:
  RoundRunner(const Flags& flags, const ValueBuffer& values, FILE* text,
              std::map<std::pair<std::string, std::string>, std::vector<RunRecord>>* runs)
      : flags_(flags), values_(values), text_(text), runs_(runs) {}

  // Returns false when the engine could not open its DB (printed).
  bool run(Engine& engine, const std::vector<BenchmarkSpec>& specs, int round) {
    bool is_open = false;
    filled_ = flags_.use_existing;
    dirty_ = false;
    for (size_t index = 0; index < specs.size(); ++index) {
      const BenchmarkSpec& spec = specs[index];
      if (spec.fresh_db() || !is_open) {
        bool fresh = spec.fresh_db() || !flags_.use_existing;
        if (std::string err = engine.open(fresh); !err.empty()) {
          std::fprintf(stderr, "strata-bench: %s open: %s\n", engine.name().c_str(), err.c_str());
          return false;
        }
        is_open = true;
        if (fresh) filled_ = false;
      }
      prepare(engine, spec, round);
      uint64_t ops = spec.workload == Workload::fillsync ? flags_.sync_num : flags_.num;
      // The stream depends on the workload too, so that a --use-existing readrandom does not
      // replay the keys of a fillrandom that had the same list position in an earlier run.
      Measurement m = run_job(engine, spec, ops, round, index + 1 + 100 * static_cast<uint64_t>(spec.workload));
      if (spec.op() == OpKind::put || spec.workload == Workload::readwhilewriting) dirty_ = true;
      if (spec.workload == Workload::fillseq || spec.workload == Workload::fillrandom) filled_ = true;
      if (spec.workload == Workload::fillsync) filled_ = false;
      record(engine, spec, round, m);
    }
    engine.close();
    if (!flags_.keep_db && !flags_.use_existing) {
      // Deleting the files drops their page cache before the next engine runs.
      std::error_code ec;
      std::filesystem::remove_all(flags_.engine.dir + "/" + engine.name(), ec);
    }
    return true;
  }

  uint64_t total_errors() const { return total_errors_; }

 private:
  // Untimed work before a measured benchmark: the pre-fill a read needs, the settle after
  // writes, and a sync() so that no benchmark pays for the kernel writing back what an earlier
  // benchmark or engine left in the page cache.
  void prepare(Engine& engine, const BenchmarkSpec& spec, int round) {
    if (spec.needs_data() && !filled_) {
      std::fprintf(text_, "# %s: unmeasured fillrandom of %llu keys first\n", engine.name().c_str(),
                   static_cast<unsigned long long>(flags_.num));
      std::fflush(text_);
      auto pre = run_job(engine, *parse_benchmark("fillrandom"), flags_.num, round, 999);
      total_errors_ += pre.errors;
      filled_ = true;
      dirty_ = true;
    }
    if (spec.op() != OpKind::put && dirty_) {
      std::fprintf(text_, "# %s settle: %s\n", engine.name().c_str(), engine.settle().c_str());
      dirty_ = false;
    }
    ::sync();
  }

  // Every benchmark of a round draws its own keys (`stream`; db_bench gives each benchmark's
  // threads fresh seeds): readrandom must not replay the exact keys fillrandom wrote.
  Measurement run_job(Engine& engine, const BenchmarkSpec& spec, uint64_t ops, int round, uint64_t stream) {
    std::atomic<uint64_t> progress{0};
    Job job;
    job.spec = spec;
    job.ops = ops;
    job.key_space = flags_.num;
    job.workers = spec.workload == Workload::fillsync ? (spec.writers > 0 ? spec.writers : flags_.writers)
                                                      : engine.default_workers();
    job.threads = spec.threads;
    job.key_size = flags_.key_size;
    job.value_size = flags_.value_size;
    job.seed = flags_.seed + static_cast<uint64_t>(round) * 1000 + stream;
    job.values = &values_;
    job.writer_puts_per_sec =
        flags_.write_rate_mb * 1048576.0 / static_cast<double>(flags_.key_size + flags_.value_size);
    job.progress = &progress;
    ProgressLine line(engine.name() + " " + spec.label, ops, &progress);
    return engine.run(job);
  }

  void record(Engine& engine, const BenchmarkSpec& spec, int round, const Measurement& m) {
    RunRecord rec = make_record(engine.name(), spec.label, round, m);
    total_errors_ += rec.errors;
    (*runs_)[{engine.name(), spec.label}].push_back(rec);
    if (flags_.json) std::printf("%s\n", to_json(rec).c_str());
    std::fprintf(text_, "%s\n", to_text(rec).c_str());
    std::fprintf(text_, "# %s stats after %s: %s\n", engine.name().c_str(), spec.label.c_str(), engine.stats().c_str());
    std::fflush(stdout);
    std::fflush(text_);
  }

  const Flags& flags_;
  const ValueBuffer& values_;
  FILE* text_;
  std::map<std::pair<std::string, std::string>, std::vector<RunRecord>>* runs_;
  bool filled_ = false;  // the DB holds a fill of --num keys
  bool dirty_ = false;   // written since the last settle
  uint64_t total_errors_ = 0;
};

// The engines named by --engines. Exits (returns false, *exit_code set) on an unknown or
// unbuilt engine; skips, with a message, an engine that cannot run the options.
bool make_engines(const Flags& flags, std::vector<std::unique_ptr<Engine>>* engines, std::vector<std::string>* names) {
  for (const auto& name : split(flags.engines)) {
    EngineConfig config = flags.engine;
    config.dir = flags.engine.dir + "/" + name;
    std::string why_not;
    auto engine = make_engine(name, config, &why_not);
    if (engine == nullptr) {
      auto built = available_engines();
      bool in_build = std::find(built.begin(), built.end(), name) != built.end();
      std::cerr << "strata-bench: " << (in_build ? "skipping: " : "") << why_not << "\n";
      if (in_build) continue;  // in this build, but not with these options (compression)
      return false;
    }
    names->push_back(name);
    engines->push_back(std::move(engine));
  }
  if (engines->empty()) {
    std::cerr << "strata-bench: no engine can run these options\n";
    return false;
  }
  return true;
}

void print_header(int argc, char** argv, const Flags& flags, const std::vector<std::unique_ptr<Engine>>& engines,
                  FILE* text) {
  std::string cmdline;
  for (int i = 0; i < argc; ++i) cmdline += (i ? " " : "") + std::string(argv[i]);
  std::fprintf(text, "# %s\n", cmdline.c_str());
  std::fprintf(text,
               "# num=%llu sync_num=%llu repeat=%d key_size=%zu value_size=%zu (~2x compressible) seed=%llu "
               "cpus=%u\n",
               static_cast<unsigned long long>(flags.num), static_cast<unsigned long long>(flags.sync_num),
               flags.repeat, flags.key_size, flags.value_size, static_cast<unsigned long long>(flags.seed),
               std::thread::hardware_concurrency());
  std::fprintf(text,
               "# durability: strata SyncPolicy::none == peers WriteOptions.sync=false (acknowledged once the "
               "WAL write reached the kernel); fillsync: strata SyncPolicy::always == peers sync=true (fdatasync "
               "before acknowledgement)\n");
  for (const auto& e : engines) std::fprintf(text, "# %s\n", e->describe().c_str());
  std::fflush(text);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  int exit_code = 0;
  if (!parse_flags(argc, argv, &flags, &exit_code)) return exit_code;
  std::vector<BenchmarkSpec> specs;
  std::string error;
  if (!parse_benchmark_list(flags.benchmarks, &specs, &error)) {
    std::cerr << "strata-bench: " << error << "\n";
    return 2;
  }
  // Text goes to stderr when stdout carries JSON.
  FILE* text = flags.json ? stderr : stdout;
  std::vector<std::unique_ptr<Engine>> engines;
  std::vector<std::string> engine_names;
  if (!make_engines(flags, &engines, &engine_names)) return 2;
  print_header(argc, argv, flags, engines, text);

  ValueBuffer values(flags.seed);
  std::map<std::pair<std::string, std::string>, std::vector<RunRecord>> runs;
  RoundRunner runner(flags, values, text, &runs);
  for (int round = 1; round <= flags.repeat; ++round) {
    for (auto& engine : engines) {
      if (!runner.run(*engine, specs, round)) return 1;
    }
  }

  std::vector<std::string> labels;
  for (const auto& s : specs) labels.push_back(s.label);
  std::vector<RunRecord> medians;
  for (const auto& name : engine_names) {
    for (const auto& label : labels) {
      auto it = runs.find({name, label});
      if (it != runs.end()) medians.push_back(median_of(it->second));
    }
  }
  if (flags.repeat > 1) {
    std::fprintf(text, "\n# medians of %d runs\n", flags.repeat);
    for (const auto& m : medians) {
      if (flags.json) std::printf("%s\n", to_json(m).c_str());
      std::fprintf(text, "%s\n", to_text(m).c_str());
    }
  }
  std::fprintf(text, "\n%s", summary_table(medians, engine_names, labels).c_str());
  std::fflush(stdout);
  std::fflush(text);
  engines.clear();
  if (runner.total_errors() > 0) {
    std::fprintf(stderr, "strata-bench: %llu operations failed\n",
                 static_cast<unsigned long long>(runner.total_errors()));
    return 1;
  }
  return 0;
}
