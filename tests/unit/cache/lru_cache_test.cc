#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "lib/cache/lru_cache.h"
#include "lib/util/random.h"

using strata::Random;
using strata::cache::LruCache;

namespace {

std::shared_ptr<const void> value_of(int v) { return std::make_shared<const int>(v); }

// The int under `key`, or -1 when absent.
int get(LruCache& c, std::string_view key) {
  auto v = c.lookup_as<int>(key);
  return v ? *v : -1;
}

}  // namespace

TEST_CASE("lru cache holds entries up to its capacity in bytes and evicts the least recently used") {
  LruCache c(100, /*num_shard_bits=*/0);
  CHECK(c.insert("a", value_of(1), 40));
  CHECK(c.insert("b", value_of(2), 40));
  CHECK(c.usage() == 80);
  CHECK(get(c, "a") == 1);                // "a" is now the most recently used
  CHECK(c.insert("c", value_of(3), 40));  // 120 > 100: evicts "b", the least recently used
  CHECK(c.usage() == 80);
  CHECK(c.entry_count() == 2);
  CHECK(get(c, "b") == -1);
  CHECK(get(c, "a") == 1);
  CHECK(get(c, "c") == 3);
  CHECK(c.evictions() == 1);
  CHECK(c.inserts() == 3);
  CHECK(c.hits() == 3);
  CHECK(c.misses() == 1);
}

TEST_CASE("lru cache evicts as many old entries as a large insert needs, in LRU order") {
  LruCache c(100, 0);
  for (int i = 0; i < 10; ++i) CHECK(c.insert("k" + std::to_string(i), value_of(i), 10));
  CHECK(c.usage() == 100);
  // Touch k0..k4 so that k5..k9 are the least recently used, k5 the oldest.
  for (int i = 0; i < 5; ++i) CHECK(get(c, "k" + std::to_string(i)) == i);
  CHECK(c.insert("big", value_of(99), 35));  // needs 35 bytes: evicts k5, k6, k7, k8
  CHECK(c.usage() == 95);
  for (int i = 5; i < 9; ++i) CHECK(get(c, "k" + std::to_string(i)) == -1);
  CHECK(get(c, "k9") == 9);
  for (int i = 0; i < 5; ++i) CHECK(get(c, "k" + std::to_string(i)) == i);
  CHECK(c.evictions() == 4);
}

TEST_CASE("lru cache replaces an entry with the same key and recharges it") {
  LruCache c(100, 0);
  CHECK(c.insert("a", value_of(1), 30));
  CHECK(c.insert("a", value_of(2), 50));
  CHECK(c.usage() == 50);
  CHECK(c.entry_count() == 1);
  CHECK(get(c, "a") == 2);
}

TEST_CASE("an entry larger than the capacity is not held, and the others stay") {
  LruCache c(100, 0);
  CHECK(c.insert("a", value_of(1), 60));
  CHECK_FALSE(c.insert("huge", value_of(2), 101));
  CHECK(get(c, "huge") == -1);
  CHECK(get(c, "a") == 1);
  CHECK(c.usage() == 60);
}

TEST_CASE("a value held by a caller stays valid after its entry is evicted, erased or replaced") {
  LruCache c(10, 0);
  CHECK(c.insert("a", std::make_shared<const std::string>("pinned value"), 10));
  std::shared_ptr<const std::string> held = c.lookup_as<std::string>("a");
  REQUIRE(held != nullptr);
  CHECK(c.insert("b", value_of(2), 10));  // evicts "a"
  CHECK(get(c, "a") == -1);
  CHECK(c.usage() == 10);
  CHECK(*held == "pinned value");
  CHECK(held.use_count() == 1);  // the cache let go; the holder owns the last reference

  CHECK(c.insert("c", std::make_shared<const std::string>("erased"), 5));
  auto erased = c.lookup_as<std::string>("c");
  CHECK(c.erase("c"));
  CHECK_FALSE(c.erase("c"));
  CHECK(*erased == "erased");
}

TEST_CASE("lru cache erase_prefix removes exactly the keys with that prefix") {
  LruCache c(1000, 2);
  for (int i = 0; i < 20; ++i) {
    CHECK(c.insert("file1/" + std::to_string(i), value_of(i), 10));
    CHECK(c.insert("file2/" + std::to_string(i), value_of(i), 10));
  }
  CHECK(c.entry_count() == 40);
  CHECK(c.erase_prefix("file1/") == 20);
  CHECK(c.entry_count() == 20);
  CHECK(c.usage() == 200);
  for (int i = 0; i < 20; ++i) {
    CHECK(get(c, "file1/" + std::to_string(i)) == -1);
    CHECK(get(c, "file2/" + std::to_string(i)) == i);
  }
  c.clear();
  CHECK(c.entry_count() == 0);
  CHECK(c.usage() == 0);
}

