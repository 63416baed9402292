#include "lib/sstable/table_builder.h"

#include <algorithm>

#include "lib/sstable/compression.h"
#include "lib/util/assert.h"
#include "lib/util/internal_key.h"

namespace strata::sstable {

TableBuilder::TableBuilder(TableOptions options, io::File* file)
    : options_(options),
      file_(file),
      data_block_(options.block_restart_interval),
      // Index lookups binary-search every entry: no prefix compression across entries.
      index_block_(1),
      filter_(std::max(1, options.bloom_bits_per_key)) {
  STRATA_ASSERT(file_ != nullptr);
  props_.compression = options.compression;
}

void TableBuilder::add(std::string_view internal_key, std::string_view value) {
  STRATA_ASSERT(!finished_);
  ParsedInternalKey parsed;
  STRATA_ASSERT_MSG(parse_internal_key(internal_key, &parsed), "not an internal key");
  if (props_.num_entries > 0) {
    STRATA_ASSERT_MSG(compare_internal_keys(last_key_, internal_key) < 0, "keys out of order");
  } else {
    smallest_key_.assign(internal_key);
    props_.smallest_seq = props_.largest_seq = parsed.sequence;
  }
  if (pending_index_entry_) {
    // The index key separates the previous block from this one; it need not be a real key.
    std::string separator = last_key_;
    shorten_separator(&separator, internal_key);
    std::string handle;
    pending_handle_.encode_to(&handle);
    index_block_.add(separator, handle);
    pending_index_entry_ = false;
  }
  // One filter entry per user key, however many versions it has.
  if (options_.bloom_bits_per_key > 0 && (props_.num_entries == 0 || extract_user_key(last_key_) != parsed.user_key)) {
    filter_.add_key(parsed.user_key);
  }
  last_key_.assign(internal_key);
  ++props_.num_entries;
  if (parsed.type == ValueType::deletion) ++props_.num_deletions;
  props_.raw_key_bytes += internal_key.size();
  props_.raw_value_bytes += value.size();
  props_.smallest_seq = std::min(props_.smallest_seq, parsed.sequence);
  props_.largest_seq = std::max(props_.largest_seq, parsed.sequence);

  data_block_.add(internal_key, value);
  if (data_block_.current_size_estimate() >= options_.block_size_bytes) flush_data_block();
}

void TableBuilder::flush_data_block() {
  if (data_block_.empty()) return;
  STRATA_ASSERT(!pending_index_entry_);
  uint64_t start = offset_;
  pending_handle_ = emit_block(data_block_.finish(), options_.compression);
  props_.data_bytes += offset_ - start;
  pending_index_entry_ = true;
  data_block_.reset();
}

BlockHandle TableBuilder::emit_block(std::string_view raw, Compression type) {
  std::optional<std::string> compressed;
  if (type != Compression::none) compressed = compress_block(type, raw);
  if (!compressed) type = Compression::none;
  std::string_view contents = compressed ? std::string_view(*compressed) : raw;
  BlockHandle handle{offset_, contents.size()};
  pending_.append(contents);
  append_block_trailer(&pending_, contents, type);
  offset_ += contents.size() + kBlockTrailerSize;
  return handle;
}

asio::awaitable<Result<void>> TableBuilder::write_pending() {
  if (pending_.empty()) co_return ok();
  std::string data;
  data.swap(pending_);
  uint64_t at = written_;
  // written_ moves first so that offset_ == written_ + pending_.size() holds during the await.
  written_ += data.size();
  auto r = co_await file_->write_at(at, data);
  co_return r;
}

asio::awaitable<Result<void>> TableBuilder::finish() {
  STRATA_ASSERT(!finished_);
  finished_ = true;
  flush_data_block();

  BlockHandle filter_handle;  // size 0 = no filter
  if (options_.bloom_bits_per_key > 0) {
    uint64_t start = offset_;
    std::string filter = filter_.finish();
    filter_handle = emit_block(filter, Compression::none);  // random bits do not compress
    props_.filter_bytes = offset_ - start;
  }

  if (pending_index_entry_) {
    std::string successor = last_key_;
    shorten_successor(&successor);
    std::string handle;
    pending_handle_.encode_to(&handle);
    index_block_.add(successor, handle);
    pending_index_entry_ = false;
  }
  std::string_view index = index_block_.finish();
  // The properties block records the index size, so the index size is computed before either is
  // emitted: the index block is stored uncompressed, so its size is known now.
  props_.index_bytes = index.size() + kBlockTrailerSize;
  BlockHandle properties_handle = emit_block(props_.encode(), Compression::none);
  BlockHandle index_handle = emit_block(index, Compression::none);

  Footer footer;
  footer.filter_handle = filter_handle;
  footer.properties_handle = properties_handle;
  footer.index_handle = index_handle;
  footer.encode_to(&pending_);
  offset_ += kFooterSize;

  auto r = co_await write_pending();
  co_return r;
}

}  // namespace strata::sstable
