#include "lib/sstable/table_reader.h"

#include <inttypes.h>

#include "lib/cache/lru_cache.h"
#include "lib/sstable/bloom.h"
#include "lib/sstable/table_iterator.h"
#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/internal_key.h"
#include "lib/util/logging.h"

namespace strata::sstable {

asio::awaitable<Result<std::string>> TableReader::read_checked(io::File& file, uint64_t file_size,
                                                               BlockHandle handle) {
  // Handles come from the file: a garbage one must not make us allocate or read past the table.
  uint64_t end = file_size - kFooterSize;
  if (handle.offset > end || handle.size > end - handle.offset ||
      kBlockTrailerSize > end - handle.offset - handle.size) {
    STRATA_LOG(error, "sstable %s: block handle offset %" PRIu64 " size %" PRIu64
               " is outside the file (size %" PRIu64 ")", file.path().c_str(), handle.offset,
               handle.size, file_size);
    co_return make_error_code(Errc::corruption);
  }
  auto r = co_await read_block(file, handle);
  co_return r;
}

asio::awaitable<Result<std::shared_ptr<TableReader>>> TableReader::open(std::shared_ptr<io::File> file,
                                                                         uint64_t file_size,
                                                                         TableReadOptions options) {
  STRATA_ASSERT(file != nullptr);
  if (file_size < kFooterSize) {
    STRATA_LOG(error, "sstable %s: file of %" PRIu64 " bytes is too short for a footer",
               file->path().c_str(), file_size);
    co_return make_error_code(Errc::corruption);
  }
  std::string footer_bytes(kFooterSize, '\0');
  STRATA_CO_TRY_ASSIGN(size_t n, co_await file->read_at(file_size - kFooterSize,
                                                         std::span<char>(footer_bytes.data(), kFooterSize)));
  if (n != kFooterSize) {
    STRATA_LOG(error, "sstable %s: short read of the footer (%zu bytes): file truncated",
               file->path().c_str(), n);
    co_return make_error_code(Errc::corruption);
  }
  STRATA_CO_TRY_ASSIGN(Footer footer, Footer::decode(footer_bytes, file->path()));

  STRATA_CO_TRY_ASSIGN(std::string index_contents, co_await read_checked(*file, file_size, footer.index_handle));
  auto index = Block::parse(std::move(index_contents), KeyOrder::internal);
  if (!index) {
    STRATA_LOG(error, "sstable %s: malformed index block", file->path().c_str());
    co_return index.error();
  }

  std::string filter;
  if (footer.filter_handle.size > 0) {
    STRATA_CO_TRY_ASSIGN(filter, co_await read_checked(*file, file_size, footer.filter_handle));
  }

  STRATA_CO_TRY_ASSIGN(std::string props_contents, co_await read_checked(*file, file_size, footer.properties_handle));
  auto props_block = Block::parse(std::move(props_contents), KeyOrder::bytewise);
  Result<TableProperties> props = make_error_code(Errc::corruption);
  if (props_block) props = TableProperties::decode(*props_block);
  if (!props) {
    STRATA_LOG(error, "sstable %s: malformed properties block", file->path().c_str());
    co_return props.error();
  }

  std::shared_ptr<TableReader> reader(new TableReader(std::move(file), file_size, options, std::move(*index),
                                                      std::move(filter), *props));
  co_return reader;
}

bool TableReader::may_contain(std::string_view user_key) const {
  return filter_.empty() || bloom_may_contain(filter_, user_key);
}

uint64_t GetTrace::cache_hits() const {
  uint64_t n = 0;
  for (const auto& b : blocks) n += b.cache_hit ? 1 : 0;
  return n;
}

uint64_t GetTrace::blocks_read() const { return blocks.size() - cache_hits(); }

uint64_t GetTrace::bytes_read() const {
  uint64_t n = 0;
  for (const auto& b : blocks) n += b.bytes_read;
  return n;
}

std::string TableReader::block_cache_prefix(uint64_t cache_id) {
  std::string key;
  put_fixed64(&key, cache_id);
  return key;
}

std::string TableReader::block_cache_key(uint64_t cache_id, uint64_t offset) {
  std::string key = block_cache_prefix(cache_id);
  put_fixed64(&key, offset);
  return key;
}

asio::awaitable<Result<std::shared_ptr<const Block>>> TableReader::read_data_block(BlockHandle handle, bool fill_cache,
                                                                                   GetTrace* trace) const {
  cache::LruCache* cache = options_.block_cache;
  std::string key;
  if (cache != nullptr) {
    key = block_cache_key(options_.cache_id, handle.offset);
    // Blocks in the cache were checksum-verified and parsed when they were read.
    if (std::shared_ptr<const Block> cached = cache->lookup_as<Block>(key)) {
      stats_->add(stats_->block_cache_hits);
      if (trace != nullptr) trace->blocks.push_back({.offset = handle.offset, .cache_hit = true});
      co_return cached;
    }
    stats_->add(stats_->block_cache_misses);
  }
  STRATA_CO_TRY_ASSIGN(std::string contents, co_await read_checked(*file_, file_size_, handle));
  uint64_t bytes = handle.size + kBlockTrailerSize;
  stats_->add(stats_->data_blocks_read);
  stats_->add(stats_->data_bytes_read, bytes);
  if (trace != nullptr) trace->blocks.push_back({.offset = handle.offset, .cache_hit = false, .bytes_read = bytes});
  auto block = Block::parse(std::move(contents), KeyOrder::internal);
  if (!block) {
    STRATA_LOG(error, "sstable %s: malformed data block at offset %" PRIu64, path().c_str(), handle.offset);
    co_return block.error();
  }
  auto shared = std::make_shared<const Block>(std::move(*block));
  if (cache != nullptr && fill_cache) cache->insert(key, shared, shared->size() + sizeof(Block));
  co_return shared;
}

asio::awaitable<Result<std::optional<TableReader::Entry>>> TableReader::get(std::string lookup_internal_key,
                                                                                   GetTrace* trace) const {
  STRATA_ASSERT(lookup_internal_key.size() >= kTagSize);
  if (trace != nullptr) *trace = GetTrace{};
  std::string_view user_key = extract_user_key(lookup_internal_key);
  if (options_.use_bloom_filter && !filter_.empty()) {
    stats_->add(stats_->bloom_checks);
    if (trace != nullptr) trace->bloom_checked = true;
    if (!bloom_may_contain(filter_, user_key)) {
      stats_->add(stats_->bloom_negatives);
      if (trace != nullptr) trace->bloom_negative = true;
      co_return std::nullopt;
    }
  }
  BlockIterator index = index_block_.new_iterator();
  index.seek(lookup_internal_key);
  // Usually the first block whose index key is >= the lookup holds the answer; the loop moves on
  // only if that block's entries all sort before the lookup, which shortened separators allow.
  for (; index.valid(); index.next()) {
    std::string_view handle_bytes = index.value();
    BlockHandle handle;
    if (!handle.decode_from(&handle_bytes)) {
      STRATA_LOG(error, "sstable %s: malformed block handle in the index", path().c_str());
      co_return make_error_code(Errc::corruption);
    }
    STRATA_CO_TRY_ASSIGN(std::shared_ptr<const Block> block, co_await read_data_block(handle, /*fill_cache=*/true, trace));
    BlockIterator it = block->new_iterator();
    it.seek(lookup_internal_key);
    if (it.valid()) {
      if (extract_user_key(it.key()) != user_key) co_return std::nullopt;
      co_return Entry{std::string(it.key()), std::string(it.value())};
    }
    if (!it.status()) {
      STRATA_LOG(error, "sstable %s: malformed data block at offset %" PRIu64, path().c_str(), handle.offset);
      co_return it.status().error();
    }
  }
  if (!index.status()) {
    STRATA_LOG(error, "sstable %s: malformed index block", path().c_str());
    co_return index.status().error();
  }
  co_return std::nullopt;
}

std::unique_ptr<InternalIterator> TableReader::new_iterator(bool fill_cache) const {
  return std::make_unique<TableIterator>(shared_from_this(), fill_cache);
}

}  // namespace strata::sstable
