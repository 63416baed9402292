// strata::DB: the embeddable LSM-tree key-value store (see DESIGN.md).
//
//   auto db = co_await strata::DB::open(executor, "/path/to/dir", options);
//   co_await (*db)->put("key", "value");
//   auto v = co_await (*db)->get("key");     // Result<std::optional<std::string>>
//   co_await (*db)->close();
//
// Keys and values are arbitrary bytes (limits in Options). Writes are atomic per call (a
// WriteBatch is all-or-nothing) and are acknowledged according to the sync policy. Reads see
// every write acknowledged before them, or the state as of ReadOptions::snapshot.
//
// Errors (Result): invalid_argument for oversized keys or values; read_only after a failed WAL or
// flush write or sync (never retried; reopen after fixing the cause); corruption when a checksum
// does not match, with the file and offset logged; busy when another process has the directory
// open; shutting_down after close().
//
// Executors: open() takes the executor that the DB's coroutines run on (the node's pool).
// Background flushes run on an internal single-thread pool, and compactions on their own threads
// (at most Options::max_background_compactions at once), so that building SSTables never delays
// request handling; file I/O completes back on the awaiting coroutine's executor.
// Thread-safety: every method may be called concurrently from any thread or coroutine.
// REQUIRES: close() has completed before the DB is destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "strata/iterator.h"
#include "strata/options.h"
#include "strata/stats.h"
#include "strata/trace.h"
#include "strata/write_batch.h"
#include "strata/result.h"

namespace strata {

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

class DBImpl;

// One option as DB::option_list() reports it (the REPL's CONFIG).
struct OptionInfo {
  std::string name;
  std::string value;
  bool mutable_at_runtime = false;  // settable with DB::set_option
};

// A pinned sequence number: reads with ReadOptions{.snapshot = s.sequence()} see the state as of
// it, and flushes keep the versions it needs. Released when the last copy is destroyed.
class Snapshot {
 public:
  SequenceNumber sequence() const { return sequence_; }

 private:
  friend class DBImpl;
  Snapshot(SequenceNumber seq, std::shared_ptr<void> pin) : sequence_(seq), pin_(std::move(pin)) {}
  SequenceNumber sequence_;
  std::shared_ptr<void> pin_;
};

// What DB::get(key, &value) found. An enum, not a bool: a Result<bool> cannot be built from an
// error code.
enum class Found : uint8_t { no, yes };

class DB {
 public:
  // Opens (and with create_if_missing, creates) the DB in directory `path`, replaying the
  // manifest and the WAL. Errors: busy (locked by another process), corruption, io_error,
  // not_found (missing and !create_if_missing), already_exists (error_if_exists).
  static boost::asio::awaitable<Result<std::unique_ptr<DB>>> open(boost::asio::any_io_executor executor,
                                                                  std::string path, Options options);

  ~DB();
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;

  // Writes return the sequence number assigned to the (last record of the) write.
  boost::asio::awaitable<Result<SequenceNumber>> put(std::string key, std::string value, WriteOptions options = {});
  boost::asio::awaitable<Result<SequenceNumber>> del(std::string key, WriteOptions options = {});
  boost::asio::awaitable<Result<SequenceNumber>> write(WriteBatch batch, WriteOptions options = {});

  // The value of `key`, or nullopt when it is absent or deleted. A get whose answer is in memory
  // (memtables, block cache, the OS page cache) completes without suspending; only a block read
  // from disk suspends the caller (io_uring).
  boost::asio::awaitable<Result<std::optional<std::string>>> get(std::string key, ReadOptions options = {});

  // get() into a string the caller keeps, as LevelDB's Get(..., std::string*): Found::yes when
  // the key has a value, which is then in *value; Found::no leaves *value empty. The string's capacity is
  // reused, so a caller that reads in a loop with one string allocates nothing once it is large
  // enough (RocksDB's PinnableSlice serves the same purpose). `key` and `*value` must stay valid
  // until the awaitable completes; *value holds nothing meaningful before then. Errors: as get().
  boost::asio::awaitable<Result<Found>> get(std::string_view key, std::string* value, ReadOptions options = {});

  // get() of many keys at one sequence number (options.snapshot, or the latest): element i is
  // the value of keys[i], or nullopt (absent or deleted); duplicates are answered each time.
  // Keys whose blocks must be read from disk are read concurrently, their reads in flight
  // together (RocksDB's MultiGet). Errors: as get(); the first error fails the whole call.
  boost::asio::awaitable<Result<std::vector<std::optional<std::string>>>> multi_get(std::vector<std::string> keys,
                                                                                    ReadOptions options = {});

  // get(), recording where the lookup went (see trace.h). Same errors as get().
  boost::asio::awaitable<Result<LookupTrace>> trace(std::string key, ReadOptions options = {});

  // An iterator over the state as of options.snapshot (or now), within the options' bounds and
  // prefix. Never fails here: after close() its moves fail with shutting_down. See iterator.h.
  std::unique_ptr<Iterator> new_iterator(ReadOptions options = {});

  // Up to `limit` pairs with start <= key < end in key order (through an Iterator, so also
  // within the options' bounds and prefix); an empty `end` means no upper bound; limit 0 means
  // no limit.
  boost::asio::awaitable<Result<std::vector<KeyValue>>> scan(std::string start, std::string end, size_t limit,
                                                             ReadOptions options = {});

  // Pins the current sequence number (see Snapshot).
  Snapshot snapshot();
  // The sequence number of the last acknowledged write.
  SequenceNumber latest_sequence() const;

  // Turns the active memtable immutable and waits until every immutable memtable is an SSTable.
  boost::asio::awaitable<Result<void>> flush();
  // Writes a consistent copy of the DB (its SSTables plus a new MANIFEST and CURRENT) into the
  // directory `dir` (created; must be empty or missing, on the same FileSystem), such that
  // DB::open(dir) opens exactly the state of every write acknowledged before the call (and
  // possibly some later ones, each batch whole). Returns the last sequence number it holds.
  // Errors: the file system's, read_only, shutting_down.
  boost::asio::awaitable<Result<SequenceNumber>> checkpoint(std::string dir);

  // Compacts every level's SSTables overlapping [begin, end] (user keys; empty = unbounded on
  // that side) into the level below, after flushing the memtables, so the range ends up in one
  // level without versions no snapshot needs (and without tombstones at the bottom level).
  // Automatic compactions pause meanwhile. Errors: read_only, shutting_down, io errors.
  boost::asio::awaitable<Result<void>> compact_range(std::string begin = {}, std::string end = {});

  // Changes a runtime-mutable option (lib/db/mutable_options.h lists them with their ranges).
  // Errors: invalid_argument, with the reason in *why when given.
  Result<void> set_option(std::string_view name, std::string_view value, std::string* why = nullptr);
  // Every option with its current value.
  std::vector<OptionInfo> option_list() const;

  // A consistent copy of the counters (see stats.h).
  DbStats stats() const;

  // Stops accepting requests (later calls fail with shutting_down), waits for in-flight writes and
  // background flushes, syncs the WAL and releases the directory lock. Idempotent.
  boost::asio::awaitable<Result<void>> close();

 private:
  explicit DB(std::unique_ptr<DBImpl> impl);
  std::unique_ptr<DBImpl> impl_;
};

}  // namespace strata
