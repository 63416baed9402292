#include <doctest/doctest.h>

#include <vector>

#include "lib/util/coding.h"

using namespace strata;

TEST_CASE("varints round-trip at every length boundary") {
  std::string s;
  std::vector<uint64_t> values;
  for (int shift = 0; shift < 64; ++shift) {
    uint64_t p = uint64_t{1} << shift;
    values.insert(values.end(), {p - 1, p, p + 1});
  }
  values.push_back(UINT64_MAX);
  for (auto v : values) put_varint64(&s, v);
  std::string_view in(s);
  for (auto v : values) {
    uint64_t got = 0;
    REQUIRE(get_varint64(&in, &got));
    CHECK(got == v);
  }
  CHECK(in.empty());
}

TEST_CASE("a truncated varint is rejected, not misread") {
  std::string s;
  put_varint64(&s, uint64_t{1} << 40);
  for (size_t cut = 0; cut < s.size(); ++cut) {
    std::string_view in(s.data(), cut);
    uint64_t v;
    CHECK_FALSE(get_varint64(&in, &v));
  }
}

TEST_CASE("varint32 rejects values above 32 bits") {
  std::string s;
  put_varint64(&s, uint64_t{1} << 33);
  std::string_view in(s);
  uint32_t v;
  CHECK_FALSE(get_varint32(&in, &v));
}

TEST_CASE("length-prefixed slices reject lengths past the input") {
  std::string s;
  put_length_prefixed(&s, "hello");
  s.pop_back();
  std::string_view in(s), out;
  CHECK_FALSE(get_length_prefixed(&in, &out));
}

TEST_CASE("fixed-width integers are little-endian") {
  std::string s;
  put_fixed32(&s, 0x04030201);
  put_fixed64(&s, 0x0807060504030201ull);
  CHECK(s == std::string("\x01\x02\x03\x04\x01\x02\x03\x04\x05\x06\x07\x08", 12));
}
