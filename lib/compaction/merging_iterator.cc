#include "lib/compaction/merging_iterator.h"

#include <string>

#include "lib/util/internal_key.h"

namespace strata {
namespace {

using boost::asio::awaitable;

class MergingIterator final : public InternalIterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<InternalIterator>> children)
      : children_(std::move(children)) {}

  bool valid() const override { return current_ != nullptr; }
  std::string_view key() const override { return current_->key(); }
  std::string_view value() const override { return current_->value(); }

  awaitable<Result<void>> seek_to_first() override {
    resume_ = false;
    for (auto& c : children_) {
      auto r = co_await c->seek_to_first();
      if (!r) co_return fail(r.error());
    }
    forward_ = true;
    find_smallest();
    co_return ok();
  }

  awaitable<Result<void>> seek_to_last() override {
    resume_ = false;
    for (auto& c : children_) {
      auto r = co_await c->seek_to_last();
      if (!r) co_return fail(r.error());
    }
    forward_ = false;
    find_largest();
    co_return ok();
  }

  awaitable<Result<void>> seek(std::string_view target) override {
    resume_ = false;
    for (auto& c : children_) {
      auto r = co_await c->seek(target);
      if (!r) co_return fail(r.error());
    }
    forward_ = true;
    find_smallest();
    co_return ok();
  }

  // Forward, the current child steps and the smallest child becomes current; a child whose step
  // needs I/O leaves the rest to next() (resume_).
  bool try_next(Result<void>* r) override {
    if (!forward_) return false;  // next() repositions the other children first
    Result<void> step = ok();
    if (!current_->try_next(&step)) {
      resume_ = true;
      return false;
    }
    if (!step) {
      *r = fail(step.error());
      return true;
    }
    find_smallest();
    *r = ok();
    return true;
  }

  awaitable<Result<void>> next() override {
    if (resume_) {
      // Complete the current child's step that try_next started.
      resume_ = false;
      auto r = co_await current_->next();
      if (!r) co_return fail(r.error());
      find_smallest();
      co_return ok();
    }
    if (!forward_) {
      // Every non-current child must be positioned at the first key > key().
      std::string k(key());
      for (auto& c : children_) {
        if (c.get() == current_) continue;
        auto r = co_await c->seek(k);
        if (!r) co_return fail(r.error());
        if (c->valid() && compare_internal_keys(k, c->key()) == 0) {
          auto n = co_await c->next();
          if (!n) co_return fail(n.error());
        }
      }
      forward_ = true;
    }
    auto r = co_await current_->next();
    if (!r) co_return fail(r.error());
    find_smallest();
    co_return ok();
  }

  awaitable<Result<void>> prev() override {
    resume_ = false;
    if (forward_) {
      // Every non-current child must be positioned at the last key < key().
      std::string k(key());
      for (auto& c : children_) {
        if (c.get() == current_) continue;
        auto r = co_await c->seek(k);
        if (!r) co_return fail(r.error());
        if (c->valid()) {
          auto p = co_await c->prev();  // first entry >= k, so step back once
          if (!p) co_return fail(p.error());
        } else {
          auto l = co_await c->seek_to_last();  // no entry >= k: the last one is < k
          if (!l) co_return fail(l.error());
        }
      }
      forward_ = false;
    }
    auto r = co_await current_->prev();
    if (!r) co_return fail(r.error());
    find_largest();
    co_return ok();
  }

 private:
  ErrorCode fail(ErrorCode ec) {
    current_ = nullptr;
    return ec;
  }
  void find_smallest() {
    current_ = nullptr;
    for (auto& c : children_) {
      if (c->valid() && (current_ == nullptr || compare_internal_keys(c->key(), current_->key()) < 0)) {
        current_ = c.get();
      }
    }
  }
  void find_largest() {
    current_ = nullptr;
    for (auto& c : children_) {
      if (c->valid() && (current_ == nullptr || compare_internal_keys(c->key(), current_->key()) > 0)) {
        current_ = c.get();
      }
    }
  }

  std::vector<std::unique_ptr<InternalIterator>> children_;
  InternalIterator* current_ = nullptr;
  bool forward_ = true;
  bool resume_ = false;  // try_next left current_'s step for next() to complete
};

}  // namespace

std::unique_ptr<InternalIterator> new_merging_iterator(std::vector<std::unique_ptr<InternalIterator>> children) {
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace strata
