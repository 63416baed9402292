// DBImpl: the read path — point lookups, scans, snapshots and the table cache.
#include <algorithm>
#include <span>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "lib/compaction/merging_iterator.h"
#include "lib/db/db_impl.h"
#include "lib/db/db_iterator.h"
#include "lib/db/level_iterator.h"
#include "lib/db/point_lookup.h"
#include "lib/db/read_quota.h"
#include "lib/util/clock.h"
#include "lib/util/key_prefix.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"

namespace strata {

namespace asio = boost::asio;

std::shared_ptr<const DBImpl::SuperVersion> DBImpl::super_version() const {
  std::lock_guard lock(mu_);
  return sv_;
}

Snapshot DBImpl::snapshot() {
  std::lock_guard lock(mu_);
  SequenceNumber seq = latest_sequence();
  auto it = snapshots_.insert(seq);
  // The pin removes the sequence number when the last copy of the Snapshot is destroyed.
  // REQUIRES (documented in db.h): snapshots do not outlive the DB.
  std::shared_ptr<void> pin(nullptr, [this, it](void*) {
    std::lock_guard lock(mu_);
    snapshots_.erase(it);
  });
  return Snapshot(seq, std::move(pin));
}

// The reader of an SSTable: pinned in its metadata, or from the table cache (opened on first use).
asio::awaitable<Result<std::shared_ptr<sstable::TableReader>>> DBImpl::table(const FileMetaData& meta) {
  auto r = co_await table_cache_->find(meta);
  co_return r;
}

PointLookup::Sources DBImpl::lookup_sources(const SuperVersion& sv) {
  return PointLookup::Sources{.mem = sv.mem.get(),
                              .imms = sv.imms,
                              .version = sv.version.get(),
                              .tables = table_cache_.get(),
                              .table_probes = &table_probes_};
}

// Lets the other work of this coroutine's executor run (ReadQuota), then resumes.
asio::awaitable<void> DBImpl::yield_executor() {
  auto ex = co_await asio::this_coro::executor;
  co_await asio::post(ex, asio::use_awaitable);
  ReadQuota::refill();
}

void DBImpl::charge_seek(const PointLookup& lookup) {
  int level = 0;
  const FileMetaData* f = lookup.wasted_probe(&level);
  if (f == nullptr) return;
  // One charge of kSample seeks per kSample wasted probes of this thread: the budget is an atomic
  // on the file's metadata, and readers on every core would otherwise share its cache line.
  constexpr int64_t kSample = 8;
  thread_local uint32_t wasted = 0;
  if (++wasted % kSample != 0) return;
  const Version& version = lookup.version();
  if (!f->seeks.charge(kSample, [&] { return seek_compaction_input_bytes(version, level, *f); })) return;
  std::lock_guard lock(mu_);
  if (!picker_.seek_compaction) {
    STRATA_LOG(info, "%s: L%d %06llu.sst used up its seek budget: scheduling its seek compaction", path_.c_str(), level,
               static_cast<unsigned long long>(f->number));
    picker_.seek_compaction.emplace(level, f->number);
    maybe_schedule_compaction_locked();
  }
}

asio::awaitable<Result<Found>> DBImpl::get(std::string_view key, std::string* value, ReadOptions options) {
  gets_.add();
  // Sequence first, then the SuperVersion: the SuperVersion then holds every write <= seq.
  SequenceNumber seq = options.snapshot.value_or(latest_sequence());
  auto sv = super_version();
  if (!sv) co_return make_error_code(Errc::shutting_down);
  PointLookup lookup(key, seq, lookup_sources(*sv), /*trace=*/nullptr, value);
  STRATA_CO_TRY_ASSIGN(sstable::GetStep step, lookup.run_cached());
  if (step == sstable::GetStep::needs_io) {
    auto finishing = lookup.finish();
    STRATA_CO_TRY(co_await std::move(finishing));
  }
  if (options_.seek_compaction) charge_seek(lookup);
  if (step == sstable::GetStep::needs_io) {
    ReadQuota::refill();
  } else if (ReadQuota::spent()) {
    co_await yield_executor();
  }
  if (!lookup.found()) value->clear();
  co_return lookup.found() ? Found::yes : Found::no;
}

asio::awaitable<Result<std::optional<std::string>>> DBImpl::get(std::string key, ReadOptions options) {
  std::string value;
  auto getting = get(std::string_view(key), &value, std::move(options));
  STRATA_CO_TRY_ASSIGN(Found found, co_await std::move(getting));
  if (found == Found::no) co_return std::nullopt;
  co_return std::optional<std::string>(std::move(value));
}

asio::awaitable<Result<std::vector<std::optional<std::string>>>> DBImpl::multi_get(std::vector<std::string> keys,
                                                                                   ReadOptions options) {
  gets_.add(keys.size());
  SequenceNumber seq = options.snapshot.value_or(latest_sequence());
  auto sv = super_version();
  if (!sv) co_return make_error_code(Errc::shutting_down);
  // One allocation for the batch's lookups (a PointLookup must not move once it runs).
  const size_t n = keys.size();
  auto slots = std::make_unique<std::optional<PointLookup>[]>(n);
  std::span<std::optional<PointLookup>> lookups(slots.get(), n);
  std::vector<PointLookup*> pending;
  for (size_t i = 0; i < n; ++i) lookups[i].emplace(keys[i], seq, lookup_sources(*sv));
  // Filters and index segments of every key first, then their data blocks, then the lookups:
  // the batch's cache misses overlap (TableReader::prefetch_get).
  if (lookups.size() > 1) {
    for (auto& l : lookups) l->prefetch(0);
    for (auto& l : lookups) l->prefetch(1);
  }
  for (auto& l : lookups) {
    STRATA_CO_TRY_ASSIGN(sstable::GetStep step, l->run_cached());
    if (step == sstable::GetStep::needs_io) pending.push_back(&*l);
  }
  if (!pending.empty()) {
    // The lookups that need I/O run concurrently on this executor, so that their block reads
    // are in flight together; the first error wins.
    auto finishing = finish_all(std::move(pending));
    STRATA_CO_TRY(co_await std::move(finishing));
    ReadQuota::refill();
  } else if (ReadQuota::spent(static_cast<uint32_t>(lookups.size()))) {
    co_await yield_executor();
  }
  std::vector<std::optional<std::string>> out;
  out.reserve(lookups.size());
  for (auto& l : lookups) {
    if (options_.seek_compaction) charge_seek(*l);
    out.push_back(l->take_answer());
  }
  co_return out;
}

asio::awaitable<Result<void>> DBImpl::finish_all(std::vector<PointLookup*> lookups) {
  if (lookups.size() == 1) {
    auto finishing = lookups[0]->finish();
    co_return co_await std::move(finishing);
  }
  struct Join {
    std::atomic<size_t> left;
    std::mutex mu;
    Result<void> result = ok();
    Oneshot<bool> done;
  };
  auto join = std::make_shared<Join>();
  join->left.store(lookups.size());
  auto ex = co_await asio::this_coro::executor;
  for (PointLookup* l : lookups) {
    // Each task lives until its finish() completes; *l outlives it because this coroutine waits
    // for every task before it returns.
    asio::co_spawn(ex, l->finish(), [join](std::exception_ptr e, Result<void> r) {
      if (e || !r) {
        std::lock_guard lock(join->mu);
        if (join->result) join->result = e ? make_error_code(Errc::io_error) : r;
      }
      if (join->left.fetch_sub(1, std::memory_order_acq_rel) == 1) join->done.set(true);
    });
  }
  co_await join->done.wait();
  std::lock_guard lock(join->mu);
  co_return join->result;
}

asio::awaitable<Result<LookupTrace>> DBImpl::trace(std::string key, ReadOptions options) {
  uint64_t start = SystemClock::instance().now_micros();
  LookupTrace t;
  t.key = key;
  SequenceNumber seq = options.snapshot.value_or(latest_sequence());
  auto sv = super_version();
  if (!sv) co_return make_error_code(Errc::shutting_down);
  PointLookup lookup(key, seq, lookup_sources(*sv), &t);
  STRATA_CO_TRY_ASSIGN(sstable::GetStep step, lookup.run_cached());
  if (step == sstable::GetStep::needs_io) {
    auto finishing = lookup.finish();
    STRATA_CO_TRY(co_await std::move(finishing));
  }
  t.found = lookup.found();
  t.value = lookup.take_answer();
  t.micros = SystemClock::instance().now_micros() - start;
  co_return t;
}

std::unique_ptr<Iterator> DBImpl::new_iterator(ReadOptions options) {
  // Sequence first, then the SuperVersion (as in get()).
  SequenceNumber seq = options.snapshot.value_or(latest_sequence());
  auto sv = super_version();
  if (!sv) return new_error_iterator(make_error_code(Errc::shutting_down));
  std::string lower = std::move(options.lower_bound), upper = std::move(options.upper_bound);
  if (!options.prefix.empty()) {
    if (lower < options.prefix) lower = options.prefix;
    std::string succ = prefix_successor(options.prefix);
    if (!succ.empty() && (upper.empty() || succ < upper)) upper = std::move(succ);
  }
  TableIteratorFactory open = [this, fill_cache = options.fill_cache](
                                  const FileMetaData& f) -> asio::awaitable<Result<std::unique_ptr<InternalIterator>>> {
    auto reader = co_await table(f);
    if (!reader) co_return reader.error();
    co_return (*reader)->new_iterator(fill_cache);
  };
  // Without I/O: the reader pinned in the file's metadata (TableCache::find_pinned).
  TableIteratorOpener open_in_memory =
      [this, fill_cache = options.fill_cache](const FileMetaData& f) -> std::unique_ptr<InternalIterator> {
    const sstable::TableReader* reader = table_cache_->find_pinned(f);
    // Borrowed: the pin lives as long as `f`, which the iterator's SuperVersion holds.
    return reader == nullptr ? nullptr : reader->new_borrowed_iterator(fill_cache);
  };
  auto outside_bounds = [&](const FileMetaData& f) {
    return (!upper.empty() && extract_user_key(f.smallest) >= upper) ||
           (!lower.empty() && extract_user_key(f.largest) < lower);
  };
  std::vector<std::unique_ptr<InternalIterator>> children;
  children.reserve(1 + sv->imms.size() + sv->version->files(0).size() + kNumLevels - 1);
  // Borrowed memtables and readers: the DBIter holds `sv`, which pins them, and destroys its
  // children first.
  children.push_back(MemTable::new_borrowed_iterator(*sv->mem));
  for (const auto& imm : sv->imms) children.push_back(MemTable::new_borrowed_iterator(*imm));
  // The level iterators view the pinned Version's file lists (the DBIter holds `sv`).
  for (int level = 0; level < kNumLevels; ++level) {
    const Version::FileList& files = sv->version->files(level);
    if (level == 0) {
      for (size_t i = 0; i < files.size(); ++i) {
        if (outside_bounds(*files[i])) continue;
        children.push_back(new_level_iterator(std::span(files).subspan(i, 1), open, open_in_memory));
      }
      continue;
    }
    // Sorted and disjoint: the files within the bounds are one run, found by binary search.
    auto first = files.begin(), last = files.end();
    if (!lower.empty()) {
      first = std::partition_point(first, last, [&](const auto& f) { return extract_user_key(f->largest) < lower; });
    }
    if (!upper.empty()) {
      last = std::partition_point(first, last, [&](const auto& f) { return extract_user_key(f->smallest) < upper; });
    }
    if (first == last) continue;
    children.push_back(new_level_iterator(std::span(first, last), open, open_in_memory));
  }
  return new_db_iterator(new_merging_iterator(std::move(children)), seq, std::move(lower), std::move(upper),
                         std::shared_ptr<const void>(sv));
}

asio::awaitable<Result<std::vector<KeyValue>>> DBImpl::scan(std::string start, std::string end, size_t limit,
                                                            ReadOptions options) {
  scans_.fetch_add(1, std::memory_order_relaxed);
  if (!end.empty() && (options.upper_bound.empty() || end < options.upper_bound)) options.upper_bound = end;
  auto it = new_iterator(std::move(options));
  std::vector<KeyValue> out;
  if (limit != 0 && limit <= 1024) out.reserve(limit);
  Result<void> r;
  if (!it->try_seek(start, &r)) r = co_await it->seek(start);
  while (true) {
    if (!r) co_return r.error();
    if (!it->valid()) break;
    out.push_back(KeyValue{std::string(it->key()), std::string(it->value())});
    if (limit != 0 && out.size() >= limit) break;
    if (!it->try_next(&r)) r = co_await it->next();  // suspends only for a block read
  }
  if (ReadQuota::spent(static_cast<uint32_t>(out.size()) + 1)) co_await yield_executor();
  co_return out;
}

uint64_t LookupTrace::sstables_consulted() const {
  uint64_t n = 0;
  for (const auto& s : steps) n += s.level >= 0 ? 1 : 0;
  return n;
}
uint64_t LookupTrace::bloom_negatives() const {
  uint64_t n = 0;
  for (const auto& s : steps) n += s.outcome == "bloom_negative" ? 1 : 0;
  return n;
}
uint64_t LookupTrace::block_cache_hits() const {
  uint64_t n = 0;
  for (const auto& s : steps) n += s.block_cache_hits;
  return n;
}
uint64_t LookupTrace::blocks_read() const {
  uint64_t n = 0;
  for (const auto& s : steps) n += s.blocks_read;
  return n;
}

}  // namespace strata
