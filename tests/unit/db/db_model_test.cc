// A randomized model test of the whole engine: puts, deletes, batches, snapshots, point reads,
// scans and iterator walks in both directions, flushes, range compactions and reopens, checked
// against a std::map for the latest state and one per live snapshot.
//
// Every step is checked: a write by reading its keys back at the latest state and at every live
// snapshot; reads and scans against the model they ask about; every 1,000 steps a full scan of
// the latest state and of each snapshot, forward and backward.
// Replay: STRATA_MODEL_SEED=<seed> (or STRATA_SEED; printed as "# seed=..."), STRATA_MODEL_OPS=<count>
// (default 200,000 per run). With STRATA_SOAK_SECONDS=S (the reliability entry `db_model`,
// scripts/soak db_model MINUTES) runs repeat, each on a fresh DB with a seed drawn from the first
// one, until S seconds have passed; the first run's seed replays the whole sequence.
#include <doctest/doctest.h>

#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "lib/util/random.h"
#include "tests/test_util.h"

using namespace strata;
using strata::testing::env_u64;
using strata::testing::run;
namespace asio = boost::asio;

namespace {

using Model = std::map<std::string, std::string>;

struct LiveSnapshot {
  Snapshot handle;
  Model state;
};

class ModelTest {
 public:
  ModelTest(uint64_t seed, uint64_t ops) : rnd_(seed), seed_(seed), ops_(ops) {}

  asio::awaitable<void> run_all() {
    co_await open();
    for (step_ = 0; step_ < ops_; ++step_) {
      uint64_t dice = rnd_.uniform(1000);
      if (dice < 380) {
        co_await do_put();
      } else if (dice < 520) {
        co_await do_del();
      } else if (dice < 600) {
        co_await do_batch();
      } else if (dice < 760) {
        co_await do_get();
      } else if (dice < 840) {
        co_await do_scan();
      } else if (dice < 900) {
        co_await do_walk();
      } else if (dice < 940) {
        take_snapshot();
      } else if (dice < 975) {
        release_snapshot();
      } else if (dice < 990) {
        REQUIRE_MESSAGE((co_await db_->flush()).has_value(), where());
      } else if (dice < 997) {
        co_await do_compact();
      } else {
        co_await reopen();
      }
      if (step_ % 1000 == 999) co_await full_check();
    }
    co_await full_check();
    snapshots_.clear();
    auto s = db_->stats();
    MESSAGE("seed=" << seed_ << " ops=" << ops_ << " reopens=" << reopens_ << " compactions=" << s.compactions
                    << " sstables=" << s.sstable_count);
    std::printf("# seed=%llu ops=%llu reopens=%llu keys=%zu\n", static_cast<unsigned long long>(seed_),
                static_cast<unsigned long long>(ops_), static_cast<unsigned long long>(reopens_), latest_.size());
    REQUIRE((co_await db_->close()).has_value());
  }

  uint64_t reopens() const { return reopens_; }

 private:
  std::string where() const { return "seed=" + std::to_string(seed_) + " step=" + std::to_string(step_); }

  std::string random_key() {
    char buf[24];
    // A small key space so keys are overwritten and deleted often; some long keys.
    uint64_t n = rnd_.uniform(3000);
    snprintf(buf, sizeof buf, "key%05llu", static_cast<unsigned long long>(n));
    std::string k = buf;
    if (n % 97 == 0) k += std::string(200, 'L');
    return k;
  }

  std::string random_value() {
    std::string v = "v" + std::to_string(step_) + ":";
    size_t len = rnd_.one_in(50) ? rnd_.uniform(5000) : rnd_.uniform(60);
    for (size_t i = 0; i < len; ++i) v.push_back(static_cast<char>('a' + rnd_.uniform(26)));
    return v;
  }

  Options options() {
    Options o;
    o.file_system = &fs_;
    o.wal_preallocate_bytes = 0;
    o.sync = SyncPolicy::none;
    o.memtable_size_bytes = 32 << 10;
    o.block_size_bytes = 1024;
    o.target_file_size_bytes = 16 << 10;
    o.max_bytes_for_level_base = 64 << 10;
    o.max_bytes_for_level_multiplier = 4;
    o.l0_compaction_trigger = 2;
    return o;
  }

  asio::awaitable<void> open() {
    auto db = co_await DB::open(co_await asio::this_coro::executor, "/db", options());
    REQUIRE_MESSAGE(db.has_value(), where());
    db_ = std::move(*db);
  }

  asio::awaitable<void> reopen() {
    snapshots_.clear();  // snapshots do not survive a restart
    REQUIRE_MESSAGE((co_await db_->close()).has_value(), where());
    db_.reset();
    co_await open();
    ++reopens_;
  }

