#include "lib/db/table_cache.h"

#include <optional>

#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"

namespace strata {

namespace asio = boost::asio;

TableCache::TableCache(io::FileSystem& fs, std::string db_path, size_t max_open_files, cache::LruCache* block_cache,
                       sstable::ReadStats* stats, int num_shard_bits, size_t max_pinned, bool mmap_reads,
                       bool direct_reads)
    : fs_(fs),
      db_path_(std::move(db_path)),
      block_cache_(block_cache),
      stats_(stats),
      readers_(max_open_files, num_shard_bits >= 0 ? num_shard_bits : auto_shard_bits(max_open_files)),
      max_pinned_(max_pinned),
      mmap_reads_(mmap_reads),
      direct_reads_(direct_reads) {
  STRATA_ASSERT(max_open_files >= 1);
}

int TableCache::auto_shard_bits(size_t max_open_files) {
  // A shard's LRU is exact, the whole cache's only approximately: keep shards big enough that
  // an unlucky spread of hot files over the shards does not evict them.
  int bits = 0;
  while (bits < cache::LruCache::kDefaultShardBits && (max_open_files >> (bits + 1)) >= 64) ++bits;
  return bits;
}

std::string TableCache::key_of(uint64_t file_number) {
  std::string key;
  put_fixed64(&key, file_number);
  return key;
}

asio::awaitable<TableCache::Opened> TableCache::find_counted(uint64_t file_number, uint64_t file_size, bool counted) {
  std::string key = key_of(file_number);
  auto cached = counted ? std::static_pointer_cast<const sstable::TableReader>(readers_.peek(key))
                        : readers_.lookup_as<sstable::TableReader>(key);
  if (cached) {
    // The cache hands out const values; a TableReader's interface is const and thread-safe.
    co_return std::const_pointer_cast<sstable::TableReader>(cached);
  }
  std::optional<Oneshot<Opened>> wait;
  std::shared_ptr<const void> opened_meanwhile;
  {
    std::lock_guard lock(pending_mu_);
    // The opener inserts into readers_ and clears pending_ under pending_mu_, so one of the two
    // looks below sees a file opened since the lookup above.
    if (auto it = pending_.find(file_number); it != pending_.end()) {
      wait.emplace();
      it->second.push_back(*wait);
    } else if ((opened_meanwhile = readers_.peek(key)) == nullptr) {
      pending_.emplace(file_number, std::vector<Oneshot<Opened>>{});  // this caller opens it
    }
  }
  if (opened_meanwhile) {
    co_return std::const_pointer_cast<sstable::TableReader>(
        std::static_pointer_cast<const sstable::TableReader>(std::move(opened_meanwhile)));
  }
  if (wait) {
    Opened r = co_await wait->wait();
    co_return r;
  }
  Opened opened = co_await open(file_number, file_size);
  std::vector<Oneshot<Opened>> waiters;
  {
    std::lock_guard lock(pending_mu_);
    if (opened) readers_.insert(key, *opened, /*charge=*/1);
    auto it = pending_.find(file_number);
    STRATA_ASSERT(it != pending_.end());
    waiters = std::move(it->second);
    pending_.erase(it);
  }
  for (auto& w : waiters) w.set(opened);  // each resumes on its own executor
  co_return opened;
}

const sstable::TableReader* TableCache::find_open(const FileMetaData& meta, std::shared_ptr<const void>* hold) {
  if (const void* pinned = meta.table.get()) {
    pinned_hits_.add();
    return static_cast<const sstable::TableReader*>(pinned);
  }
  // An unpinned file: the LRU may hold it (its lookup counts the hit or the miss; find(meta)
  // then does not count again).
  *hold = readers_.lookup(key_of(meta.number));
  return static_cast<const sstable::TableReader*>(hold->get());
}

const sstable::TableReader* TableCache::find_pinned(const FileMetaData& meta) {
  const void* pinned = meta.table.get();
  if (pinned != nullptr) pinned_hits_.add();
  return static_cast<const sstable::TableReader*>(pinned);
}

asio::awaitable<TableCache::Opened> TableCache::find(const FileMetaData& meta, bool counted) {
  if (const void* pinned = meta.table.get()) {
    if (!counted) pinned_hits_.add();
    // The pin owns the reader; hand out a shared_ptr that keeps the pin's owner alive.
    auto* reader = static_cast<const sstable::TableReader*>(pinned);
    co_return std::const_pointer_cast<sstable::TableReader>(reader->shared_from_this());
  }
  auto found = co_await find_counted(meta.number, meta.file_size, counted);
  if (!found) co_return found;
  // Pin while there is room. A race may pin a few more than max_pinned_ (each caller checks
  // before it increments); the bound is approximate by at most the number of threads.
  if (pinned_->load(std::memory_order_relaxed) < max_pinned_) {
    std::shared_ptr<sstable::TableReader> reader = *found;
    auto counter = pinned_;
    counter->fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<const void> owner(reader.get(), [reader, counter](const void*) mutable {
      counter->fetch_sub(1, std::memory_order_relaxed);
      reader.reset();
    });
    if (meta.table.pin(owner) == reader.get()) readers_.erase(key_of(meta.number));  // the pin holds it now
  }
  co_return found;
}

asio::awaitable<TableCache::Opened> TableCache::open(uint64_t file_number, uint64_t file_size) {
  opens_.fetch_add(1, std::memory_order_relaxed);
  std::string path = table_file_name(db_path_, file_number);
  auto opened = co_await fs_.open(path, io::OpenOptions{.read_only = true, .direct = direct_reads_});
  if (!opened) {
    STRATA_LOG(error, "cannot open SSTable %s: %s", path.c_str(), opened.error().message().c_str());
    co_return opened.error();
  }
  std::shared_ptr<io::File> file = std::move(*opened);
  sstable::TableReadOptions options;
  options.block_cache = block_cache_;
  options.cache_id = file_number;
  options.stats = stats_;
  options.mmap_reads = mmap_reads_;
  auto reader = co_await sstable::TableReader::open(std::move(file), file_size, options);
  if (!reader) {
    STRATA_LOG(error, "cannot read SSTable %s: %s", path.c_str(), reader.error().message().c_str());
    co_return reader.error();
  }
  co_return std::move(*reader);
}

void TableCache::evict(uint64_t file_number) {
  readers_.erase(key_of(file_number));
  if (block_cache_ != nullptr) block_cache_->erase_prefix(sstable::TableReader::block_cache_prefix(file_number));
}

}  // namespace strata
