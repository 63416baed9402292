#include "lib/db/table_cache.h"

#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"

namespace strata {

namespace asio = boost::asio;

TableCache::TableCache(io::FileSystem& fs, std::string db_path, size_t max_open_files, cache::LruCache* block_cache,
                       sstable::ReadStats* stats, int num_shard_bits)
    : fs_(fs), db_path_(std::move(db_path)), block_cache_(block_cache), stats_(stats),
      readers_(max_open_files, num_shard_bits >= 0 ? num_shard_bits : auto_shard_bits(max_open_files)) {
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

asio::awaitable<Result<std::shared_ptr<sstable::TableReader>>> TableCache::find(uint64_t file_number,
                                                                                uint64_t file_size) {
  std::string key = key_of(file_number);
  if (auto cached = readers_.lookup_as<sstable::TableReader>(key)) {
    // The cache hands out const values; a TableReader's interface is const and thread-safe.
    co_return std::const_pointer_cast<sstable::TableReader>(cached);
  }
  std::string path = table_file_name(db_path_, file_number);
  auto opened = co_await fs_.open(path, io::OpenOptions{.read_only = true});
  if (!opened) {
    STRATA_LOG(error, "cannot open SSTable %s: %s", path.c_str(), opened.error().message().c_str());
    co_return opened.error();
  }
  std::shared_ptr<io::File> file = std::move(*opened);
  sstable::TableReadOptions options;
  options.block_cache = block_cache_;
  options.cache_id = file_number;
  options.stats = stats_;
  auto reader = co_await sstable::TableReader::open(std::move(file), file_size, options);
  if (!reader) {
    STRATA_LOG(error, "cannot read SSTable %s: %s", path.c_str(), reader.error().message().c_str());
    co_return reader.error();
  }
  // Another caller may have opened the same file meanwhile; the last insert wins and both readers
  // stay valid for their holders. They share the block cache entries (same cache_id).
  readers_.insert(key, *reader, /*charge=*/1);
  co_return std::move(*reader);
}

void TableCache::evict(uint64_t file_number) {
  readers_.erase(key_of(file_number));
  if (block_cache_ != nullptr) block_cache_->erase_prefix(sstable::TableReader::block_cache_prefix(file_number));
}

}  // namespace strata
