#include <doctest/doctest.h>

#include "lib/memtable/memtable.h"

#include <memory>
#include <string>
#include <vector>

#include "lib/util/internal_key.h"

using namespace strata;

TEST_CASE("memtable get returns the newest version visible at a sequence number") {
  MemTable mem;
  mem.add(1, ValueType::value, "k", "v1");
  mem.add(5, ValueType::value, "k", "v5");
  mem.add(9, ValueType::deletion, "k", "");
  mem.add(3, ValueType::value, "other", "o3");

  CHECK_FALSE(mem.get("k", 0).has_value());
  CHECK(mem.get("k", 1)->value == "v1");
  CHECK(mem.get("k", 4)->value == "v1");
  CHECK(mem.get("k", 5)->value == "v5");
  CHECK(mem.get("k", 8)->value == "v5");
  CHECK(mem.get("k", 9)->deleted);
  CHECK(mem.get("k", kMaxSequenceNumber)->deleted);
  CHECK_FALSE(mem.get("j", kMaxSequenceNumber).has_value());
  CHECK_FALSE(mem.get("kk", kMaxSequenceNumber).has_value());
  CHECK(mem.num_entries() == 4);
  CHECK(mem.num_deletions() == 1);
}

TEST_CASE("memtable keys and values are arbitrary bytes") {
  MemTable mem;
  std::string key("a\0b\xff", 4), value("\0\n \xfe", 4);
  mem.add(1, ValueType::value, key, value);
  mem.add(2, ValueType::value, std::string("a\0a", 3), "x");
  auto r = mem.get(key, 10);
  REQUIRE(r.has_value());
  CHECK(r->value == value);
  CHECK_FALSE(mem.get(std::string("a\0", 2), 10).has_value());
}

TEST_CASE("memtable iterator yields internal keys newest first within a user key") {
  MemTable mem;
  mem.add(1, ValueType::value, "b", "b1");
  mem.add(2, ValueType::value, "a", "a2");
  mem.add(3, ValueType::value, "b", "b3");
  MemTable::Iterator it(&mem);
  it.seek_to_first();
  std::vector<std::pair<std::string, uint64_t>> got;
  for (; it.valid(); it.next()) {
    ParsedInternalKey p;
    REQUIRE(parse_internal_key(it.key(), &p));
    got.emplace_back(std::string(p.user_key), p.sequence);
  }
  std::vector<std::pair<std::string, uint64_t>> want{{"a", 2}, {"b", 3}, {"b", 1}};
  CHECK(got == want);
}

TEST_CASE("memtable memory usage grows with large values") {
  MemTable mem;
  size_t before = mem.approximate_memory_usage();
  mem.add(1, ValueType::value, "big", std::string(100000, 'x'));
  CHECK(mem.approximate_memory_usage() >= before + 100000);
  CHECK(mem.get("big", 1)->value.size() == 100000);
}

TEST_CASE("a borrowed memtable iterator walks the same entries and leaves the reference count alone") {
  auto mem = std::make_shared<MemTable>();
  mem->add(1, ValueType::value, "a", "1");
  mem->add(2, ValueType::value, "b", "2");
  auto walk = [](InternalIterator& it) {
    std::vector<std::string> keys;
    Result<void> r = ok();
    REQUIRE(it.try_seek_to_first(&r));
    while (r && it.valid()) {
      keys.emplace_back(extract_user_key(it.key()));
      REQUIRE(it.try_next(&r));
    }
    REQUIRE(r.has_value());
    return keys;
  };
  auto borrowed = MemTable::new_borrowed_iterator(*mem);
  CHECK(mem.use_count() == 1);  // no copy of the shared_ptr: no atomic on its count
  auto owning = MemTable::new_internal_iterator(mem);
  CHECK(mem.use_count() == 2);
  CHECK(walk(*borrowed) == std::vector<std::string>{"a", "b"});
  CHECK(walk(*borrowed) == walk(*owning));
}
