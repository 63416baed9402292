#include <doctest/doctest.h>

#include <string>

#include "lib/util/crc32c.h"

using namespace strata;

TEST_CASE("crc32c matches the standard test vectors (RFC 3720 B.4)") {
  std::string zeros(32, '\0');
  CHECK(crc32c::value(zeros) == 0x8a9136aau);
  std::string ones(32, '\xff');
  CHECK(crc32c::value(ones) == 0x62a8ab43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  CHECK(crc32c::value(inc) == 0x46dd794eu);
  CHECK(crc32c::value("123456789") == 0xe3069283u);
}

TEST_CASE("crc32c extend equals the crc of the concatenation") {
  std::string a = "hello ", b = "world, with a longer tail to cross the 8-byte loop";
  CHECK(crc32c::extend(crc32c::value(a), b.data(), b.size()) == crc32c::value(a + b));
}

TEST_CASE("mask and unmask are inverse and mask changes the value") {
  uint32_t crc = crc32c::value("foo");
  CHECK(crc32c::mask(crc) != crc);
  CHECK(crc32c::unmask(crc32c::mask(crc)) == crc);
}
