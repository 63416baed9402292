#include "lib/cache/lru_cache.h"

#include <xxhash.h>

#include "lib/util/assert.h"

namespace strata::cache {

size_t LruCache::KeyHash::operator()(std::string_view k) const noexcept {
  return static_cast<size_t>(XXH3_64bits(k.data(), k.size()));
}

LruCache::LruCache(size_t capacity_bytes, int num_shard_bits) : shard_bits_(num_shard_bits), capacity_(capacity_bytes) {
  STRATA_ASSERT(num_shard_bits >= 0 && num_shard_bits <= kMaxShardBits);
  size_t n = size_t{1} << num_shard_bits;
  shards_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->capacity = shard_capacity(capacity_bytes);
  }
}

LruCache::~LruCache() = default;

size_t LruCache::shard_capacity(size_t capacity_bytes) const {
  size_t n = size_t{1} << shard_bits_;
  return capacity_bytes / n + (capacity_bytes % n != 0 ? 1 : 0);
}

LruCache::Shard& LruCache::shard_for(std::string_view key) {
  if (shard_bits_ == 0) return *shards_[0];
  // The top bits pick the shard; the hash table of the shard uses the whole hash, whose low bits
  // pick its bucket, so the two choices are independent.
  uint64_t h = XXH3_64bits(key.data(), key.size());
  return *shards_[h >> (64 - shard_bits_)];
}

void LruCache::remove_locked(Shard& s, std::list<Entry>::iterator it,
                             std::vector<std::shared_ptr<const void>>* dropped) {
  s.index.erase(std::string_view(it->key));
  s.usage.store(s.usage.load(std::memory_order_relaxed) - it->charge, std::memory_order_relaxed);
  s.count.store(s.count.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  dropped->push_back(std::move(it->value));
  s.lru.erase(it);
}

void LruCache::evict_locked(Shard& s, size_t incoming_charge, std::vector<std::shared_ptr<const void>>* dropped) {
  while (s.usage.load(std::memory_order_relaxed) + incoming_charge > s.capacity && !s.lru.empty()) {
    remove_locked(s, std::prev(s.lru.end()), dropped);
    s.evictions.fetch_add(1, std::memory_order_relaxed);
  }
}

bool LruCache::insert(std::string_view key, std::shared_ptr<const void> value, size_t charge) {
  STRATA_ASSERT(value != nullptr);
  Shard& s = shard_for(key);
  std::vector<std::shared_ptr<const void>> dropped;  // destroyed after the lock is released
  std::lock_guard lock(s.mu);
  auto found = s.index.find(key);
  if (found != s.index.end()) remove_locked(s, found->second, &dropped);
  if (s.capacity == 0 || charge > s.capacity) return false;
  // Make room first, so that usage never exceeds the capacity, even for a moment.
  evict_locked(s, charge, &dropped);
  s.lru.push_front(Entry{std::string(key), std::move(value), charge});
  // The index's key views the string inside the list node, which never moves.
  s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
  s.usage.store(s.usage.load(std::memory_order_relaxed) + charge, std::memory_order_relaxed);
  s.count.store(s.count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  s.inserts.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::shared_ptr<const void> LruCache::lookup(std::string_view key) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  auto found = s.index.find(key);
  if (found == s.index.end()) {
    s.misses.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  s.hits.fetch_add(1, std::memory_order_relaxed);
  s.lru.splice(s.lru.begin(), s.lru, found->second);  // iterators stay valid
  return found->second->value;
}

std::shared_ptr<const void> LruCache::peek(std::string_view key) {
  Shard& s = shard_for(key);
  std::lock_guard lock(s.mu);
  auto found = s.index.find(key);
  return found == s.index.end() ? nullptr : found->second->value;
}

bool LruCache::erase(std::string_view key) {
  Shard& s = shard_for(key);
  std::vector<std::shared_ptr<const void>> dropped;
  std::lock_guard lock(s.mu);
  auto found = s.index.find(key);
  if (found == s.index.end()) return false;
  remove_locked(s, found->second, &dropped);
  return true;
}

size_t LruCache::erase_prefix(std::string_view prefix) {
  size_t removed = 0;
  for (auto& sp : shards_) {
    Shard& s = *sp;
    std::vector<std::shared_ptr<const void>> dropped;
    std::lock_guard lock(s.mu);
    for (auto it = s.lru.begin(); it != s.lru.end();) {
      auto next = std::next(it);
      if (std::string_view(it->key).starts_with(prefix)) {
        remove_locked(s, it, &dropped);
        ++removed;
      }
      it = next;
    }
  }
  return removed;
}

void LruCache::clear() { erase_prefix(""); }

void LruCache::set_capacity(size_t capacity_bytes) {
  capacity_.store(capacity_bytes, std::memory_order_relaxed);
  size_t per_shard = shard_capacity(capacity_bytes);
  for (auto& sp : shards_) {
    Shard& s = *sp;
    std::vector<std::shared_ptr<const void>> dropped;
    std::lock_guard lock(s.mu);
    s.capacity = per_shard;
    evict_locked(s, 0, &dropped);
  }
}

size_t LruCache::usage() const {
  size_t total = 0;
  for (const auto& s : shards_) total += s->usage.load(std::memory_order_relaxed);
  return total;
}

size_t LruCache::entry_count() const {
  size_t total = 0;
  for (const auto& s : shards_) total += s->count.load(std::memory_order_relaxed);
  return total;
}

uint64_t LruCache::hits() const {
  uint64_t total = 0;
  for (const auto& s : shards_) total += s->hits.load(std::memory_order_relaxed);
  return total;
}

uint64_t LruCache::misses() const {
  uint64_t total = 0;
  for (const auto& s : shards_) total += s->misses.load(std::memory_order_relaxed);
  return total;
}

uint64_t LruCache::inserts() const {
  uint64_t total = 0;
  for (const auto& s : shards_) total += s->inserts.load(std::memory_order_relaxed);
  return total;
}

uint64_t LruCache::evictions() const {
  uint64_t total = 0;
  for (const auto& s : shards_) total += s->evictions.load(std::memory_order_relaxed);
  return total;
}

}  // namespace strata::cache
