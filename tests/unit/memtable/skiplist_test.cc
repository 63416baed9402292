#include <doctest/doctest.h>

#include <atomic>
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