  asio::awaitable<void> check_key(const std::string& k) {
    auto got = co_await db_->get(k);
    REQUIRE_MESSAGE(got.has_value(), where());
    auto it = latest_.find(k);
    std::optional<std::string> want;
    if (it != latest_.end()) want = it->second;
    REQUIRE_MESSAGE(*got == want, where() << " key=" << k);
    for (auto& s : snapshots_) {
      auto old = co_await db_->get(k, ReadOptions{.snapshot = s.handle.sequence()});
      REQUIRE_MESSAGE(old.has_value(), where());
      auto sit = s.state.find(k);
      std::optional<std::string> swant;
      if (sit != s.state.end()) swant = sit->second;
      REQUIRE_MESSAGE(*old == swant, where() << " key=" << k << " at snapshot " << s.handle.sequence());
    }
  }

  asio::awaitable<void> do_put() {
    std::string k = random_key(), v = random_value();
    REQUIRE_MESSAGE((co_await db_->put(k, v)).has_value(), where());
    latest_[k] = v;
    co_await check_key(k);
  }

  asio::awaitable<void> do_del() {
    std::string k = random_key();
    REQUIRE_MESSAGE((co_await db_->del(k)).has_value(), where());
    latest_.erase(k);
    co_await check_key(k);
  }

  asio::awaitable<void> do_batch() {
    WriteBatch batch;
    std::vector<std::string> keys;
    size_t n = 1 + rnd_.uniform(10);
    for (size_t i = 0; i < n; ++i) {
      std::string k = random_key();
      keys.push_back(k);
      if (rnd_.one_in(3)) {
        batch.del(k);
        latest_.erase(k);
      } else {
        std::string v = random_value();
        batch.put(k, v);
        latest_[k] = v;
      }
    }
    REQUIRE_MESSAGE((co_await db_->write(std::move(batch))).has_value(), where());
    for (const auto& k : keys) co_await check_key(k);
  }

  const Model& pick_state(std::optional<SequenceNumber>* seq) {
    if (!snapshots_.empty() && rnd_.one_in(2)) {
      auto& s = snapshots_[rnd_.uniform(snapshots_.size())];
      *seq = s.handle.sequence();
      return s.state;
    }
    *seq = std::nullopt;
    return latest_;
  }

  asio::awaitable<void> do_get() {
    std::optional<SequenceNumber> seq;
    const Model& m = pick_state(&seq);
    std::string k = random_key();
    auto got = co_await db_->get(k, ReadOptions{.snapshot = seq});
    REQUIRE_MESSAGE(got.has_value(), where());
    auto it = m.find(k);
    std::optional<std::string> want;
    if (it != m.end()) want = it->second;
    REQUIRE_MESSAGE(*got == want, where() << " get " << k);
  }

  asio::awaitable<void> do_scan() {
    std::optional<SequenceNumber> seq;
    const Model& m = pick_state(&seq);
    std::string lo = random_key(), hi = rnd_.one_in(4) ? std::string() : random_key();
    size_t limit = rnd_.one_in(3) ? 0 : 1 + rnd_.uniform(100);
    bool reverse = rnd_.one_in(2);
    std::vector<std::pair<std::string, std::string>> want;
    if (!reverse) {
      for (auto it = m.lower_bound(lo); it != m.end() && (hi.empty() || it->first < hi); ++it) {
        if (limit != 0 && want.size() >= limit) break;
        want.emplace_back(*it);
      }
      auto got = co_await db_->scan(lo, hi, limit, ReadOptions{.snapshot = seq});
      REQUIRE_MESSAGE(got.has_value(), where());
      REQUIRE_MESSAGE(got->size() == want.size(), where() << " scan [" << lo << "," << hi << ")");
      for (size_t i = 0; i < want.size(); ++i) {
        REQUIRE_MESSAGE((*got)[i].key == want[i].first, where());
        REQUIRE_MESSAGE((*got)[i].value == want[i].second, where());
      }
      co_return;
    }
    // Reverse: keys in [lo, hi) from the largest down, through an iterator with bounds.
    auto it = db_->new_iterator(ReadOptions{.snapshot = seq, .lower_bound = lo, .upper_bound = hi});
    std::vector<std::pair<std::string, std::string>> got;
    for (auto r = co_await it->seek_to_last();; r = co_await it->prev()) {
      REQUIRE_MESSAGE(r.has_value(), where());
      if (!it->valid() || (limit != 0 && got.size() >= limit)) break;
      got.emplace_back(std::string(it->key()), std::string(it->value()));
    }
    for (auto mit = m.lower_bound(lo); mit != m.end() && (hi.empty() || mit->first < hi); ++mit)
      want.emplace_back(*mit);
    std::reverse(want.begin(), want.end());
    if (limit != 0 && want.size() > limit) want.resize(limit);
    REQUIRE_MESSAGE(got == want, where() << " reverse scan [" << lo << "," << hi << ")");
  }