TEST_CASE("set_capacity shrinking evicts at once, least recently used first; growing keeps entries") {
  LruCache c(100, 0);
  for (int i = 0; i < 10; ++i) CHECK(c.insert("k" + std::to_string(i), value_of(i), 10));
  c.set_capacity(30);
  CHECK(c.capacity() == 30);
  CHECK(c.usage() == 30);
  CHECK(get(c, "k6") == -1);
  for (int i = 7; i < 10; ++i) CHECK(get(c, "k" + std::to_string(i)) == i);
  c.set_capacity(200);
  CHECK(c.usage() == 30);
  for (int i = 0; i < 10; ++i) CHECK(c.insert("n" + std::to_string(i), value_of(i), 10));
  CHECK(c.usage() == 130);
}

TEST_CASE("capacity 0 disables the cache: nothing is held, every lookup misses") {
  LruCache c(0, 0);
  CHECK_FALSE(c.insert("a", value_of(1), 1));
  CHECK_FALSE(c.insert("z", value_of(1), 0));  // not even a free entry
  CHECK(get(c, "a") == -1);
  CHECK(c.usage() == 0);
  CHECK(c.entry_count() == 0);
  CHECK(c.misses() == 1);
  // Enabled at runtime, then disabled again: set_capacity(0) drops everything.
  c.set_capacity(100);
  CHECK(c.insert("a", value_of(1), 10));
  CHECK(get(c, "a") == 1);
  c.set_capacity(0);
  CHECK(c.entry_count() == 0);
  CHECK(get(c, "a") == -1);
}

TEST_CASE("sharded cache spreads keys over its shards and bounds each shard") {
  LruCache c(16 * 100, 4);
  CHECK(c.num_shards() == 16);
  for (int i = 0; i < 1000; ++i) c.insert("key" + std::to_string(i), value_of(i), 10);
  // Each shard holds at most 100 bytes, so at most 160 entries in all; a good hash fills
  // every shard to its capacity with 1000 keys.
  CHECK(c.usage() <= 1600);
  CHECK(c.entry_count() == 160);
  CHECK(c.evictions() == 840);
}

TEST_CASE("four threads inserting, looking up and erasing keep the cache's invariants") {
  uint64_t seed = Random::os_seed();
  if (const char* env = std::getenv("STRATA_SEED")) seed = std::strtoull(env, nullptr, 10);  // replay
  MESSAGE("lru stress seed=" << seed);
  CAPTURE(seed);
  constexpr size_t kCapacity = 64 * 1024;
  LruCache c(kCapacity, 2);
  constexpr int kThreads = 4, kOps = 100000, kKeys = 2000;
  std::atomic<uint64_t> wrong{0}, hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Random rnd(seed + t);
      for (int i = 0; i < kOps; ++i) {
        int k = static_cast<int>(rnd.uniform(kKeys));
        std::string key = "key" + std::to_string(k);
        uint64_t op = rnd.uniform(10);
        if (op < 5) {
          // The value of key k is always k, so any hit can be checked.
          if (auto v = c.lookup_as<int>(key)) {
            ++hits;
            if (*v != k) ++wrong;
          }
        } else if (op < 9) {
          c.insert(key, value_of(k), 16 + rnd.uniform(200));
        } else {
          c.erase(key);
        }
        if (i % 1000 == 0 && c.usage() > kCapacity) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  MESSAGE("lru stress hits=" << hits.load() << " wrong=" << wrong.load() << " usage=" << c.usage()
                             << " entries=" << c.entry_count() << " evictions=" << c.evictions());
  CHECK(wrong.load() == 0);
  CHECK(hits.load() > 0);
  CHECK(c.evictions() > 0);  // the workload overflowed the capacity
  CHECK(c.usage() <= kCapacity);
  // Quiescent: every entry still held is found with its own value, and the counts agree.
  size_t found = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (auto v = c.lookup_as<int>("key" + std::to_string(k))) {
      CHECK(*v == k);
      ++found;
    }
  }
  CHECK(found == c.entry_count());
  // The cache counted every hit the threads saw, plus the ones just above.
  CHECK(c.hits() == hits.load() + found);
}
