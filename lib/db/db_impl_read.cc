// DBImpl: the read path — point lookups, scans, snapshots and the table cache.
#include "lib/compaction/merging_iterator.h"
#include "lib/db/db_impl.h"
#include "lib/db/db_iterator.h"
#include "lib/db/level_iterator.h"
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

// The reader of an SSTable, from the table cache (opened on first use, LRU of
// Options::max_open_files readers).
asio::awaitable<Result<std::shared_ptr<sstable::TableReader>>> DBImpl::table(const FileMetaData& meta) {
  auto r = co_await table_cache_->find(meta.number, meta.file_size);
  co_return r;
}

asio::awaitable<Result<std::optional<std::string>>> DBImpl::get(std::string key, ReadOptions options) {
  gets_.fetch_add(1, std::memory_order_relaxed);
  co_return co_await lookup(std::move(key), options, nullptr);
}

asio::awaitable<Result<LookupTrace>> DBImpl::trace(std::string key, ReadOptions options) {
  uint64_t start = SystemClock::instance().now_micros();
  LookupTrace t;
  t.key = key;
  auto v = co_await lookup(std::move(key), options, &t);
  if (!v) co_return v.error();
  t.found = v->has_value();
  t.value = std::move(*v);
  t.micros = SystemClock::instance().now_micros() - start;
  co_return t;
}

// The point lookup behind get() and trace(); `trace` (may be null) records every step.
asio::awaitable<Result<std::optional<std::string>>> DBImpl::lookup(std::string key, ReadOptions options,
                                                                  LookupTrace* trace) {
  // Sequence first, then the SuperVersion: the SuperVersion then holds every write <= seq.
  SequenceNumber seq = options.snapshot.value_or(latest_sequence());
  auto sv = super_version();
  if (!sv) co_return make_error_code(Errc::shutting_down);
  if (trace != nullptr) trace->read_sequence = seq;
  auto memtable_step = [&](std::string source, const std::optional<MemTable::LookupResult>& r) {
    if (trace == nullptr) return;
    trace->steps.push_back(LookupTrace::Step{
        .source = std::move(source), .outcome = !r ? "absent" : (r->deleted ? "tombstone" : "found")});
  };
  {
    auto r = sv->mem->get(key, seq);
    memtable_step("memtable", r);
    if (r) {
      if (r->deleted) co_return std::optional<std::string>{};
      co_return std::optional<std::string>(std::move(r->value));
    }
  }
  for (size_t i = 0; i < sv->imms.size(); ++i) {
    auto r = sv->imms[i]->get(key, seq);
    memtable_step("immutable memtable " + std::to_string(i + 1), r);
    if (r) {
      if (r->deleted) co_return std::optional<std::string>{};
      co_return std::optional<std::string>(std::move(r->value));
    }
  }
  std::string lookup_key = make_internal_key(key, seq, kValueTypeForSeek);
  // L0 files overlap and are ordered newest first: every one whose range covers the key is
  // consulted in that order. Deeper levels are disjoint: at most one file per level (binary
  // search). Either way the newest version at or below seq is found first.
  for (int level = 0; level < kNumLevels; ++level) {
    const auto& files = sv->version->files(level);
    size_t begin = 0, end = files.size();
    if (level > 0) {
      begin = sv->version->find_file(level, key);
      end = std::min(end, begin + 1);
    }
    for (size_t i = begin; i < end; ++i) {
      const auto& f = files[i];
      if (key < extract_user_key(f->smallest) || key > extract_user_key(f->largest)) continue;
      table_probes_.fetch_add(1, std::memory_order_relaxed);
      auto reader = co_await table(*f);
      if (!reader) co_return reader.error();
      sstable::GetTrace gt;
      auto entry = co_await (*reader)->get(lookup_key, trace != nullptr ? &gt : nullptr);
      if (!entry) co_return entry.error();
      ParsedInternalKey parsed;
      if (*entry && !parse_internal_key((*entry)->internal_key, &parsed)) {
        STRATA_LOG(error, "SSTable %06llu: malformed internal key", static_cast<unsigned long long>(f->number));
        co_return make_error_code(Errc::corruption);
      }
      if (trace != nullptr) {
        char name[32];
        snprintf(name, sizeof name, "L%d %06llu.sst", level, static_cast<unsigned long long>(f->number));
        std::string outcome = gt.bloom_negative ? "bloom_negative"
                              : !*entry          ? "absent"
                              : parsed.type == ValueType::deletion ? "tombstone"
                                                                   : "found";
        trace->steps.push_back(LookupTrace::Step{.source = name,
                                                 .level = level,
                                                 .file_number = f->number,
                                                 .outcome = std::move(outcome),
                                                 .bloom_checked = gt.bloom_checked,
                                                 .block_cache_hits = gt.cache_hits(),
                                                 .blocks_read = gt.blocks_read(),
                                                 .bytes_read = gt.bytes_read()});
        if (*entry) trace->found_sequence = parsed.sequence;
      }
      if (!*entry) continue;
      if (parsed.type == ValueType::deletion) co_return std::optional<std::string>{};
      co_return std::optional<std::string>(std::move((*entry)->value));
    }
  }
  co_return std::optional<std::string>{};
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
  TableIteratorFactory open = [this](const FileMetaData& f) -> asio::awaitable<Result<std::unique_ptr<InternalIterator>>> {
    auto reader = co_await table(f);
    if (!reader) co_return reader.error();
    co_return (*reader)->new_iterator();
  };
  std::vector<std::unique_ptr<InternalIterator>> children;
  children.push_back(MemTable::new_internal_iterator(sv->mem));
  for (const auto& imm : sv->imms) children.push_back(MemTable::new_internal_iterator(imm));
  for (int level = 0; level < kNumLevels; ++level) {
    Version::FileList files;
    for (const auto& f : sv->version->files(level)) {
      if (!upper.empty() && extract_user_key(f->smallest) >= upper) continue;
      if (!lower.empty() && extract_user_key(f->largest) < lower) continue;
      files.push_back(f);
    }
    if (files.empty()) continue;
    if (level == 0) {
      for (auto& f : files) children.push_back(new_level_iterator({f}, open));
    } else {
      children.push_back(new_level_iterator(std::move(files), open));
    }
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
  for (auto r = co_await it->seek(start); ; r = co_await it->next()) {
    if (!r) co_return r.error();
    if (!it->valid()) break;
    out.push_back(KeyValue{std::string(it->key()), std::string(it->value())});
    if (limit != 0 && out.size() >= limit) break;
  }
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