  // Seek somewhere, then take random next/prev steps, comparing each position.
  asio::awaitable<void> do_walk() {
    std::optional<SequenceNumber> seq;
    const Model& m = pick_state(&seq);
    auto it = db_->new_iterator(ReadOptions{.snapshot = seq});
    std::string target = random_key();
    Model::const_iterator pos;
    bool valid;
    if (rnd_.one_in(2)) {
      // Half the seeks as a plain call first (try_seek), as DB::scan and the benchmarks do.
      Result<void> r;
      if (!rnd_.one_in(2) || !it->try_seek(target, &r)) r = co_await it->seek(target);
      REQUIRE_MESSAGE(r.has_value(), where());
      pos = m.lower_bound(target);
      valid = pos != m.end();
    } else {
      REQUIRE_MESSAGE((co_await it->seek_for_prev(target)).has_value(), where());
      pos = m.upper_bound(target);
      valid = pos != m.begin();
      if (valid) --pos;
    }
    for (int i = 0; i < 8; ++i) {
      REQUIRE_MESSAGE(it->valid() == valid, where() << " walk from " << target << " step " << i);
      if (!valid) break;
      REQUIRE_MESSAGE(it->key() == pos->first, where() << " walk step " << i);
      REQUIRE_MESSAGE(it->value() == pos->second, where());
      if (rnd_.one_in(2)) {
        Result<void> r;
        if (!rnd_.one_in(2) || !it->try_next(&r)) r = co_await it->next();
        REQUIRE(r.has_value());
        ++pos;
        valid = pos != m.end();
      } else {
        REQUIRE((co_await it->prev()).has_value());
        valid = pos != m.begin();
        if (valid) --pos;
      }
    }
  }

  void take_snapshot() {
    if (snapshots_.size() >= 4) return;
    snapshots_.push_back(LiveSnapshot{db_->snapshot(), latest_});
  }

  void release_snapshot() {
    if (snapshots_.empty()) return;
    snapshots_.erase(snapshots_.begin() + static_cast<long>(rnd_.uniform(snapshots_.size())));
  }

  asio::awaitable<void> do_compact() {
    std::string a = random_key(), b = random_key();
    if (b < a) std::swap(a, b);
    if (rnd_.one_in(3)) a.clear(), b.clear();
    REQUIRE_MESSAGE((co_await db_->compact_range(a, b)).has_value(), where());
  }

  asio::awaitable<void> compare_all(const Model& m, std::optional<SequenceNumber> seq) {
    auto it = db_->new_iterator(ReadOptions{.snapshot = seq});
    auto mit = m.begin();
    for (auto r = co_await it->seek_to_first();; r = co_await it->next()) {
      REQUIRE_MESSAGE(r.has_value(), where());
      if (!it->valid()) break;
      REQUIRE_MESSAGE(mit != m.end(), where() << " extra key " << it->key());
      REQUIRE_MESSAGE(it->key() == mit->first, where() << " full scan");
      REQUIRE_MESSAGE(it->value() == mit->second, where() << " full scan value of " << mit->first);
      ++mit;
    }
    REQUIRE_MESSAGE(mit == m.end(), where() << " missing key " << (mit == m.end() ? "" : mit->first));
    auto rit = m.rbegin();
    for (auto r = co_await it->seek_to_last();; r = co_await it->prev()) {
      REQUIRE_MESSAGE(r.has_value(), where());
      if (!it->valid()) break;
      REQUIRE_MESSAGE(rit != m.rend(), where());
      REQUIRE_MESSAGE(it->key() == rit->first, where() << " full reverse scan");
      ++rit;
    }
    REQUIRE_MESSAGE(rit == m.rend(), where());
  }

  asio::awaitable<void> full_check() {
    co_await compare_all(latest_, std::nullopt);
    for (auto& s : snapshots_) co_await compare_all(s.state, s.handle.sequence());
  }

  io::MemFileSystem fs_;
  Random rnd_;
  uint64_t seed_, ops_, step_ = 0, reopens_ = 0;
  std::unique_ptr<DB> db_;
  Model latest_;
  std::vector<LiveSnapshot> snapshots_;
};

}  // namespace

TEST_CASE("model test: the engine matches std::map through writes, snapshots, compactions and reopens") {
  const uint64_t seed =
      env_u64("STRATA_MODEL_SEED",
              env_u64("STRATA_SEED",
                      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) % 1000000007));
  const uint64_t ops = env_u64("STRATA_MODEL_OPS", 200000);
  const uint64_t soak_seconds = env_u64("STRATA_SOAK_SECONDS", 0);
  std::printf("# seed=%llu (replay: STRATA_MODEL_SEED=%llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(soak_seconds);
  Random seeds(seed);
  uint64_t runs = 0, total_ops = 0, reopens = 0;
  for (uint64_t r = 0; r == 0 || std::chrono::steady_clock::now() < deadline; ++r) {
    const uint64_t run_seed = r == 0 ? seed : seeds.next() % 1000000007;
    ModelTest t(run_seed, ops);
    run(t.run_all());  // REQUIREs inside: the first mismatch ends the test, naming seed and step
    ++runs;
    total_ops += ops;
    reopens += t.reopens();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("# runs=%llu ops=%llu reopens=%llu seconds=%.0f seed=%llu\n", static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(total_ops), static_cast<unsigned long long>(reopens), secs,
              static_cast<unsigned long long>(seed));
  CHECK(runs > 0);
}
