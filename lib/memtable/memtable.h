// MemTable: the in-memory, sorted write buffer of the LSM tree. Holds internal entries
// (user key, sequence number, type, value) in a SkipList over an Arena.
//
// Entry encoding in the arena (as LevelDB's db/memtable.cc):
//   varint32 internal_key_size | internal key (user key | tag fixed64) | varint32 value_size | value
//
// A memtable is mutable until the DB switches it to immutable (then it is only read and flushed
// to an L0 SSTable, and destroyed when the last reader drops its shared_ptr).
// Thread-safety: add() is single-writer (the write-group leader); get(), iterators and the size
// accessors may run concurrently with add() from any thread, without locks.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lib/memtable/memtable_bloom.h"
#include "lib/memtable/skiplist.h"
#include "lib/util/arena.h"
#include "lib/util/internal_iterator.h"
#include "lib/util/internal_key.h"

namespace strata {

class MemTable {
 public:
  // Orders arena entries by their internal keys.
  struct EntryComparator {
    int operator()(const char* a, const char* b) const;
  };

  // bloom_bytes: the size of the whole-key filter that lets get() skip the skiplist for keys
  // this memtable does not hold (memtable_bloom.h); 0: no filter.
  // huge_pages: the arena's blocks on transparent huge pages (Arena; for memtables of many MiB).
  explicit MemTable(size_t bloom_bytes = 0, bool huge_pages = false);
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // REQUIRES: (key, seq) not already present; single writer.
  void add(SequenceNumber seq, ValueType type, std::string_view user_key, std::string_view value);

  struct LookupResult {
    bool deleted = false;  // the newest visible version is a tombstone
    std::string value;     // when !deleted
  };
  // The newest version of user_key with sequence <= seq; nullopt if this memtable has none.
  std::optional<LookupResult> get(std::string_view user_key, SequenceNumber seq) const;

  // Arena bytes, the measure compared with Options::memtable_size_bytes (the filter's fixed
  // bloom_bytes are not counted).
  size_t approximate_memory_usage() const { return arena_.memory_usage(); }
  uint64_t num_entries() const { return num_entries_.load(std::memory_order_acquire); }
  uint64_t num_deletions() const { return num_deletions_.load(std::memory_order_relaxed); }
  bool empty() const { return num_entries() == 0; }

  // A synchronous iterator over internal entries in internal key order (used by flush).
  // REQUIRES: the memtable outlives the iterator.
  class Iterator {
   public:
    explicit Iterator(const MemTable* mem) : it_(&mem->table_) {}
    bool valid() const { return it_.valid(); }
    std::string_view key() const;  // internal key
    std::string_view value() const;
    void next() { it_.next(); }
    void prev() { it_.prev(); }
    void seek_to_first() { it_.seek_to_first(); }
    void seek_to_last() { it_.seek_to_last(); }
    void seek(std::string_view internal_key);

   private:
    SkipList<const char*, EntryComparator>::Iterator it_;
    std::string seek_buf_;
  };

  // An InternalIterator that keeps the memtable alive.
  static std::unique_ptr<InternalIterator> new_internal_iterator(std::shared_ptr<const MemTable> mem);
  // An InternalIterator that borrows `mem`. REQUIRES: mem outlives the iterator (a DB iterator's
  // SuperVersion pins its memtables). No reference count is touched: with readers on several
  // cores, each increment and decrement of a shared count moves its cache line between them.
  static std::unique_ptr<InternalIterator> new_borrowed_iterator(const MemTable& mem);

 private:
  Arena arena_;
  MemTableBloom bloom_;
  SkipList<const char*, EntryComparator> table_;
  std::atomic<uint64_t> num_entries_{0};
  std::atomic<uint64_t> num_deletions_{0};
};

}  // namespace strata
