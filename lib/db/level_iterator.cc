#include "lib/db/level_iterator.h"

#include <algorithm>

namespace strata {
namespace {

using boost::asio::awaitable;

class LevelIterator final : public InternalIterator {
 public:
  LevelIterator(std::span<const std::shared_ptr<const FileMetaData>> files, TableIteratorFactory open,
                TableIteratorOpener open_in_memory)
      : files_(files), open_(std::move(open)), open_in_memory_(std::move(open_in_memory)) {}

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
    STRATA_CO_TRY(co_await open_file(file_for(target)));
    if (table_) STRATA_CO_TRY(co_await table_->seek(target));
    co_return co_await skip_forward();
  }

  // Done without suspending when the file's reader is open and the table seeks in memory. The
  // chosen file holds a key >= target (its largest), so the seek stays inside it; the rare seek
  // that leaves it (a corrupt file's bounds) is left to seek().
  bool try_seek(std::string_view target, Result<void>* r) override {
    resume_ = Resume::none;
    size_t index = file_for(target);
    if (index >= files_.size()) {
      table_.reset();
      index_ = files_.size();
      *r = ok();
      return true;
    }
    if (!table_ || index_ != index) {
      std::unique_ptr<InternalIterator> opened = open_in_memory_ ? open_in_memory_(*files_[index]) : nullptr;
      if (!opened) return false;
      table_ = std::move(opened);
      index_ = index;
    }
    Result<void> step = ok();
    if (!table_->try_seek(target, &step)) return false;
    if (step && !table_->valid()) return false;
    *r = step;
    return true;
  }

  bool try_seek_to_first(Result<void>* r) override {
    resume_ = Resume::none;
    if (files_.empty()) {
      table_.reset();
      *r = ok();
      return true;
    }
    if (!table_ || index_ != 0) {
      std::unique_ptr<InternalIterator> opened = open_in_memory_ ? open_in_memory_(*files_[0]) : nullptr;
      if (!opened) return false;
      table_ = std::move(opened);
      index_ = 0;
    }
    Result<void> step = ok();
    if (!table_->try_seek_to_first(&step)) return false;
    if (step && !table_->valid()) return false;  // an empty file: seek_to_first() moves on
    *r = step;
    return true;
  }

  awaitable<Result<void>> next() override {
    Resume resume = resume_;
    resume_ = Resume::none;
    if (resume == Resume::first) {
      STRATA_CO_TRY(co_await table_->seek_to_first());
    } else if (resume != Resume::skip) {
      STRATA_CO_TRY(co_await table_->next());  // none: a whole step; table: its end
    }
    co_return co_await skip_forward();
  }

  // Steps without suspending, into the next file too when its reader is open and its first block
  // in memory; a step that needs I/O is left to next().
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
    while (!table_->valid()) {
      if (index_ + 1 >= files_.size()) {
        table_.reset();
        index_ = files_.size();
        break;
      }
      std::unique_ptr<InternalIterator> opened = open_in_memory_ ? open_in_memory_(*files_[index_ + 1]) : nullptr;
      if (!opened) {
        resume_ = Resume::skip;
        return false;
      }
      table_ = std::move(opened);
      ++index_;
      if (!table_->try_seek_to_first(&step)) {
        resume_ = Resume::first;
        return false;
      }
      if (!step) {
        *r = step;
        return true;
      }
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
  // The first file whose largest key is >= target (files_.size() if none).
  size_t file_for(std::string_view target) const {
    auto it = std::partition_point(files_.begin(), files_.end(),
                                   [&](const auto& f) { return compare_internal_keys(f->largest, target) < 0; });
    return static_cast<size_t>(it - files_.begin());
  }

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

  // What a false try_next() left for next(): the table's own step, moving to the next file, or
  // positioning the file it entered at its first entry.
  enum class Resume : uint8_t { none, table, skip, first };

  std::span<const std::shared_ptr<const FileMetaData>> files_;
  TableIteratorFactory open_;
  TableIteratorOpener open_in_memory_;
  Resume resume_ = Resume::none;
  std::unique_ptr<InternalIterator> table_;
  size_t index_ = 0;
};

}  // namespace

std::unique_ptr<InternalIterator> new_level_iterator(std::span<const std::shared_ptr<const FileMetaData>> files,
                                                     TableIteratorFactory open, TableIteratorOpener open_in_memory) {
  return std::make_unique<LevelIterator>(files, std::move(open), std::move(open_in_memory));
}

}  // namespace strata
