#include "lib/compaction/merging_iterator.h"

#include <string>

#include "lib/util/internal_key.h"

namespace strata {
namespace {

using boost::asio::awaitable;

class MergingIterator final : public InternalIterator {
 public:
  explicit MergingIterator(std::vector<std::unique_ptr<InternalIterator>> children) {
    children_.reserve(children.size());
    for (auto& c : children) children_.push_back(Child{.iter = std::move(c)});
  }

  bool valid() const override { return current_ != nullptr; }
  std::string_view key() const override { return current_->key; }
  std::string_view value() const override { return current_->iter->value(); }

  awaitable<Result<void>> seek_to_first() override {
    resume_ = false;
    for (auto& c : children_) {
      auto r = co_await c.iter->seek_to_first();
      if (!r) co_return fail(r.error());
      refresh(c);
    }
    forward_ = true;
    find_smallest();
    co_return ok();
  }

  awaitable<Result<void>> seek_to_last() override {
    resume_ = false;
    for (auto& c : children_) {
      auto r = co_await c.iter->seek_to_last();
      if (!r) co_return fail(r.error());
      refresh(c);
    }
    forward_ = false;
    find_largest();
    co_return ok();
  }

  awaitable<Result<void>> seek(std::string_view target) override {
    resume_ = false;
    for (auto& c : children_) {
      auto r = co_await c.iter->seek(target);
      if (!r) co_return fail(r.error());
      refresh(c);
    }
    forward_ = true;
    find_smallest();
    co_return ok();
  }

  bool try_seek(std::string_view target, Result<void>* r) override {
    resume_ = false;
    for (auto& c : children_) {
      Result<void> step = ok();
      if (!c.iter->try_seek(target, &step)) {
        current_ = nullptr;  // seek() repositions every child
        return false;
      }
      if (!step) {
        *r = fail(step.error());
        return true;
      }
      refresh(c);
    }
    forward_ = true;
    find_smallest();
    *r = ok();
    return true;
  }

  // Forward, the current child steps and the smallest child becomes current; a child whose step
  // needs I/O leaves the rest to next() (resume_).
  bool try_next(Result<void>* r) override {
    if (!forward_) return false;  // next() repositions the other children first
    Result<void> step = ok();
    if (!current_->iter->try_next(&step)) {
      resume_ = true;
      return false;
    }
    if (!step) {
      *r = fail(step.error());
      return true;
    }
    refresh(*current_);
    find_smallest();
    *r = ok();
    return true;
  }

  awaitable<Result<void>> next() override {
    if (resume_) {
      // Complete the current child's step that try_next started.
      resume_ = false;
      auto r = co_await current_->iter->next();
      if (!r) co_return fail(r.error());
      refresh(*current_);
      find_smallest();
      co_return ok();
    }
    if (!forward_) {
      // Every non-current child must be positioned at the first key > key().
      std::string k(key());
      for (auto& c : children_) {
        if (&c == current_) continue;
        auto r = co_await c.iter->seek(k);
        if (!r) co_return fail(r.error());
        if (c.iter->valid() && compare_internal_keys(k, c.iter->key()) == 0) {
          auto n = co_await c.iter->next();
          if (!n) co_return fail(n.error());
        }
        refresh(c);
      }
      forward_ = true;
    }
    auto r = co_await current_->iter->next();
    if (!r) co_return fail(r.error());
    refresh(*current_);
    find_smallest();
    co_return ok();
  }

  awaitable<Result<void>> prev() override {
    resume_ = false;
    if (forward_) {
      // Every non-current child must be positioned at the last key < key().
      std::string k(key());
      for (auto& c : children_) {
        if (&c == current_) continue;
        auto r = co_await c.iter->seek(k);
        if (!r) co_return fail(r.error());
        if (c.iter->valid()) {
          auto p = co_await c.iter->prev();  // first entry >= k, so step back once
          if (!p) co_return fail(p.error());
        } else {
          auto l = co_await c.iter->seek_to_last();  // no entry >= k: the last one is < k
          if (!l) co_return fail(l.error());
        }
        refresh(c);
      }
      forward_ = false;
    }
    auto r = co_await current_->iter->prev();
    if (!r) co_return fail(r.error());
    refresh(*current_);
    find_largest();
    co_return ok();
  }

 private:
  // A child with its position cached: find_smallest/find_largest compare the cached keys instead
  // of asking every child (a chain of virtual calls) at every step. `key` is the child's key()
  // while `valid`; it stays valid until the child moves, and refresh() follows every move.
  struct Child {
    std::unique_ptr<InternalIterator> iter;
    std::string_view key;
    bool valid = false;
  };

  static void refresh(Child& c) {
    c.valid = c.iter->valid();
    c.key = c.valid ? c.iter->key() : std::string_view();
  }
  ErrorCode fail(ErrorCode ec) {
    current_ = nullptr;
    for (auto& c : children_) c.valid = false;  // positions are unknown after an error
    return ec;
  }
  void find_smallest() {
    current_ = nullptr;
    for (auto& c : children_) {
      if (c.valid && (current_ == nullptr || compare_internal_keys(c.key, current_->key) < 0)) current_ = &c;
    }
  }
  void find_largest() {
    current_ = nullptr;
    for (auto& c : children_) {
      if (c.valid && (current_ == nullptr || compare_internal_keys(c.key, current_->key) > 0)) current_ = &c;
    }
  }

  std::vector<Child> children_;
  Child* current_ = nullptr;
  bool forward_ = true;
  bool resume_ = false;  // try_next left current_'s step for next() to complete
};

}  // namespace

std::unique_ptr<InternalIterator> new_merging_iterator(std::vector<std::unique_ptr<InternalIterator>> children) {
  return std::make_unique<MergingIterator>(std::move(children));
}

}  // namespace strata
