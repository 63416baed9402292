// InternalIterator: the iterator over internal keys (user key + sequence + type, see
// internal_key.h) that memtables, SSTables and the merging iterator implement, so that scans and
// compaction see every source through one shape.
//
// Moves are coroutines because an SSTable iterator may read a block from disk; a move that needs
// no I/O completes without suspending. After a move returns an error the iterator is !valid().
// try_next() is next() as a plain call, for the steps that need no I/O (most of a scan): it
// returns true when the move is done, with next()'s result in *r; false when the move needs I/O,
// and then the move is under way and the caller's co_await next() completes it (without moving
// again). Between a false try_next() and that next() the iterator may be called for nothing
// else. The default never steps synchronously.
// key() and value() stay valid until the next move or the iterator's destruction.
// Thread-safety: none; one coroutine uses an iterator at a time.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string_view>

#include "strata/result.h"

namespace strata {

class InternalIterator {
 public:
  virtual ~InternalIterator() = default;

  virtual bool valid() const = 0;
  // REQUIRES: valid().
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;

  virtual boost::asio::awaitable<Result<void>> seek_to_first() = 0;
  virtual boost::asio::awaitable<Result<void>> seek_to_last() = 0;
  // Positions at the first entry with key >= target (internal key order).
  virtual boost::asio::awaitable<Result<void>> seek(std::string_view target) = 0;
  // REQUIRES: valid().
  virtual boost::asio::awaitable<Result<void>> next() = 0;
  // REQUIRES: valid(). See above.
  virtual bool try_next(Result<void>* r) { return false; }
  // seek() as a plain call, when it needs no I/O: true when the move is done, with seek()'s result
  // in *r; false when it needs I/O, and then the position is unspecified and the caller's
  // co_await seek(target) does the whole move afresh. The default never seeks synchronously.
  virtual bool try_seek(std::string_view target, Result<void>* r) { return false; }
  // seek_to_first() the same way.
  virtual bool try_seek_to_first(Result<void>* r) { return false; }
  virtual boost::asio::awaitable<Result<void>> prev() = 0;
};

}  // namespace strata
