// Reliability: one-bit flips across every block type of an SSTable (data, filter, properties,
// index, footer). After each flip the table is opened, every key is read and the table scanned:
// each answer must be either correct or an error (corruption); never a wrong value, a missing
// key without an error, or a crash. Every byte of the metadata blocks and the footer is flipped
// (one bit each), and every 5th byte of the data blocks; tables with and without compression.
// Summary: `flips=N detected=N wrong_value=0 crashes=0` (a crash would end the test).
#include <doctest/doctest.h>

#include <cinttypes>
#include <cstdio>
#include <map>

#include "lib/sstable/format.h"
#include "lib/util/internal_key.h"
#include "tests/unit/sstable/sstable_test_util.h"

using namespace strata;
using namespace strata::sstable;
using namespace strata::sstable::testing;

namespace {

struct Totals {
  uint64_t flips = 0, detected = 0, wrong_value = 0, clean = 0;
};

// Opens `path` and checks every entry; adds what it saw to `t`.
asio::awaitable<void> check_table(io::MemFileSystem& fs, const std::string& path,
                                  const std::map<std::string, std::string>& entries, Totals& t) {
  auto reader = co_await open_table(fs, path);
  if (!reader) {
    ++t.detected;
    co_return;
  }
  bool error = false;
  for (const auto& [ikey, value] : entries) {
    auto got = co_await (*reader)->get(ikey);
    if (!got) {
      error = true;
      continue;
    }
    if (!got->has_value() || (*got)->internal_key != ikey || (*got)->value != value) ++t.wrong_value;
  }
  auto it = (*reader)->new_iterator();
  auto expected = entries.begin();
  auto r = co_await it->seek_to_first();
  while (r && it->valid()) {
    if (expected == entries.end() || it->key() != expected->first || it->value() != expected->second) {
      ++t.wrong_value;
      break;
    }
    ++expected;
    r = co_await it->next();
  }
  if (!r) {
    error = true;
  } else if (expected != entries.end()) {
    ++t.wrong_value;  // the scan ended early without an error
  }
  if (error) {
    ++t.detected;
  } else {
    ++t.clean;  // the flip hit bytes that do not matter (e.g. padding of a varint): answers correct
  }
}

}  // namespace

TEST_CASE("SSTable bit flips in every block type give correct answers or corruption, never wrong values") {
  Totals totals;
  for (Compression compression : {Compression::none, Compression::lz4}) {
    io::MemFileSystem fs;
    // Internal key -> value. The user keys are distinct and of one length, so byte order is
    // internal-key order here.
    std::map<std::string, std::string> entries;
    for (int i = 0; i < 400; ++i) {
      char key[32];
      snprintf(key, sizeof key, "key%06d", i * 7);
      entries[make_internal_key(key, 1000 + i, i % 11 == 0 ? ValueType::deletion : ValueType::value)] =
          i % 11 == 0 ? "" : std::string(40 + i % 90, static_cast<char>('a' + i % 26));
    }
    std::vector<KV> kvs(entries.begin(), entries.end());
    std::sort(kvs.begin(), kvs.end(), [](const KV& a, const KV& b) { return compare_internal_keys(a.first, b.first) < 0; });
    std::map<std::string, std::string> by_internal;
    for (auto& kv : kvs) by_internal.insert(kv);
    TableOptions options;
    options.block_size_bytes = 1024;
    options.compression = compression;
    auto props = run(build_table(fs, "/t.sst", kvs, options));
    REQUIRE(props.has_value());
    auto original = fs.contents("/t.sst");
    REQUIRE(original.has_value());
    const std::string bytes = *original;
    uint64_t data_end = props->data_bytes;  // data blocks come first; metadata and footer after
    REQUIRE(data_end < bytes.size());

    for (uint64_t pos = 0; pos < bytes.size(); ++pos) {
      if (pos < data_end && pos % 5 != 0) continue;
      std::string flipped = bytes;
      flipped[pos] = static_cast<char>(flipped[pos] ^ (1 << (pos % 8)));
      REQUIRE(fs.set_contents("/t.sst", flipped).has_value());
      ++totals.flips;
      run(check_table(fs, "/t.sst", by_internal, totals));
    }
  }
  std::printf("# flips=%" PRIu64 " detected=%" PRIu64 " harmless=%" PRIu64 " wrong_value=%" PRIu64 " crashes=0\n",
              totals.flips, totals.detected, totals.clean, totals.wrong_value);
  CHECK(totals.wrong_value == 0);
  CHECK(totals.detected > totals.flips / 2);
}
