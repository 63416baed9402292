#include "lib/sstable/table_iterator.h"

#include <inttypes.h>

#include "lib/util/assert.h"
#include "lib/util/logging.h"

namespace strata::sstable {

TableIterator::TableIterator(std::shared_ptr<const TableReader> table, bool fill_cache)
    : owner_(std::move(table)),
      table_(owner_.get()),
      fill_cache_(fill_cache),
      index_iter_(table_->index_block().new_iterator()) {}

TableIterator::TableIterator(const TableReader& table, bool fill_cache)
    : table_(&table), fill_cache_(fill_cache), index_iter_(table_->index_block().new_iterator()) {}

std::string_view TableIterator::key() const {
  STRATA_ASSERT(valid());
  return data_iter_->key();
}

std::string_view TableIterator::value() const {
  STRATA_ASSERT(valid());
  return data_iter_->value();
}

void TableIterator::clear_data() {
  data_iter_.reset();
  block_ = nullptr;
  mapped_block_.reset();
  data_block_.reset();
  data_handle_.reset();
}

void TableIterator::set_block(BlockHandle handle) {
  block_ = mapped_block_ ? &*mapped_block_ : data_block_.get();
  data_handle_ = handle;
  data_iter_.emplace(block_);
}

Result<void> TableIterator::check_status() {
  if (!index_iter_.status()) {
    STRATA_LOG(error, "sstable %s: malformed index block", table_->path().c_str());
    clear_data();
    // The index block never changes, so a later seek would meet the same bytes: start afresh.
    index_iter_ = table_->index_block().new_iterator();
    return make_error_code(Errc::corruption);
  }
  if (data_iter_ && !data_iter_->status()) {
    STRATA_LOG(error, "sstable %s: malformed data block at offset %" PRIu64, table_->path().c_str(),
               data_handle_ ? data_handle_->offset : 0);
    clear_data();
    return make_error_code(Errc::corruption);
  }
  return ok();
}

Result<TableIterator::Loaded> TableIterator::load_data_block_in_memory() {
  if (!index_iter_.valid()) {
    clear_data();
    STRATA_TRY(check_status());
    return Loaded::yes;
  }
  std::string_view handle_bytes = index_iter_.value();
  BlockHandle handle;
  if (!handle.decode_from(&handle_bytes)) {
    STRATA_LOG(error, "sstable %s: malformed block handle in the index", table_->path().c_str());
    clear_data();
    return make_error_code(Errc::corruption);
  }
  if (block_ != nullptr && data_handle_ == handle) {
    data_iter_.emplace(block_);  // the same block: no read
    return Loaded::yes;
  }
  data_iter_.reset();
  block_ = nullptr;
  mapped_block_.reset();
  data_block_.reset();
  auto found =
      table_->data_block_in_memory(handle, fill_cache_, index_iter_.restart_index(), &mapped_block_, &data_block_);
  if (!found) {
    clear_data();
    return found.error();
  }
  if (*found == nullptr) return Loaded::needs_io;
  set_block(handle);
  return Loaded::yes;
}

asio::awaitable<Result<void>> TableIterator::load_data_block() {
  STRATA_CO_TRY_ASSIGN(Loaded loaded, load_data_block_in_memory());
  if (loaded == Loaded::yes) co_return ok();
  std::string_view handle_bytes = index_iter_.value();
  BlockHandle handle;
  STRATA_ASSERT(handle.decode_from(&handle_bytes));  // load_data_block_in_memory decoded it
  clear_data();
  auto block = co_await table_->read_data_block_from_file(handle, fill_cache_, index_iter_.restart_index());
  if (!block) co_return block.error();
  data_block_ = std::move(*block);
  set_block(handle);
  co_return ok();
}

bool TableIterator::try_next(Result<void>* r) {
  STRATA_ASSERT(valid());
  data_iter_->next();
  return skip_forward_in_memory(r);
}

bool TableIterator::try_seek(std::string_view target, Result<void>* r) {
  resume_load_ = false;
  table_->seek_index(&index_iter_, target);
  return position_in_memory(&target, r);
}

bool TableIterator::try_seek_to_first(Result<void>* r) {
  resume_load_ = false;
  index_iter_.seek_to_first();
  return position_in_memory(nullptr, r);
}

bool TableIterator::position_in_memory(const std::string_view* target, Result<void>* r) {
  auto loaded = load_data_block_in_memory();
  if (!loaded) {
    *r = loaded.error();
    return true;
  }
  if (*loaded == Loaded::needs_io) return false;
  if (data_iter_) {
    if (target != nullptr)
      data_iter_->seek(*target);
    else
      data_iter_->seek_to_first();
  }
  if (skip_forward_in_memory(r)) return true;
  resume_load_ = false;  // the caller's seek starts afresh
  return false;
}

bool TableIterator::skip_forward_in_memory(Result<void>* r) {
  while (data_iter_ && !data_iter_->valid()) {
    if (auto st = check_status(); !st) {
      *r = st;
      return true;
    }
    if (!index_iter_.valid()) break;
    index_iter_.next();
    auto loaded = load_data_block_in_memory();
    if (!loaded) {
      *r = loaded.error();
      return true;
    }
    if (*loaded == Loaded::needs_io) {
      resume_load_ = true;
      return false;
    }
    if (data_iter_) data_iter_->seek_to_first();
  }
  if (data_iter_ && !data_iter_->valid()) clear_data();
  *r = check_status();
  return true;
}

asio::awaitable<Result<void>> TableIterator::skip_forward() {
  while (data_iter_ && !data_iter_->valid()) {
    STRATA_CO_TRY(check_status());
    if (!index_iter_.valid()) break;
    index_iter_.next();
    STRATA_CO_TRY(co_await load_data_block());
    if (data_iter_) data_iter_->seek_to_first();
  }
  if (data_iter_ && !data_iter_->valid()) clear_data();
  co_return check_status();
}

asio::awaitable<Result<void>> TableIterator::skip_backward() {
  while (data_iter_ && !data_iter_->valid()) {
    STRATA_CO_TRY(check_status());
    if (!index_iter_.valid()) break;
    index_iter_.prev();
    STRATA_CO_TRY(co_await load_data_block());
    if (data_iter_) data_iter_->seek_to_last();
  }
  if (data_iter_ && !data_iter_->valid()) clear_data();
  co_return check_status();
}

asio::awaitable<Result<void>> TableIterator::seek_to_first() {
  resume_load_ = false;
  index_iter_.seek_to_first();
  STRATA_CO_TRY(co_await load_data_block());
  if (data_iter_) data_iter_->seek_to_first();
  auto r = co_await skip_forward();
  co_return r;
}

asio::awaitable<Result<void>> TableIterator::seek_to_last() {
  resume_load_ = false;
  index_iter_.seek_to_last();
  STRATA_CO_TRY(co_await load_data_block());
  if (data_iter_) data_iter_->seek_to_last();
  auto r = co_await skip_backward();
  co_return r;
}

asio::awaitable<Result<void>> TableIterator::seek(std::string_view target) {
  resume_load_ = false;
  // The caller keeps `target` alive until this completes (InternalIterator's contract).
  table_->seek_index(&index_iter_, target);
  STRATA_CO_TRY(co_await load_data_block());
  if (data_iter_) data_iter_->seek(target);
  auto r = co_await skip_forward();
  co_return r;
}

asio::awaitable<Result<void>> TableIterator::next() {
  if (resume_load_) {
    // try_next stopped at a block that must be read: read it and go on from its first entry.
    resume_load_ = false;
    STRATA_CO_TRY(co_await load_data_block());
    if (data_iter_) data_iter_->seek_to_first();
    auto r = co_await skip_forward();
    co_return r;
  }
  STRATA_ASSERT(valid());
  data_iter_->next();
  auto r = co_await skip_forward();
  co_return r;
}

asio::awaitable<Result<void>> TableIterator::prev() {
  resume_load_ = false;
  STRATA_ASSERT(valid());
  data_iter_->prev();
  auto r = co_await skip_backward();
  co_return r;
}

}  // namespace strata::sstable
