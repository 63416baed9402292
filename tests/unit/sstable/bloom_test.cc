#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/sstable/bloom.h"

using namespace strata::sstable;

namespace {
std::string key(int i) { return "user-key-" + std::to_string(i); }
}  // namespace

namespace {
double false_positive_rate(std::string_view filter, int first, int probes) {
  int false_positives = 0;
  for (int i = first; i < first + probes; ++i) false_positives += bloom_may_contain(filter, key(i));
  return static_cast<double>(false_positives) / probes;
}
}  // namespace

TEST_CASE("standard bloom filter at 10 bits per key has no false negatives and under 2% false positives") {
  constexpr int kKeys = 10000;
  BloomFilterBuilder builder(10, /*cache_local=*/false);
  for (int i = 0; i < kKeys; ++i) builder.add_key(key(i));
  std::string filter = builder.finish();
  CHECK(filter.size() == kKeys * 10 / 8 + 1);
  CHECK(static_cast<int>(filter.back()) == 6);
  for (int i = 0; i < kKeys; ++i) REQUIRE(bloom_may_contain(filter, key(i)));
  double rate = false_positive_rate(filter, kKeys, 100000);
  MESSAGE("bloom_false_positive_rate=" << rate);
  CHECK(rate < 0.02);
}

TEST_CASE("cache-local bloom filter: 64-byte lines, no false negatives, under 2% false positives at 10 bits per key") {
  for (int keys : {1000, 10000, 100000}) {
    BloomFilterBuilder builder(10);
    for (int i = 0; i < keys; ++i) builder.add_key(key(i));
    std::string filter = builder.finish();
    const size_t lines = (static_cast<size_t>(keys) * 10 + 511) / 512;
    CHECK(filter.size() == lines * 64 + 2);
    CHECK(static_cast<uint8_t>(filter.back()) == kCacheLocalMarker);
    CHECK(static_cast<int>(filter[filter.size() - 2]) == 6);
    FilterBlock block(filter);
    CHECK(reinterpret_cast<uintptr_t>(block.contents().data()) % 64 == 0);
    CHECK(block.contents() == filter);
    for (int i = 0; i < keys; ++i) REQUIRE(block.may_contain(key(i)));
    double rate = false_positive_rate(filter, keys, 100000);
    MESSAGE("keys=" << keys << " cache_local_false_positive_rate=" << rate);
    CHECK(rate < 0.02);
    // The hash form answers the same, and a prefetch of any key's line is harmless.
    for (int i = 0; i < 1000; ++i) {
      block.prefetch(bloom_hash(key(i)));
      CHECK(block.may_contain_hash(bloom_hash(key(i))) == bloom_may_contain(filter, key(i)));
    }
  }
}

TEST_CASE("every probe of a cache-local filter lands in one line: clearing another line never hides a key") {
  BloomFilterBuilder builder(10);
  for (int i = 0; i < 200; ++i) builder.add_key(key(i));
  std::string filter = builder.finish();
  const size_t lines = (filter.size() - 2) / 64;
  REQUIRE(lines == 4);
  // A key stays present when every line but one is cleared: that one holds all its bits.
  for (int i = 0; i < 200; ++i) {
    int lines_holding_it = 0;
    for (size_t keep = 0; keep < lines; ++keep) {
      std::string one = filter;
      for (size_t l = 0; l < lines; ++l) {
        if (l != keep)
          std::fill(one.begin() + static_cast<long>(l * 64), one.begin() + static_cast<long>((l + 1) * 64), '\0');
      }
      lines_holding_it += bloom_may_contain(one, key(i));
    }
    REQUIRE(lines_holding_it >= 1);
  }
}

TEST_CASE("bloom filter with few keys still has no false negatives, in both encodings") {
  for (bool cache_local : {false, true}) {
    for (int n : {0, 1, 2, 7}) {
      BloomFilterBuilder builder(10, cache_local);
      for (int i = 0; i < n; ++i) builder.add_key(key(i));
      std::string filter = builder.finish();
      for (int i = 0; i < n; ++i) CHECK(bloom_may_contain(filter, key(i)));
    }
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
  CHECK(bloom_may_contain(std::string(8, '\0') + '\x40', "x"));   // 64 probes: out of range
  CHECK(!bloom_may_contain(std::string(8, '\0') + '\x06', "x"));  // all bits clear
  // Cache-local: a filter too short for one line, or with num_probes out of range, matches all.
  CHECK(bloom_may_contain(std::string(10, '\0') + '\x06' + static_cast<char>(kCacheLocalMarker), "x"));
  CHECK(bloom_may_contain(std::string(64, '\0') + '\x00' + static_cast<char>(kCacheLocalMarker), "x"));
  CHECK(bloom_may_contain(std::string(64, '\0') + '\x40' + static_cast<char>(kCacheLocalMarker), "x"));
  CHECK(!bloom_may_contain(std::string(64, '\0') + '\x06' + static_cast<char>(kCacheLocalMarker), "x"));
  FilterBlock empty;
  CHECK(empty.empty());
}

TEST_CASE("empty binary user keys are filtered like any other") {
  BloomFilterBuilder builder(10);
  builder.add_key("");
  builder.add_key(std::string("\0\xff", 2));
  std::string filter = builder.finish();
  CHECK(bloom_may_contain(filter, ""));
  CHECK(bloom_may_contain(filter, std::string("\0\xff", 2)));
}
