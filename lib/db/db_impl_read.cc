// DBImpl: the read path — point lookups, scans, snapshots and the table cache.
#include "lib/compaction/merging_iterator.h"
#include "lib/db/db_impl.h"
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
  for (int level = 0; level < kNumLevels; ++level) {
    // L0 files overlap and are ordered newest first; deeper levels are disjoint. Visiting every
    // file whose range covers the key, in that order, finds the newest version first either way.
    for (const auto& f : sv->version->files(level)) {
      if (key < extract_user_key(f->smallest) || key > extract_user_key(f->largest)) continue;
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

asio::awaitable<Result<std::vector<KeyValue>>> DBImpl::scan(std::string start, std::string end, size_t limit,
                                                            ReadOptions options) {
  scans_.fetch_add(1, std::memory_order_relaxed);
  SequenceNumber seq = options.snapshot.value_or(latest_sequence());
  auto sv = super_version();
  if (!sv) co_return make_error_code(Errc::shutting_down);

  std::vector<std::unique_ptr<InternalIterator>> children;
  children.push_back(MemTable::new_internal_iterator(sv->mem));
  for (const auto& imm : sv->imms) children.push_back(MemTable::new_internal_iterator(imm));
  for (int level = 0; level < kNumLevels; ++level) {
    for (const auto& f : sv->version->files(level)) {
      if (!end.empty() && extract_user_key(f->smallest) >= end) continue;
      if (extract_user_key(f->largest) < start) continue;
      auto reader = co_await table(*f);
      if (!reader) co_return reader.error();
      children.push_back((*reader)->new_iterator());
    }
  }
  auto it = new_merging_iterator(std::move(children));

  std::vector<KeyValue> out;
  std::string last_user_key;
  bool have_last = false;
  auto sought = co_await it->seek(make_internal_key(start, seq, kValueTypeForSeek));
  if (!sought) co_return sought.error();
  while (it->valid()) {
    ParsedInternalKey k;
    if (!parse_internal_key(it->key(), &k)) co_return make_error_code(Errc::corruption);
    if (!end.empty() && k.user_key >= end) break;
    // Versions newer than the read's sequence number, and older versions of a key already
    // decided, are skipped; the first visible version decides the key.
    if (k.sequence <= seq && !(have_last && k.user_key == last_user_key)) {
      last_user_key.assign(k.user_key);
      have_last = true;
      if (k.type == ValueType::value) {
        out.push_back(KeyValue{std::string(k.user_key), std::string(it->value())});
        if (limit != 0 && out.size() >= limit) break;
      }
    }
    auto moved = co_await it->next();
    if (!moved) co_return moved.error();
  }
  co_return out;
}

}  // namespace strata
