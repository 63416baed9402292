// DBImpl: the read path — point lookups, scans, snapshots and the table cache.
#include "lib/compaction/merging_iterator.h"
#include "lib/db/db_impl.h"
#include "lib/db/db_iterator.h"
#include "lib/db/level_iterator.h"
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
  // Sequence first, then the SuperVersion: the SuperVersion then holds every write <= seq.
  SequenceNumber seq = options.snapshot.value_or(latest_sequence());
  auto sv = super_version();
  if (!sv) co_return make_error_code(Errc::shutting_down);
  if (auto r = sv->mem->get(key, seq)) {
    if (r->deleted) co_return std::optional<std::string>{};
    co_return std::optional<std::string>(std::move(r->value));
  }
  for (const auto& imm : sv->imms) {
    if (auto r = imm->get(key, seq)) {
      if (r->deleted) co_return std::optional<std::string>{};
      co_return std::optional<std::string>(std::move(r->value));
    }
  }
  std::string lookup = make_internal_key(key, seq, kValueTypeForSeek);
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
      auto entry = co_await (*reader)->get(lookup);
      if (!entry) co_return entry.error();
      if (!*entry) continue;
      ParsedInternalKey parsed;
      if (!parse_internal_key((*entry)->internal_key, &parsed)) {
        STRATA_LOG(error, "SSTable %06llu: malformed internal key", static_cast<unsigned long long>(f->number));
        co_return make_error_code(Errc::corruption);
      }
      if (parsed.type == ValueType::deletion) co_return std::optional<std::string>{};
      co_return std::optional<std::string>(std::move((*entry)->value));
    }
  }
  co_return std::optional<std::string>{};
}

namespace {

// The smallest string greater than every string starting with `prefix`; empty if none exists.
std::string prefix_successor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

}  // namespace

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

}  // namespace strata
