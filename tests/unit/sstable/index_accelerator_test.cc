// IndexAccelerator: a seek narrowed by the prefix array lands where a full binary search lands,
// for every target: keys with long shared prefixes, keys shorter than 8 bytes past the prefix,
// runs of one user key at several sequence numbers, and targets outside the table's range.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "lib/sstable/block.h"
#include "lib/sstable/block_builder.h"
#include "lib/sstable/format.h"
#include "lib/sstable/index_accelerator.h"
#include "lib/util/internal_key.h"
#include "lib/util/random.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::sstable;

namespace {

// The block handle make_index() stores for entry i.
BlockHandle handle_of(size_t i) { return BlockHandle{.offset = i * 4101, .size = 4096 - i % 7}; }

// An index block (restart interval 1) over sorted internal keys.
Block make_index(const std::vector<std::string>& keys) {
  BlockBuilder b(1);
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string handle;
    handle_of(i).encode_to(&handle);
    b.add(keys[i], handle);
  }
  auto block = Block::parse(std::string(b.finish()), KeyOrder::internal);
  REQUIRE(block.has_value());
  return std::move(*block);
}

std::string plain_seek(const Block& index, const std::string& target) {
  BlockIterator it = index.new_iterator();
  it.seek(target);
  return it.valid() ? std::string(it.key()) : std::string("<end>");
}

std::string narrowed_seek(const Block& index, const IndexAccelerator& acc, const std::string& target) {
  BlockIterator it = index.new_iterator();
  auto [left, right] = acc.narrow(target);
  it.seek(target, left, right);
  return it.valid() ? std::string(it.key()) : std::string("<end>");
}

// Random user keys of one shape: `prefix` then 0-12 random bytes from a small alphabet.
std::vector<std::string> random_internal_keys(Random& rnd, const std::string& prefix, int n) {
  std::vector<std::pair<std::string, SequenceNumber>> raw;
  for (int i = 0; i < n; ++i) {
    std::string u = prefix;
    int len = static_cast<int>(rnd.uniform(13));
    for (int j = 0; j < len; ++j) u.push_back(static_cast<char>('a' + rnd.uniform(4)));
    raw.emplace_back(u, rnd.uniform(1000) + 1);
    if (rnd.uniform(5) == 0) raw.emplace_back(u, rnd.uniform(1000) + 1);  // a run of one user key
  }
  std::vector<std::string> keys;
  for (auto& [u, s] : raw) keys.push_back(make_internal_key(u, s, ValueType::value));
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return compare_internal_keys(a, b) < 0; });
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace

TEST_CASE("a seek narrowed by the index accelerator lands where the full binary search does") {
  uint64_t seed = strata::testing::env_u64("STRATA_SEED", 20261203);
  MESSAGE("seed=" << seed);
  Random rnd(seed);
  int checked = 0;
  int located_count = 0;
  for (const std::string prefix : std::vector<std::string>{"", "pkg/", "0000000000", std::string(20, 'x')}) {
    for (int round = 0; round < 20; ++round) {
      auto keys = random_internal_keys(rnd, prefix, 1 + static_cast<int>(rnd.uniform(300)));
      Block index = make_index(keys);
      IndexAccelerator acc = IndexAccelerator::build(index);
      REQUIRE(acc.enabled());
      std::vector<std::string> targets = keys;  // every key exactly, and random others
      for (int t = 0; t < 200; ++t) {
        std::string u = rnd.uniform(10) == 0 ? std::string("zz") : (rnd.uniform(10) == 0 ? std::string() : prefix);
        int len = static_cast<int>(rnd.uniform(14));
        for (int j = 0; j < len; ++j) u.push_back(static_cast<char>('a' + rnd.uniform(5)));
        targets.push_back(make_internal_key(u, rnd.uniform(1200), kValueTypeForSeek));
      }
      for (const auto& target : targets) {
        REQUIRE(narrowed_seek(index, acc, target) == plain_seek(index, target));
        ++checked;
        // locate(): when it decides, the block is the one the full search finds, and no other
        // block may hold the target's user key.
        auto located = acc.locate(target);
        if (!located) continue;
        ++located_count;
        REQUIRE(located->ordinal < keys.size());
        CHECK(keys[located->ordinal] == plain_seek(index, target));
        CHECK(located->offset == handle_of(located->ordinal).offset);
        CHECK(located->size == handle_of(located->ordinal).size);
        CHECK(extract_user_key(target) < extract_user_key(keys[located->ordinal]));
        if (located->ordinal > 0) CHECK(extract_user_key(keys[located->ordinal - 1]) < extract_user_key(target));
      }
    }
  }
  MESSAGE("targets checked: " << checked << ", decided by prefixes alone: " << located_count);
  CHECK(located_count > checked / 10);
}

TEST_CASE("a last index key that is a short successor (\"1\" after \"0000000000681088\") leaves the prefixes useful") {
  // TableBuilder ends the index with the shortest key after the table's last key, which shares
  // no prefix with the others: the accelerator must still narrow and locate by the digits.
  std::vector<std::string> keys;
  for (int i = 45; i < 600000; i += 41) {
    char k[32];
    std::snprintf(k, sizeof k, "%016d", i);
    keys.push_back(make_internal_key(k, kMaxSequenceNumber, ValueType::value));
  }
  keys.push_back(make_internal_key("1", kMaxSequenceNumber, ValueType::value));
  Block index = make_index(keys);
  IndexAccelerator acc = IndexAccelerator::build(index);
  REQUIRE(acc.enabled());
  int located = 0;
  int narrow_width = 0;
  for (int i = 0; i < 700000; i += 997) {
    char k[32];
    std::snprintf(k, sizeof k, "%016d", i);
    std::string target = make_internal_key(k, 100, kValueTypeForSeek);
    REQUIRE(narrowed_seek(index, acc, target) == plain_seek(index, target));
    auto [left, right] = acc.narrow(target);
    narrow_width = std::max(narrow_width, static_cast<int>(right - left));
    if (auto at = acc.locate(target)) {
      ++located;
      CHECK(keys[at->ordinal] == plain_seek(index, target));
    }
  }
  for (std::string t : {"0", "00000000000000000", "0000000000999999", "1", "10", "2"}) {
    std::string target = make_internal_key(t, 100, kValueTypeForSeek);
    REQUIRE(narrowed_seek(index, acc, target) == plain_seek(index, target));
    if (auto at = acc.locate(target)) CHECK(keys[at->ordinal] == plain_seek(index, target));
  }
  MESSAGE("located " << located << " of " << 700000 / 997 + 1 << ", widest narrowed range " << narrow_width);
  CHECK(located > 600);  // all but the targets equal to a separator or past the digits
  CHECK(narrow_width <= 1);
}

TEST_CASE("the accelerator is off for an index whose values are not block handles") {
  BlockBuilder b(1);
  b.add(make_internal_key("a", 1, ValueType::value), std::string(11, '\xff'));
  auto block = Block::parse(std::string(b.finish()), KeyOrder::internal);
  REQUIRE(block.has_value());
  CHECK_FALSE(IndexAccelerator::build(*block).enabled());
}

TEST_CASE("the accelerator is off for a block that is not a restart-per-entry index") {
  BlockBuilder b(16);
  for (int i = 0; i < 40; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "k%04d", i);
    b.add(make_internal_key(k, 1, ValueType::value), "v");
  }
  auto block = Block::parse(std::string(b.finish()), KeyOrder::internal);
  REQUIRE(block.has_value());
  CHECK_FALSE(IndexAccelerator::build(*block).enabled());
}
