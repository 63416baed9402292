#include <doctest/doctest.h>

#include "lib/util/internal_key.h"

using namespace strata;

TEST_CASE("internal keys order by user key, then newest sequence first") {
  auto a1 = make_internal_key("a", 1, ValueType::value);
  auto a2 = make_internal_key("a", 2, ValueType::value);
  auto b1 = make_internal_key("b", 1, ValueType::value);
  auto ab = make_internal_key("ab", 9, ValueType::value);
  CHECK(compare_internal_keys(a2, a1) < 0);
  CHECK(compare_internal_keys(a1, b1) < 0);
  CHECK(compare_internal_keys(a1, ab) < 0);
  CHECK(compare_internal_keys(a1, a1) == 0);
}

TEST_CASE("a value and a tombstone at one sequence order value first") {
  auto v = make_internal_key("k", 5, ValueType::value);
  auto d = make_internal_key("k", 5, ValueType::deletion);
  CHECK(compare_internal_keys(v, d) < 0);
}

TEST_CASE("parse_internal_key round-trips and rejects short or unknown-type keys") {
  auto k = make_internal_key(std::string("x\0y", 3), 12345, ValueType::deletion);
  ParsedInternalKey p;
  REQUIRE(parse_internal_key(k, &p));
  CHECK(p.user_key == std::string("x\0y", 3));
  CHECK(p.sequence == 12345);
  CHECK(p.type == ValueType::deletion);
  CHECK_FALSE(parse_internal_key("short", &p));
  k.back() = 7;         // corrupt the top byte of the tag: sequence, still valid
  k[k.size() - 8] = 9;  // type byte 9 is unknown
  CHECK_FALSE(parse_internal_key(k, &p));
}

TEST_CASE("shorten_separator yields a key between start and limit") {
  std::string start = make_internal_key("abcdefg", 3, ValueType::value);
  auto limit = make_internal_key("abzzz", 7, ValueType::value);
  shorten_separator(&start, limit);
  CHECK(extract_user_key(start) == "abd");
  CHECK(compare_internal_keys(make_internal_key("abcdefg", 3, ValueType::value), start) < 0);
  CHECK(compare_internal_keys(start, limit) < 0);

  std::string prefix = make_internal_key("abc", 3, ValueType::value);
  shorten_separator(&prefix, make_internal_key("abcd", 1, ValueType::value));
  CHECK(extract_user_key(prefix) == "abc");
}

TEST_CASE("shorten_successor yields a key not smaller than the input") {
  std::string k = make_internal_key("abc", 3, ValueType::value);
  shorten_successor(&k);
  CHECK(extract_user_key(k) == "b");
  std::string ff = make_internal_key("\xff\xff", 3, ValueType::value);
  std::string before = ff;
  shorten_successor(&ff);
  CHECK(ff == before);
}

TEST_CASE("a LookupKey equals make_internal_key for the seek type, inline or on the heap") {
  for (size_t n : {size_t{0}, size_t{1}, size_t{16}, LookupKey::kInlineBytes - kTagSize,
                   LookupKey::kInlineBytes - kTagSize + 1, size_t{1000}}) {
    std::string user(n, 'k');
    if (n > 0) user[n / 2] = '\0';  // binary keys too
    LookupKey lk(user, 12345);
    CHECK(lk.internal_key() == make_internal_key(user, 12345, kValueTypeForSeek));
    CHECK(extract_user_key(lk.internal_key()) == user);
  }
  LookupKey newest("k", kMaxSequenceNumber);
  CHECK(newest.internal_key() == make_internal_key("k", kMaxSequenceNumber, kValueTypeForSeek));
}
