#include <doctest/doctest.h>

#include <string>

#include "lib/sstable/bloom.h"

using namespace strata::sstable;

namespace {
std::string key(int i) { return "user-key-" + std::to_string(i); }
}  // namespace

TEST_CASE("bloom filter at 10 bits per key has no false negatives and under 2% false positives") {
  constexpr int kKeys = 10000;
  BloomFilterBuilder builder(10);
  for (int i = 0; i < kKeys; ++i) builder.add_key(key(i));
  std::string filter = builder.finish();
  CHECK(filter.size() == kKeys * 10 / 8 + 1);
  CHECK(static_cast<int>(filter.back()) == 6);
  for (int i = 0; i < kKeys; ++i) REQUIRE(bloom_may_contain(filter, key(i)));
  int false_positives = 0;
  constexpr int kProbes = 100000;
  for (int i = kKeys; i < kKeys + kProbes; ++i) false_positives += bloom_may_contain(filter, key(i));
  double rate = static_cast<double>(false_positives) / kProbes;
  MESSAGE("bloom_false_positive_rate=" << rate);
  CHECK(rate < 0.02);
}

TEST_CASE("bloom filter with few keys still has no false negatives") {
  for (int n : {0, 1, 2, 7}) {
    BloomFilterBuilder builder(10);
    for (int i = 0; i < n; ++i) builder.add_key(key(i));
    std::string filter = builder.finish();
    for (int i = 0; i < n; ++i) CHECK(bloom_may_contain(filter, key(i)));
  }
}

TEST_CASE("bloom probe count follows bits per key times ln 2 clamped to 1..30") {
  CHECK(bloom_num_probes(1) == 1);
  CHECK(bloom_num_probes(10) == 6);
  CHECK(bloom_num_probes(20) == 13);
  CHECK(bloom_num_probes(100) == 30);
}

TEST_CASE("malformed bloom filter answers may contain") {
  CHECK(bloom_may_contain("", "x"));
  CHECK(bloom_may_contain("a", "x"));
  CHECK(bloom_may_contain(std::string(8, '\0') + '\x40', "x"));  // 64 probes: out of range
  CHECK(!bloom_may_contain(std::string(8, '\0') + '\x06', "x"));  // all bits clear
}

TEST_CASE("empty binary user keys are filtered like any other") {
  BloomFilterBuilder builder(10);
  builder.add_key("");
  builder.add_key(std::string("\0\xff", 2));
  std::string filter = builder.finish();
  CHECK(bloom_may_contain(filter, ""));
  CHECK(bloom_may_contain(filter, std::string("\0\xff", 2)));
}
