// LruCache: a sharded, thread-safe LRU cache with a capacity in bytes and a charge per entry.
// Strata uses it as the block cache (parsed SSTable data blocks, charge = their memory) and, with
// a charge of 1 per entry, as the table cache of open SSTable readers (lib/db/table_cache.h).
//
// Algorithm: LevelDB's ShardedLRUCache (util/cache.cc) and RocksDB's LRUCache
// (cache/lru_cache.cc): the key space is split into 2^num_shard_bits shards by a hash of the key
// (XXH3, top bits), each shard an exact LRU list plus a hash table under its own mutex, and each
// shard holding at most ceil(capacity / num_shards) bytes of charge. A lookup moves the entry to
// the front; an insert that pushes the shard over its capacity evicts from the back.
// One difference: values are handed out as shared_ptr<const void>, so an entry evicted (or
// erased, or replaced) while a caller holds it stays valid until that caller drops it. Such a
// pinned, evicted value no longer counts in usage(); LevelDB instead keeps pinned entries charged
// until released. This trades a strict memory bound for never blocking or failing an insert.
//
// Invariants (per shard, under its mutex): usage == sum of the charges of the entries held;
// usage <= shard capacity after every operation; the LRU list and the hash table hold the same
// entries. An entry whose charge exceeds the shard capacity is never held (so capacity 0 holds
// nothing: the cache is disabled, every lookup misses).
// Thread-safety: every method is safe from any thread. Counters are relaxed atomics (statistics,
// not synchronisation). Values are destroyed outside the shard mutex.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace strata::cache {

class LruCache {
 public:
  // 16 shards: enough to keep the mutexes cold on the pools Strata runs (one thread per core).
  static constexpr int kDefaultShardBits = 4;
  static constexpr int kMaxShardBits = 12;

  // capacity_bytes: total charge the cache may hold (0 disables it). num_shard_bits: the cache has
  // 2^num_shard_bits shards. REQUIRES: 0 <= num_shard_bits <= kMaxShardBits.
  explicit LruCache(size_t capacity_bytes, int num_shard_bits = kDefaultShardBits);
  ~LruCache();
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // Inserts `value` under `key` with `charge` (bytes, or any unit the owner chose for the
  // capacity), replacing any entry with that key, at the most recently used position, after
  // evicting least recently used entries of the shard until the new entry fits. Returns false (and
  // holds nothing) if charge > the shard capacity or the capacity is 0.
  // REQUIRES: value != nullptr.
  bool insert(std::string_view key, std::shared_ptr<const void> value, size_t charge);

  // The value under `key` (and marks it most recently used), or nullptr. Counts a hit or a miss.
  std::shared_ptr<const void> lookup(std::string_view key);

  // Like lookup(), but neither counts nor changes the LRU order (for a second look by a caller
  // that already counted its miss).
  std::shared_ptr<const void> peek(std::string_view key);

  // Typed lookup: the caller knows what it inserted under its keys.
  template <class T>
  std::shared_ptr<const T> lookup_as(std::string_view key) {
    return std::static_pointer_cast<const T>(lookup(key));
  }

  // Removes the entry under `key`; false if there was none. Holders of the value keep it.
  bool erase(std::string_view key);

  // Removes every entry whose key starts with `prefix` (e.g. every block of one SSTable) and
  // returns how many. O(number of entries): for rare events such as deleting a file.
  size_t erase_prefix(std::string_view prefix);

  // Removes every entry.
  void clear();

  // Changes the capacity at runtime; shrinking evicts least recently used entries at once.
  void set_capacity(size_t capacity_bytes);

  size_t capacity() const { return capacity_.load(std::memory_order_relaxed); }
  // Total charge of the entries held (bytes for the block cache).
  size_t usage() const;
  size_t entry_count() const;
  int num_shards() const { return static_cast<int>(shards_.size()); }

  uint64_t hits() const;
  uint64_t misses() const;
  uint64_t inserts() const;    // inserts that were held
  uint64_t evictions() const;  // entries dropped to make room (not erase/replace)

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const void> value;
    size_t charge;
  };
  // Heterogeneous lookup by string_view in the per-shard hash table.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const noexcept;
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };
  struct Shard {
    std::mutex mu;
    // Guarded by mu: front = most recently used.
    std::list<Entry> lru;
    std::unordered_map<std::string_view, std::list<Entry>::iterator, KeyHash, KeyEqual> index;
    size_t capacity = 0;
    // Written under mu, read without it.
    std::atomic<size_t> usage{0};
    std::atomic<size_t> count{0};
    std::atomic<uint64_t> hits{0}, misses{0}, inserts{0}, evictions{0};
  };

  Shard& shard_for(std::string_view key);
  size_t shard_capacity(size_t capacity_bytes) const;
  // Removes `it` from the shard, moving its value into *dropped (destroyed after unlocking).
  // REQUIRES: s.mu held.
  static void remove_locked(Shard& s, std::list<Entry>::iterator it, std::vector<std::shared_ptr<const void>>* dropped);
  // Evicts from the back until usage + incoming_charge <= capacity. REQUIRES: s.mu held.
  static void evict_locked(Shard& s, size_t incoming_charge, std::vector<std::shared_ptr<const void>>* dropped);

  const int shard_bits_;
  std::atomic<size_t> capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace strata::cache
