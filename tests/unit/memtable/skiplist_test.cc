#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <string_view>
#include <set>
#include <thread>

#include "lib/memtable/skiplist.h"

using namespace strata;

namespace {
struct U64Cmp {
  int operator()(uint64_t a, uint64_t b) const { return a < b ? -1 : (a > b ? 1 : 0); }
};
using List = SkipList<uint64_t, U64Cmp>;
}  // namespace

TEST_CASE("an empty skiplist has no entries in either direction") {
  Arena arena;
  List list(U64Cmp{}, &arena);
  List::Iterator it(&list);
  it.seek_to_first();
  CHECK_FALSE(it.valid());
  it.seek_to_last();
  CHECK_FALSE(it.valid());
  it.seek(42);
  CHECK_FALSE(it.valid());
}

TEST_CASE("skiplist matches std::set for random inserts, seeks and both directions") {
  uint64_t seed = Random::os_seed();
  INFO("seed=" << seed);
  Random rnd(seed);
  Arena arena;
  List list(U64Cmp{}, &arena);
  std::set<uint64_t> model;
  for (int i = 0; i < 20000; ++i) {
    uint64_t k = rnd.uniform(100000);
    if (model.insert(k).second) list.insert(k);
  }
  for (uint64_t k = 0; k < 100000; k += 37) CHECK(list.contains(k) == model.contains(k));
  List::Iterator it(&list);
  it.seek_to_first();
  for (uint64_t k : model) {
    REQUIRE(it.valid());
    CHECK(it.key() == k);
    it.next();
  }
  CHECK_FALSE(it.valid());
  it.seek_to_last();
  for (auto r = model.rbegin(); r != model.rend(); ++r) {
    REQUIRE(it.valid());
    CHECK(it.key() == *r);
    it.prev();
  }
  CHECK_FALSE(it.valid());
  for (int i = 0; i < 1000; ++i) {
    uint64_t target = rnd.uniform(110000);
    it.seek(target);
    auto m = model.lower_bound(target);
    if (m == model.end()) {
      CHECK_FALSE(it.valid());
    } else {
      REQUIRE(it.valid());
      CHECK(it.key() == *m);
    }
  }
}

TEST_CASE("readers iterating during inserts always see a sorted list of fully built nodes") {
  Arena arena;
  List list(U64Cmp{}, &arena);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> errors{0};
  std::thread reader([&] {
    while (!done.load()) {
      List::Iterator it(&list);
      uint64_t last = 0;
      bool first = true;
      for (it.seek_to_first(); it.valid(); it.next()) {
        if (!first && it.key() <= last) errors.fetch_add(1);
        last = it.key();
        first = false;
      }
    }
  });
  Random rnd(7);
  std::set<uint64_t> seen;
  for (int i = 0; i < 50000; ++i) {
    uint64_t k = rnd.next() >> 1;
    if (seen.insert(k).second) list.insert(k);
  }
  done.store(true);
  reader.join();
  CHECK(errors.load() == 0);
}

namespace {
// Keys stored in their nodes: a length byte and that many bytes, compared bytewise.
struct InlineCmp {
  int operator()(const char* a, const char* b) const {
    if (a == nullptr || b == nullptr) return a == b ? 0 : (a == nullptr ? -1 : 1);
    std::string_view x(a + 1, static_cast<uint8_t>(a[0])), y(b + 1, static_cast<uint8_t>(b[0]));
    return x.compare(y);
  }
};
}  // namespace

TEST_CASE("keys inserted inline are stored in their nodes and iterate like a std::set") {
  uint64_t seed = Random::os_seed();
  INFO("seed=" << seed);
  Random rnd(seed);
  Arena arena;
  SkipList<const char*, InlineCmp> list(InlineCmp{}, &arena);
  std::set<std::string> model;
  size_t arena_before = arena.memory_usage();
  size_t key_bytes = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string k = std::to_string(rnd.uniform(20000));
    if (!model.insert(k).second) continue;
    key_bytes += k.size() + 1;
    list.insert_inline(k.size() + 1, [&](char* buf) -> const char* {
      buf[0] = static_cast<char>(k.size());
      std::memcpy(buf + 1, k.data(), k.size());
      return buf;
    });
  }
  CHECK(arena.memory_usage() - arena_before >= key_bytes);
  SkipList<const char*, InlineCmp>::Iterator it(&list);
  it.seek_to_first();
  const char* prev_node_key = nullptr;
  for (const std::string& k : model) {
    REQUIRE(it.valid());
    CHECK(std::string_view(it.key() + 1, static_cast<uint8_t>(it.key()[0])) == k);
    CHECK(it.key() != prev_node_key);
    prev_node_key = it.key();
    it.next();
  }
  CHECK_FALSE(it.valid());
  std::string probe =
      "\x03"
      "123";
  CHECK(list.contains(probe.data()) == model.contains("123"));
}
