#include "lib/db/db_iterator.h"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "lib/db/read_quota.h"

namespace strata {
namespace {

using boost::asio::awaitable;

class DBIter final : public Iterator {
 public:
  DBIter(std::unique_ptr<InternalIterator> iter, SequenceNumber seq, std::string lower, std::string upper,
         std::shared_ptr<const void> pin)
      : pin_(std::move(pin)), iter_(std::move(iter)), seq_(seq), lower_(std::move(lower)), upper_(std::move(upper)) {}

  bool valid() const override { return valid_; }
  std::string_view key() const override { return key_view_; }
  std::string_view value() const override { return value_view_; }

  awaitable<Result<void>> seek_to_first() override {
    yield_ = false;
    if (!lower_.empty()) co_return co_await seek(lower_);
    direction_ = Direction::forward;
    pending_ = false;
    STRATA_CO_TRY(co_await checked(co_await iter_->seek_to_first()));
    skipping_ = false;
    co_return co_await find_next();
  }

  awaitable<Result<void>> seek_to_last() override {
    yield_ = false;
    direction_ = Direction::reverse;
    pending_ = false;
    if (upper_.empty()) {
      STRATA_CO_TRY(co_await checked(co_await iter_->seek_to_last()));
    } else {
      STRATA_CO_TRY(co_await position_before(upper_));
    }
    co_return co_await find_prev();
  }

  awaitable<Result<void>> seek(std::string_view target) override {
    yield_ = false;
    direction_ = Direction::forward;
    pending_ = false;
    std::string_view t = (!lower_.empty() && target < lower_) ? std::string_view(lower_) : target;
    LookupKey lookup(t, seq_);
    STRATA_CO_TRY(co_await checked(co_await iter_->seek(lookup.internal_key())));
    skipping_ = false;
    co_return co_await find_next();
  }

  // seek() without suspending when every source answers from memory. Any step that needs I/O
  // makes it give up (false); seek() then starts afresh.
  bool try_seek(std::string_view target, Result<void>* r) override {
    yield_ = false;
    direction_ = Direction::forward;
    pending_ = false;
    std::string_view t = (!lower_.empty() && target < lower_) ? std::string_view(lower_) : target;
    LookupKey lookup(t, seq_);
    Result<void> step = ok();
    if (!iter_->try_seek(lookup.internal_key(), &step)) return false;
    if (!step) {
      valid_ = false;
      *r = step;
      return true;
    }
    skipping_ = false;
    return find_next_in_memory(r);
  }

  awaitable<Result<void>> seek_for_prev(std::string_view target) override {
    yield_ = false;
    if (!upper_.empty() && target >= upper_) co_return co_await seek_to_last();
    direction_ = Direction::reverse;
    pending_ = false;
    // (target, 0, deletion) sorts after every real entry of target: seeking it lands on the first
    // entry of a larger user key.
    STRATA_CO_TRY(co_await checked(co_await iter_->seek(make_internal_key(target, 0, ValueType::deletion))));
    STRATA_CO_TRY(co_await step_back_or_last());
    co_return co_await find_prev();
  }

  awaitable<Result<void>> next() override {
    if (yield_) {
      // try_next found this thread's read quota spent: let the executor's other work run first.
      yield_ = false;
      co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
      ReadQuota::refill();
    }
    if (pending_) {
      // try_next left the internal iterator's step under way: complete it, then go on.
      pending_ = false;
      STRATA_CO_TRY(co_await checked(co_await iter_->next()));
      co_return co_await find_next();
    }
    skip_.assign(key_view_);  // the current key, before the internal iterator moves off it
    skipping_ = true;
    if (direction_ == Direction::reverse) {
      // The internal iterator is before the current key's entries: go to its first entry.
      direction_ = Direction::forward;
      STRATA_CO_TRY(
          co_await checked(co_await iter_->seek(make_internal_key(skip_, kMaxSequenceNumber, kValueTypeForSeek))));
    } else {
      Result<void> step = ok();
      if (!iter_->try_next(&step)) step = co_await iter_->next();
      STRATA_CO_TRY(co_await checked(std::move(step)));
    }
    co_return co_await find_next();
  }

  bool try_next(Result<void>* r) override {
    if (direction_ != Direction::forward || pending_) return false;
    if (ReadQuota::spent()) {
      yield_ = true;  // next() yields, then steps (read_quota.h)
      return false;
    }
    skip_.assign(key_view_);
    skipping_ = true;
    Result<void> step = ok();
    if (!iter_->try_next(&step)) {
      pending_ = true;
      return false;
    }
    if (!step) {
      valid_ = false;
      *r = step;
      return true;
    }
    if (!find_next_in_memory(r)) {
      pending_ = true;
      return false;
    }
    return true;
  }

  awaitable<Result<void>> prev() override {
    yield_ = false;
    pending_ = false;
    if (direction_ == Direction::forward) {
      // Step back to before the current key's entries.
      direction_ = Direction::reverse;
      std::string current(key_view_);  // the view dies when the internal iterator moves
      STRATA_CO_TRY(co_await position_before(current));
    }
    co_return co_await find_prev();
  }

 private:
  enum class Direction { forward, reverse };

  awaitable<Result<void>> checked(Result<void> r) {
    if (!r) valid_ = false;
    co_return r;
  }

