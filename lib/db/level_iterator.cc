#include "lib/db/level_iterator.h"

#include <algorithm>

namespace strata {
namespace {

using boost::asio::awaitable;

class LevelIterator final : public InternalIterator {
 public:
  LevelIterator(Version::FileList files, TableIteratorFactory open) : files_(std::move(files)), open_(std::move(open)) {}

  bool valid() const override { return table_ != nullptr && table_->valid(); }
  std::string_view key() const override { return table_->key(); }
  std::string_view value() const override { return table_->value(); }

  awaitable<Result<void>> seek_to_first() override {
    resume_ = Resume::none;
    STRATA_CO_TRY(co_await open_file(0));
    if (table_) STRATA_CO_TRY(co_await table_->seek_to_first());
    co_return co_await skip_forward();
  }

  awaitable<Result<void>> seek_to_last() override {
    resume_ = Resume::none;
    STRATA_CO_TRY(co_await open_file(files_.size() - 1));  // size 0: wraps to "none"
    if (table_) STRATA_CO_TRY(co_await table_->seek_to_last());
    co_return co_await skip_backward();
  }

  awaitable<Result<void>> seek(std::string_view target) override {
    resume_ = Resume::none;
    // The first file whose largest key is >= target.
    auto it = std::partition_point(files_.begin(), files_.end(), [&](const auto& f) {
      return compare_internal_keys(f->largest, target) < 0;
    });
    STRATA_CO_TRY(co_await open_file(static_cast<size_t>(it - files_.begin())));
    if (table_) STRATA_CO_TRY(co_await table_->seek(target));
    co_return co_await skip_forward();
  }

  awaitable<Result<void>> next() override {
    Resume resume = resume_;
    resume_ = Resume::none;
    if (resume != Resume::skip) STRATA_CO_TRY(co_await table_->next());  // none: a whole step; table: its end
    co_return co_await skip_forward();
  }

  // Steps inside the current file without suspending; a step that needs I/O, or that leaves the
  // file (the next one is opened by a coroutine), is left to next().
  bool try_next(Result<void>* r) override {
    Result<void> step = ok();
    if (!table_->try_next(&step)) {
      resume_ = Resume::table;
      return false;
    }
    if (!step) {
      *r = step;
      return true;
    }
    if (!table_->valid()) {
      resume_ = Resume::skip;
      return false;
    }
    *r = ok();
    return true;
  }

  awaitable<Result<void>> prev() override {
    resume_ = Resume::none;
    STRATA_CO_TRY(co_await table_->prev());
    co_return co_await skip_backward();
  }

 private:
  // Opens files_[index] (index >= size: none). Reuses the open table when it is that file.
  awaitable<Result<void>> open_file(size_t index) {
    if (index >= files_.size()) {
      table_.reset();
      index_ = files_.size();
      co_return ok();
    }
    if (table_ && index_ == index) co_return ok();
    table_.reset();
    auto opened = co_await open_(*files_[index]);
    if (!opened) co_return opened.error();
    table_ = std::move(*opened);
    index_ = index;
    co_return ok();
  }

  awaitable<Result<void>> skip_forward() {
    while (table_ && !table_->valid()) {
      STRATA_CO_TRY(co_await open_file(index_ + 1));
      if (table_) STRATA_CO_TRY(co_await table_->seek_to_first());
    }
    co_return ok();
  }

  awaitable<Result<void>> skip_backward() {
    while (table_ && !table_->valid()) {
      if (index_ == 0) {
        table_.reset();
        co_return ok();
      }
      STRATA_CO_TRY(co_await open_file(index_ - 1));
      if (table_) STRATA_CO_TRY(co_await table_->seek_to_last());
    }
    co_return ok();
  }

  // What a false try_next() left for next(): the table's own step, or moving to the next file.
  enum class Resume : uint8_t { none, table, skip };

  Version::FileList files_;
  TableIteratorFactory open_;
  Resume resume_ = Resume::none;
  std::unique_ptr<InternalIterator> table_;
  size_t index_ = 0;
};

}  // namespace

std::unique_ptr<InternalIterator> new_level_iterator(Version::FileList files, TableIteratorFactory open) {
  return std::make_unique<LevelIterator>(std::move(files), std::move(open));
}

}  // namespace strata
