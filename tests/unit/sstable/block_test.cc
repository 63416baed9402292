#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "lib/sstable/block.h"
#include "lib/sstable/block_builder.h"
#include "lib/util/internal_key.h"
#include "lib/util/random.h"

using namespace strata;
using namespace strata::sstable;

namespace {

using KV = std::pair<std::string, std::string>;

std::vector<KV> sample_entries(int n) {
  std::vector<KV> out;
  for (int i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "key%06d", i * 7);
    std::string value = (i % 5 == 0) ? std::string() : std::string(i % 37, static_cast<char>('a' + i % 26));
    out.emplace_back(make_internal_key(buf, 1000 - i % 3, ValueType::value), value);
  }
  return out;
}

Block build(const std::vector<KV>& entries, int restart_interval, KeyOrder order = KeyOrder::internal) {
  BlockBuilder b(restart_interval);
  for (const auto& [k, v] : entries) b.add(k, v);
  auto block = Block::parse(std::string(b.finish()), order);
  REQUIRE(block.has_value());
  return std::move(*block);
}

void check_every_position(const std::vector<KV>& entries, int restart_interval) {
  Block block = build(entries, restart_interval);
  BlockIterator it = block.new_iterator();
  // Forward.
  size_t i = 0;
  for (it.seek_to_first(); it.valid(); it.next(), ++i) {
    REQUIRE(i < entries.size());
    CHECK(it.key() == entries[i].first);
    CHECK(it.value() == entries[i].second);
  }
  CHECK(i == entries.size());
  CHECK(it.status());
  // Backward.
  i = entries.size();
  for (it.seek_to_last(); it.valid(); it.prev()) {
    REQUIRE(i > 0);
    --i;
    CHECK(it.key() == entries[i].first);
  }
  CHECK(i == 0);
  // Seek to every key, then step both ways from it.
  for (size_t j = 0; j < entries.size(); ++j) {
    it.seek(entries[j].first);
    REQUIRE(it.valid());
    CHECK(it.key() == entries[j].first);
    CHECK(it.value() == entries[j].second);
    it.prev();
    if (j == 0) {
      CHECK(!it.valid());
    } else {
      REQUIRE(it.valid());
      CHECK(it.key() == entries[j - 1].first);
    }
    it.seek(entries[j].first);
    it.next();
    if (j + 1 == entries.size()) {
      CHECK(!it.valid());
    } else {
      REQUIRE(it.valid());
      CHECK(it.key() == entries[j + 1].first);
    }
  }
  // Seek between keys lands on the next key; past the end is !valid.
  it.seek(make_internal_key("", kMaxSequenceNumber, ValueType::value));
  REQUIRE(it.valid());
  CHECK(it.key() == entries[0].first);
  it.seek(make_internal_key(std::string(extract_user_key(entries.back().first)) + "\xff", 5, ValueType::value));
  CHECK(!it.valid());
  CHECK(it.status());
}

}  // namespace

TEST_CASE("block round trips with restart intervals 1, 2 and 16 at every position") {
  auto entries = sample_entries(200);
  for (int interval : {1, 2, 16}) {
    CAPTURE(interval);
    check_every_position(entries, interval);
  }
}

TEST_CASE("block with one entry and block with exactly one restart interval of entries") {
  check_every_position(sample_entries(1), 16);
  check_every_position(sample_entries(16), 16);
  check_every_position(sample_entries(17), 16);
}

TEST_CASE("block keeps empty values and binary keys with NUL and 0xff bytes") {
  std::vector<KV> entries;
  std::vector<std::string> users = {
      std::string("\0", 1),         std::string("\0\0", 2), std::string("\0\xff", 2), std::string("a\0b", 3), "a\xff",
      std::string("\xff\xff\0", 3), "\xff\xff\xff"};
  for (const auto& u : users) entries.emplace_back(make_internal_key(u, 7, ValueType::value), "");
  for (int interval : {1, 2, 16}) check_every_position(entries, interval);
}

TEST_CASE("empty block has no entries and seeks are not valid") {
  BlockBuilder b(16);
  auto block = Block::parse(std::string(b.finish()), KeyOrder::internal);
  REQUIRE(block.has_value());
  BlockIterator it = block->new_iterator();
  it.seek_to_first();
  CHECK(!it.valid());
  it.seek_to_last();
  CHECK(!it.valid());
  it.seek(make_internal_key("a", 1, ValueType::value));
  CHECK(!it.valid());
  CHECK(it.status());
}

TEST_CASE("bytewise block orders plain keys") {
  std::vector<KV> entries = {{"a", "1"}, {"ab", "2"}, {"b", "3"}};
  Block block = build(entries, 2, KeyOrder::bytewise);
  BlockIterator it = block.new_iterator();
  it.seek("aa");
  REQUIRE(it.valid());
  CHECK(it.key() == "ab");
  CHECK(it.value() == "2");
}

TEST_CASE("block with a restart count larger than the block is corrupt") {
  std::string bytes = "\xff\xff\xff\x7f";
  CHECK(Block::parse(bytes, KeyOrder::internal).error() == Errc::corruption);
  CHECK(Block::parse("", KeyOrder::internal).error() == Errc::corruption);
  CHECK(Block::parse("abc", KeyOrder::internal).error() == Errc::corruption);
}

// Every single-byte change and every truncation of a real block: parse fails or iteration ends,
// in both directions and after seeks, without crashing or reading out of bounds (ASan checks).
TEST_CASE("malformed blocks never crash the iterator: every byte flipped and every truncation") {
  BlockBuilder b(4);
  for (const auto& [k, v] : sample_entries(40)) b.add(k, v);
  const std::string good(b.finish());
  auto exercise = [](std::string bytes) {
    auto block = Block::parse(std::move(bytes), KeyOrder::internal);
    if (!block) return;
    BlockIterator it = block->new_iterator();
    int steps = 0;
    for (it.seek_to_first(); it.valid() && steps < 10000; it.next()) ++steps;
    for (it.seek_to_last(); it.valid() && steps < 20000; it.prev()) ++steps;
    CHECK(steps < 20000);  // no cycles
    it.seek(make_internal_key("key000100", 999, ValueType::value));
    if (it.valid()) it.prev();
    it.seek(std::string(8, '\0'));
  };
  Random rnd(301);
  MESSAGE("seed=301");
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (int flip : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[pos] = static_cast<char>(bad[pos] ^ flip);
      exercise(bad);
    }
    std::string random_byte = good;
    random_byte[pos] = static_cast<char>(rnd.uniform(256));
    exercise(random_byte);
    exercise(good.substr(0, pos));
  }
}