  // Positions the internal iterator on the last entry whose user key is < user_key.
  awaitable<Result<void>> position_before(std::string_view user_key) {
    STRATA_CO_TRY(
        co_await checked(co_await iter_->seek(make_internal_key(user_key, kMaxSequenceNumber, kValueTypeForSeek))));
    co_return co_await step_back_or_last();
  }

  // After a seek: one step back, or to the last entry if the seek ran off the end.
  awaitable<Result<void>> step_back_or_last() {
    if (iter_->valid()) {
      co_return co_await checked(co_await iter_->prev());
    }
    co_return co_await checked(co_await iter_->seek_to_last());
  }

  // Forward: from the internal iterator's position, the first visible, undeleted user key.
  // While skipping_, entries of skip_ (a key already returned or deleted) are hidden. Steps the
  // internal iterator without suspending: true when done (*r set); false when a step needs I/O,
  // which is then under way (the caller completes it with iter_->next(), then calls this again).
  bool find_next_in_memory(Result<void>* r) {
    while (iter_->valid()) {
      ParsedInternalKey k;
      if (!parse_internal_key(iter_->key(), &k)) {
        valid_ = false;
        *r = make_error_code(Errc::corruption);
        return true;
      }
      if (!upper_.empty() && k.user_key >= upper_) break;
      if (k.sequence <= seq_) {
        if (k.type == ValueType::deletion) {
          skip_.assign(k.user_key);
          skipping_ = true;
        } else if (!(skipping_ && k.user_key == skip_)) {
          // Forward, the entry is shown in place (LevelDB's DBIter does the same): no copy.
          key_view_ = k.user_key;
          value_view_ = iter_->value();
          valid_ = true;
          *r = ok();
          return true;
        }
      }
      Result<void> step = ok();
      if (!iter_->try_next(&step)) return false;
      if (!step) {
        valid_ = false;
        *r = step;
        return true;
      }
    }
    valid_ = false;
    *r = ok();
    return true;
  }

  awaitable<Result<void>> find_next() {
    Result<void> r = ok();
    while (!find_next_in_memory(&r)) {
      STRATA_CO_TRY(co_await checked(co_await iter_->next()));
    }
    co_return r;
  }

  // Backward: steps back over entries; the newest visible entry of the last user key passed
  // decides it. Stops with the internal iterator before that key's entries.
  awaitable<Result<void>> find_prev() {
    bool have_value = false;  // key_/value_ hold the newest visible undeleted version seen so far
    std::string current;      // the user key whose entries are being passed
    bool have_current = false;
    while (iter_->valid()) {
      ParsedInternalKey k;
      if (!parse_internal_key(iter_->key(), &k)) {
        valid_ = false;
        co_return make_error_code(Errc::corruption);
      }
      if (!lower_.empty() && k.user_key < lower_) break;
      if (have_current && k.user_key != current && have_value) break;  // key_ is decided
      if (!have_current || k.user_key != current) {
        current.assign(k.user_key);
        have_current = true;
      }
      if (k.sequence <= seq_) {
        // Entries of one key arrive oldest first: each visible one overrides the previous.
        if (k.type == ValueType::deletion) {
          have_value = false;
        } else {
          key_.assign(k.user_key);
          value_.assign(iter_->value());
          have_value = true;
        }
      }
      STRATA_CO_TRY(co_await checked(co_await iter_->prev()));
    }
    valid_ = have_value;
    key_view_ = key_;  // backward, the internal iterator has moved past the entry: shown from copies
    value_view_ = value_;
    co_return ok();
  }

  // Declared before iter_ so that the sources iter_ reads (the SuperVersion's memtables and the
  // Version whose file lists the level iterators view) outlive it.
  std::shared_ptr<const void> pin_;
  std::unique_ptr<InternalIterator> iter_;
  const SequenceNumber seq_;
  const std::string lower_, upper_;
  Direction direction_ = Direction::forward;
  bool valid_ = false;
  // What key() and value() show: forward, the internal iterator's current entry; backward, key_
  // and value_ (copies, since find_prev steps past the entry it decides on).
  std::string_view key_view_, value_view_;
  std::string key_, value_;
  std::string skip_;  // find_next: the user key whose entries are hidden while skipping_
  bool skipping_ = false;
  bool pending_ = false;  // try_next left the internal iterator's step for next() to complete
  bool yield_ = false;    // try_next left a yield (then the whole step) to next()
};

class ErrorIterator final : public Iterator {
 public:
  explicit ErrorIterator(ErrorCode e) : error_(e) {}
  bool valid() const override { return false; }
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  awaitable<Result<void>> seek_to_first() override { co_return error_; }
  awaitable<Result<void>> seek_to_last() override { co_return error_; }
  awaitable<Result<void>> seek(std::string_view) override { co_return error_; }
  awaitable<Result<void>> seek_for_prev(std::string_view) override { co_return error_; }
  awaitable<Result<void>> next() override { co_return error_; }
  awaitable<Result<void>> prev() override { co_return error_; }

 private:
  ErrorCode error_;
};

}  // namespace

std::unique_ptr<Iterator> new_db_iterator(std::unique_ptr<InternalIterator> internal, SequenceNumber sequence,
                                          std::string lower_bound, std::string upper_bound,
                                          std::shared_ptr<const void> pin) {
  return std::make_unique<DBIter>(std::move(internal), sequence, std::move(lower_bound), std::move(upper_bound),
                                  std::move(pin));
}

std::unique_ptr<Iterator> new_error_iterator(ErrorCode error) { return std::make_unique<ErrorIterator>(error); }

}  // namespace strata
