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

asio::awaitable<Result<std::string>> TableReader::read_checked(io::File& file, uint64_t file_size, BlockHandle handle) {
  // Handles come from the file: a garbage one must not make us allocate or read past the table.
  uint64_t end = file_size - kFooterSize;
  if (handle.offset > end || handle.size > end - handle.offset ||
      kBlockTrailerSize > end - handle.offset - handle.size) {
    STRATA_LOG(error,
               "sstable %s: block handle offset %" PRIu64 " size %" PRIu64 " is outside the file (size %" PRIu64 ")",
               file.path().c_str(), handle.offset, handle.size, file_size);
    co_return make_error_code(Errc::corruption);
  }
  auto r = co_await read_block(file, handle);
  co_return r;
}

namespace {

// Whether every entry of `index` is a restart point (restart interval 1, as TableBuilder writes
// index blocks), so that BlockIterator::restart_index() numbers the entries.
bool index_entries_are_restarts(const Block& index) {
  uint64_t entries = 0;
  BlockIterator it = index.new_iterator();
  for (it.seek_to_first(); it.valid(); it.next()) ++entries;
  return it.status() && entries == index.num_restarts();
}

}  // namespace

asio::awaitable<Result<std::shared_ptr<TableReader>>> TableReader::open(std::shared_ptr<io::File> file,
                                                                        uint64_t file_size, TableReadOptions options) {
  STRATA_ASSERT(file != nullptr);
  if (file_size < kFooterSize) {
    STRATA_LOG(error, "sstable %s: file of %" PRIu64 " bytes is too short for a footer", file->path().c_str(),
               file_size);
    co_return make_error_code(Errc::corruption);
  }
  std::string footer_bytes(kFooterSize, '\0');
  STRATA_CO_TRY_ASSIGN(
      size_t n, co_await file->read_at(file_size - kFooterSize, std::span<char>(footer_bytes.data(), kFooterSize)));
  if (n != kFooterSize) {
    STRATA_LOG(error, "sstable %s: short read of the footer (%zu bytes): file truncated", file->path().c_str(), n);
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

  std::shared_ptr<const io::Mapping> mapping;
  if (options.mmap_reads && props->compression == Compression::none && index_entries_are_restarts(*index)) {
    auto mapped = file->map(file_size);
    if (mapped) {
      mapping = std::move(*mapped);
    } else if (mapped.error() != make_error_code(Errc::not_supported)) {
      STRATA_LOG(info, "sstable %s: not memory-mapped (%s): reads go through the block cache", file->path().c_str(),
                 mapped.error().message().c_str());
    }
  }
  std::shared_ptr<TableReader> reader(new TableReader(std::move(file), file_size, options, std::move(*index),
                                                      std::move(filter), *props, std::move(mapping)));
  co_return reader;
}

bool TableReader::may_contain(std::string_view user_key) const {
  return filter_.empty() || filter_.may_contain(user_key);
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

void TableReader::seek_index(BlockIterator* it, std::string_view target) const {
  if (!index_accel_.enabled()) return it->seek(target);
  auto [left, right] = index_accel_.narrow(target);
  it->seek(target, left, right);
}

BlockCacheKey::BlockCacheKey(uint64_t cache_id, uint64_t offset) {
  encode_fixed64(bytes_, cache_id);
  encode_fixed64(bytes_ + 8, offset);
}

std::string TableReader::block_cache_prefix(uint64_t cache_id) {
  std::string key;
  put_fixed64(&key, cache_id);
  return key;
}

std::string TableReader::block_cache_key(uint64_t cache_id, uint64_t offset) {
  return std::string(BlockCacheKey(cache_id, offset).view());
}

bool TableReader::handle_in_file(BlockHandle handle) const {
  uint64_t end = file_size_ - kFooterSize;
  if (handle.offset > end || handle.size > end - handle.offset ||
      kBlockTrailerSize > end - handle.offset - handle.size) {
    STRATA_LOG(error,
               "sstable %s: block handle offset %" PRIu64 " size %" PRIu64 " is outside the file (size %" PRIu64 ")",
               path().c_str(), handle.offset, handle.size, file_size_);
    return false;
  }
  return true;
}

std::optional<Block> TableReader::mapped_block(BlockHandle handle, uint32_t ordinal, GetTrace* trace) const {
  if (!mapping_ || ordinal >= index_block_.num_restarts()) return std::nullopt;
  uint64_t word = verified_[ordinal / 64].load(std::memory_order_acquire);
  if ((word & (uint64_t{1} << (ordinal % 64))) == 0) return std::nullopt;
  // The bit was set after this very handle (the index never changes) was bounds-checked, read,
  // checksum-verified and parsed; the mapping shows the same page-cache bytes.
  const char* bytes = mapping_->data() + handle.offset;
  // Start loading every line of the block at once: the search that follows touches the restart
  // array at its end, a restart entry, and a run of entries, each otherwise a dependent miss
  // (LevelDB's copy of the block out of the page cache streams it the same way).
  for (uint64_t off = 0; off < handle.size; off += 64) __builtin_prefetch(bytes + off);
  auto block = Block::view_verified(std::string_view(bytes, handle.size), KeyOrder::internal);
  if (!block) return std::nullopt;  // cannot happen to a verified block; the checked path reports it
  stats_->add(stats_->mapped_reads);
  if (trace != nullptr) trace->blocks.push_back({.offset = handle.offset, .cache_hit = true});
  return std::move(*block);
}

void TableReader::prefetch_get(std::string_view lookup_internal_key, int stage) const {
  if (lookup_internal_key.size() < kTagSize) return;
  const uint64_t hash = bloom_hash(extract_user_key(lookup_internal_key));
  const bool filtered = options_.use_bloom_filter && !filter_.empty();
  if (stage == 0) {
    if (filtered) filter_.prefetch(hash);
    if (index_accel_.enabled()) index_accel_.prefetch(lookup_internal_key);
    return;
  }
  if (filtered && !filter_.may_contain_hash(hash)) return;
  if (!mapping_ || !index_accel_.enabled()) return;
  auto located = index_accel_.locate(lookup_internal_key);
  if (!located || located->ordinal >= index_block_.num_restarts()) return;
  uint64_t word = verified_[located->ordinal / 64].load(std::memory_order_relaxed);
  if ((word & (uint64_t{1} << (located->ordinal % 64))) == 0) return;  // not yet safe to touch
  const char* bytes = mapping_->data() + located->offset;
  for (uint64_t off = 0; off < located->size; off += 64) __builtin_prefetch(bytes + off);
}

void TableReader::mark_verified(uint32_t ordinal) const {
  if (!mapping_ || ordinal >= index_block_.num_restarts()) return;
  verified_[ordinal / 64].fetch_or(uint64_t{1} << (ordinal % 64), std::memory_order_release);
}

Result<std::shared_ptr<const Block>> TableReader::install_data_block(BlockHandle handle, std::string contents,
                                                                     bool fill_cache, uint32_t ordinal) const {
  auto block = Block::parse(std::move(contents), KeyOrder::internal);
  if (!block) {
    STRATA_LOG(error, "sstable %s: malformed data block at offset %" PRIu64, path().c_str(), handle.offset);
    return block.error();
  }
  auto shared = std::make_shared<const Block>(std::move(*block));
  if (mapping_ && ordinal != kNoOrdinal) {
    mark_verified(ordinal);  // from now on served from the mapping, not the block cache
    return shared;
  }
  if (options_.block_cache != nullptr && fill_cache) {
    options_.block_cache->insert(BlockCacheKey(options_.cache_id, handle.offset).view(), shared,
                                 shared->size() + sizeof(Block));
  }
  return shared;
}

Result<std::shared_ptr<const Block>> TableReader::cached_data_block(BlockHandle handle, bool fill_cache,
                                                                    GetTrace* trace, uint32_t ordinal) const {
  const bool by_mapping = mapping_ && ordinal != kNoOrdinal;
  if (by_mapping) {
    if (auto view = mapped_block(handle, ordinal, trace)) return std::make_shared<const Block>(std::move(*view));
  } else if (cache::LruCache* cache = options_.block_cache; cache != nullptr) {
    // Blocks in the cache were checksum-verified and parsed when they were read.
    if (auto cached = cache->lookup_as<Block>(BlockCacheKey(options_.cache_id, handle.offset).view())) {
      stats_->add(stats_->block_cache_hits);
      if (trace != nullptr) trace->blocks.push_back({.offset = handle.offset, .cache_hit = true});
      return cached;
    }
    stats_->add(stats_->block_cache_misses);
  }
  if (!handle_in_file(handle)) return make_error_code(Errc::corruption);
  auto contents = read_block_cached(*file_, handle);
  if (!contents) return contents.error();
  if (!*contents) return std::shared_ptr<const Block>();
  uint64_t bytes = handle.size + kBlockTrailerSize;
  stats_->add(stats_->data_blocks_read);
  stats_->add(stats_->data_bytes_read, bytes);
  stats_->add(stats_->page_cache_reads);
  if (trace != nullptr) trace->blocks.push_back({.offset = handle.offset, .cache_hit = false, .bytes_read = bytes});
  return install_data_block(handle, std::move(**contents), fill_cache, ordinal);
}

asio::awaitable<Result<std::shared_ptr<const Block>>> TableReader::read_data_block(BlockHandle handle, bool fill_cache,
                                                                                   GetTrace* trace,
                                                                                   uint32_t index_ordinal) const {
  STRATA_CO_TRY_ASSIGN(std::shared_ptr<const Block> cached,
                       cached_data_block(handle, fill_cache, trace, index_ordinal));
  if (cached) co_return cached;
  auto reading = read_data_block_from_file(handle, fill_cache, index_ordinal, trace);
  co_return co_await std::move(reading);
}

asio::awaitable<Result<std::shared_ptr<const Block>>> TableReader::read_data_block_from_file(BlockHandle handle,
                                                                                             bool fill_cache,
                                                                                             uint32_t index_ordinal,
                                                                                             GetTrace* trace) const {
  STRATA_CO_TRY_ASSIGN(std::string contents, co_await read_checked(*file_, file_size_, handle));
  uint64_t bytes = handle.size + kBlockTrailerSize;
  stats_->add(stats_->data_blocks_read);
  stats_->add(stats_->data_bytes_read, bytes);
  if (trace != nullptr) trace->blocks.push_back({.offset = handle.offset, .cache_hit = false, .bytes_read = bytes});
  co_return install_data_block(handle, std::move(contents), fill_cache, index_ordinal);
}

Result<const Block*> TableReader::data_block_in_memory(BlockHandle handle, bool fill_cache, uint32_t index_ordinal,
                                                       std::optional<Block>* view,
                                                       std::shared_ptr<const Block>* shared) const {
  if (std::optional<Block> mapped = mapped_block(handle, index_ordinal, nullptr)) {
    *view = std::move(mapped);
    return &**view;
  }
  STRATA_TRY_ASSIGN(std::shared_ptr<const Block> block, cached_data_block(handle, fill_cache, nullptr, index_ordinal));
  if (!block) return static_cast<const Block*>(nullptr);
  *shared = std::move(block);
  return shared->get();
}

Result<GetStep> TableReader::search_data_block(const Block& block, BlockHandle handle,
                                               std::string_view lookup_internal_key, TableGet* out) const {
  BlockIterator it = block.new_iterator();
  it.seek(lookup_internal_key);
  if (it.valid()) {
    std::string_view ikey = it.key();
    if (extract_user_key(ikey) != extract_user_key(lookup_internal_key)) {
      out->kind = TableGet::Kind::absent;
      return GetStep::done;
    }
    uint64_t tag = extract_tag(ikey);
    out->sequence = tag >> 8;
    auto type = static_cast<ValueType>(tag & 0xff);
    if (type == ValueType::deletion) {
      out->kind = TableGet::Kind::deletion;
    } else if (type == ValueType::value) {
      out->kind = TableGet::Kind::value;
      out->value->assign(it.value());
    } else {
      STRATA_LOG(error, "sstable %s: entry of unknown type %u in the data block at offset %" PRIu64, path().c_str(),
                 static_cast<unsigned>(type), handle.offset);
      return make_error_code(Errc::corruption);
    }
    return GetStep::done;
  }
  if (!it.status()) {
    STRATA_LOG(error, "sstable %s: malformed data block at offset %" PRIu64, path().c_str(), handle.offset);
    return it.status().error();
  }
  return GetStep::next_block;
}

Result<GetStep> TableReader::search_block_cached(BlockHandle handle, uint32_t ordinal,
                                                 std::string_view lookup_internal_key, TableGet* out,
                                                 GetTrace* trace) const {
  if (std::optional<Block> view = mapped_block(handle, ordinal, trace)) {
    // A verified block of a mapped table: searched in place, no allocation.
    return search_data_block(*view, handle, lookup_internal_key, out);
  }
  STRATA_TRY_ASSIGN(std::shared_ptr<const Block> block, cached_data_block(handle, /*fill_cache=*/true, trace, ordinal));
  if (!block) return GetStep::needs_io;
  return search_data_block(*block, handle, lookup_internal_key, out);
}

Result<GetStep> TableReader::walk_index_cached(std::string_view lookup_internal_key, PendingGet* pending, TableGet* out,
                                               GetTrace* trace) const {
  // Usually the first block whose index key is >= the lookup holds the answer; the walk moves on
  // only if that block's entries all sort before the lookup, which shortened separators allow.
  for (BlockIterator& index = pending->index; index.valid(); index.next()) {
    std::string_view handle_bytes = index.value();
    BlockHandle handle;
    if (!handle.decode_from(&handle_bytes)) {
      STRATA_LOG(error, "sstable %s: malformed block handle in the index", path().c_str());
      return make_error_code(Errc::corruption);
    }
    STRATA_TRY_ASSIGN(GetStep step,
                      search_block_cached(handle, index.restart_index(), lookup_internal_key, out, trace));
    if (step == GetStep::needs_io) pending->handle = handle;
    if (step != GetStep::next_block) return step;
  }
  if (!pending->index.status()) {
    STRATA_LOG(error, "sstable %s: malformed index block", path().c_str());
    return pending->index.status().error();
  }
  out->kind = TableGet::Kind::absent;
  return GetStep::done;
}

Result<GetStep> TableReader::get_cached(std::string_view lookup_internal_key, TableGet* out, PendingGet* pending,
                                        GetTrace* trace) const {
  STRATA_ASSERT(lookup_internal_key.size() >= kTagSize);
  if (trace != nullptr) *trace = GetTrace{};
  std::string_view user_key = extract_user_key(lookup_internal_key);
  if (options_.use_bloom_filter && !filter_.empty()) {
    stats_->add(stats_->bloom_checks);
    if (trace != nullptr) trace->bloom_checked = true;
    if (!filter_.may_contain(user_key)) {
      stats_->add(stats_->bloom_negatives);
      if (trace != nullptr) trace->bloom_negative = true;
      out->kind = TableGet::Kind::absent;
      return GetStep::done;
    }
  }
  if (index_accel_.enabled()) {
    if (auto located = index_accel_.locate(lookup_internal_key)) {
      // The prefixes decided the block: no index entry is read.
      const BlockHandle handle{located->offset, located->size};
      STRATA_TRY_ASSIGN(GetStep step, search_block_cached(handle, located->ordinal, lookup_internal_key, out, trace));
      if (step == GetStep::done) return step;
      if (step == GetStep::needs_io) {
        // finish_get reads it; its index iterator stands on the block's entry.
        pending->index = index_block_.new_iterator();
        pending->index.seek(lookup_internal_key, located->ordinal, located->ordinal);
        pending->handle = handle;
        return step;
      }
      // The block ended before the key (locate() says no later block holds it either, but the
      // index block has the last word): the full search below.
    }
  }
  pending->index = index_block_.new_iterator();
  seek_index(&pending->index, lookup_internal_key);
  return walk_index_cached(lookup_internal_key, pending, out, trace);
}

asio::awaitable<Result<void>> TableReader::finish_get(std::string lookup_internal_key, PendingGet pending,
                                                      TableGet* out, GetTrace* trace) const {
  for (;;) {
    auto reading = read_data_block_from_file(pending.handle, /*fill_cache=*/true, pending.index.restart_index(), trace);
    STRATA_CO_TRY_ASSIGN(std::shared_ptr<const Block> block, co_await std::move(reading));
    STRATA_CO_TRY_ASSIGN(GetStep step, search_data_block(*block, pending.handle, lookup_internal_key, out));
    if (step == GetStep::done) co_return ok();
    pending.index.next();
    STRATA_CO_TRY_ASSIGN(GetStep walked, walk_index_cached(lookup_internal_key, &pending, out, trace));
    if (walked == GetStep::done) co_return ok();
  }
}

asio::awaitable<Result<std::optional<TableReader::Entry>>> TableReader::get(std::string lookup_internal_key,
                                                                            GetTrace* trace) const {
  std::string value;
  TableGet found{.value = &value};
  PendingGet pending{.index = index_block_.new_iterator(), .handle = {}};
  STRATA_CO_TRY_ASSIGN(GetStep step, get_cached(lookup_internal_key, &found, &pending, trace));
  if (step == GetStep::needs_io) {
    auto finishing = finish_get(lookup_internal_key, std::move(pending), &found, trace);
    STRATA_CO_TRY(co_await std::move(finishing));
  }
  if (found.kind == TableGet::Kind::absent) co_return std::nullopt;
  ValueType type = found.kind == TableGet::Kind::deletion ? ValueType::deletion : ValueType::value;
  co_return Entry{make_internal_key(extract_user_key(lookup_internal_key), found.sequence, type), std::move(value)};
}

std::unique_ptr<InternalIterator> TableReader::new_iterator(bool fill_cache) const {
  return std::make_unique<TableIterator>(shared_from_this(), fill_cache);
}

std::unique_ptr<InternalIterator> TableReader::new_borrowed_iterator(bool fill_cache) const {
  return std::make_unique<TableIterator>(*this, fill_cache);
}

}  // namespace strata::sstable
