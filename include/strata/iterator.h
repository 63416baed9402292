// strata::Iterator: ordered iteration over a DB's user keys as of one sequence number, forward
// and backward, within optional bounds (DB::new_iterator, ReadOptions).
//
//   auto it = db->new_iterator(ReadOptions{.lower_bound = "a", .upper_bound = "m"});
//   for (auto r = co_await it->seek_to_first(); r && it->valid(); r = co_await it->next())
//     use(it->key(), it->value());
//
// Every move returns an error (corruption, io errors, shutting_down) and leaves the iterator
// !valid() when it fails; a move past either end leaves it !valid() with success.
// key() and value() stay valid until the next move.
// Lifetime: the iterator pins the memtables and the SSTables of the moment it was created (they
// are not deleted while it lives); destroy it before DB::close() completes.
// Thread-safety: none; one coroutine uses an iterator at a time. Any number of iterators may run
// concurrently with each other and with writes.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string_view>

#include "strata/result.h"

namespace strata {

class Iterator {
 public:
  virtual ~Iterator() = default;

  virtual bool valid() const = 0;
  // REQUIRES: valid().
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;

  // The first key (>= lower_bound).
  virtual boost::asio::awaitable<Result<void>> seek_to_first() = 0;
  // The last key (< upper_bound).
  virtual boost::asio::awaitable<Result<void>> seek_to_last() = 0;
  // The first key >= target.
  virtual boost::asio::awaitable<Result<void>> seek(std::string_view target) = 0;
  // The last key <= target.
  virtual boost::asio::awaitable<Result<void>> seek_for_prev(std::string_view target) = 0;
  // REQUIRES: valid().
  virtual boost::asio::awaitable<Result<void>> next() = 0;
  // next() as a plain call when the step needs no I/O (the usual case inside cached or mapped
  // data): true when the move is done, with next()'s result in *r; false when it needs I/O, and
  // then the move is under way: co_await next() completes it (it does not move again). Nothing
  // else may be called on the iterator in between.
  //   Result<void> r;
  //   if (!it->try_next(&r)) r = co_await it->next();
  virtual bool try_next(Result<void>* r) { return false; }
  // seek() as a plain call when it needs no I/O (the usual case when the tables' readers are open
  // and their blocks mapped or cached): true when done, with seek()'s result in *r; false when it
  // needs I/O, and then the position is unspecified: co_await seek(target) does the whole move.
  //   Result<void> r;
  //   if (!it->try_seek(target, &r)) r = co_await it->seek(target);
  virtual bool try_seek(std::string_view target, Result<void>* r) { return false; }
  virtual boost::asio::awaitable<Result<void>> prev() = 0;
};

}  // namespace strata
