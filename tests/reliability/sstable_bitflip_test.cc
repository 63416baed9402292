// Reliability: one-bit flips across every block type of an SSTable (data, filter, properties,
// index, footer). After each flip the table is opened, every key is read and the table scanned:
// each answer must be either correct or an error (corruption); never a wrong value, a missing
// key without an error, or a crash. Every byte of the metadata blocks and the footer is flipped
// (one bit each), and every 5th byte of the data blocks; tables with and without compression.
// That fixed sweep is round 0. With STRATA_SOAK_SECONDS=S, rounds go on for S seconds, each on a
// table drawn from a seed (entry count, key spacing, value sizes, deletions, block size,
// compression), flipping a random bit of every byte from a random start with a stride of 1-4.
// STRATA_SEED replays a run's rounds.
// Summary: `flips=N detected=N wrong_value=0 crashes=0 ... seed=N` (a crash would end the test,
// so crashes= counts the flips that went through open, gets and scan: all of them).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "lib/sstable/format.h"
#include "lib/util/internal_key.h"
#include "lib/util/random.h"
#include "tests/test_util.h"
#include "tests/unit/sstable/sstable_test_util.h"

using namespace strata;
using namespace strata::sstable;
using namespace strata::sstable::testing;
using strata::testing::env_u64;

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

// Builds a table of `entries` (internal key -> value) with `options`, then flips one bit at
// `first`, `first + stride`, ... of the data blocks and at every byte of the metadata blocks and
// the footer, checking the table after each flip. The bit flipped: pos % 8 when rnd is null, else
// a random one.
void sweep(const std::map<std::string, std::string>& entries, const TableOptions& options, uint64_t first,
           uint64_t stride, Random* rnd, Totals& totals) {
  io::MemFileSystem fs;
  std::vector<KV> kvs(entries.begin(), entries.end());
  std::sort(kvs.begin(), kvs.end(),
            [](const KV& a, const KV& b) { return compare_internal_keys(a.first, b.first) < 0; });
  std::map<std::string, std::string> by_internal;
  for (auto& kv : kvs) by_internal.insert(kv);
  auto props = run(build_table(fs, "/t.sst", kvs, options));
  REQUIRE(props.has_value());
  auto original = fs.contents("/t.sst");
  REQUIRE(original.has_value());
  const std::string bytes = *original;
  uint64_t data_end = props->data_bytes;  // data blocks come first; metadata and footer after
  REQUIRE(data_end < bytes.size());

  for (uint64_t pos = 0; pos < bytes.size(); ++pos) {
    if (pos < data_end && (pos < first || (pos - first) % stride != 0)) continue;
    std::string flipped = bytes;
    const unsigned bit = rnd != nullptr ? static_cast<unsigned>(rnd->uniform(8)) : static_cast<unsigned>(pos % 8);
    flipped[pos] = static_cast<char>(flipped[pos] ^ (1u << bit));
    REQUIRE(fs.set_contents("/t.sst", flipped).has_value());
    ++totals.flips;
    run(check_table(fs, "/t.sst", by_internal, totals));
  }
}

}  // namespace

TEST_CASE("SSTable bit flips in every block type give correct answers or corruption, never wrong values") {
  const uint64_t seed = env_u64("STRATA_SEED", Random::os_seed());
  const uint64_t soak_seconds = env_u64("STRATA_SOAK_SECONDS", 0);
  std::printf("# seed=%" PRIu64 " (replay: STRATA_SEED=%" PRIu64 ")\n", seed, seed);
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(soak_seconds);
  Totals totals;
  uint64_t rounds = 0;
  // Round 0: the fixed sweep. The user keys are distinct and of one length, so byte order is
  // internal-key order here.
  for (Compression compression : {Compression::none, Compression::lz4}) {
    std::map<std::string, std::string> entries;
    for (int i = 0; i < 400; ++i) {
      char key[32];
      snprintf(key, sizeof key, "key%06d", i * 7);
      entries[make_internal_key(key, 1000 + i, i % 11 == 0 ? ValueType::deletion : ValueType::value)] =
          i % 11 == 0 ? "" : std::string(40 + i % 90, static_cast<char>('a' + i % 26));
    }
    TableOptions options;
    options.block_size_bytes = 1024;
    options.compression = compression;
    sweep(entries, options, 0, 5, nullptr, totals);
  }
  ++rounds;
  Random rnd(seed);
  while (std::chrono::steady_clock::now() < deadline && totals.wrong_value == 0) {
    const uint64_t n = 20 + rnd.uniform(600), spacing = 1 + rnd.uniform(50);
    std::map<std::string, std::string> entries;
    for (uint64_t i = 0; i < n; ++i) {
      char key[32];
      snprintf(key, sizeof key, "key%08" PRIu64, i * spacing);
      const bool del = rnd.one_in(10);
      std::string value;
      if (!del) {
        // Compressible runs and random bytes.
        const size_t len = rnd.one_in(20) ? rnd.uniform(3000) : rnd.uniform(150);
        value = rnd.one_in(2) ? std::string(len, static_cast<char>('a' + rnd.uniform(26))) : std::string(len, '\0');
        for (auto& c : value) {
          if (rnd.one_in(3)) c = static_cast<char>(rnd.next() >> 56);
        }
      }
      entries[make_internal_key(key, 1 + rnd.uniform(1u << 30), del ? ValueType::deletion : ValueType::value)] = value;
    }
    TableOptions options;
    const uint64_t block_sizes[] = {128, 512, 1024, 4096};
    options.block_size_bytes = block_sizes[rnd.uniform(4)];
    options.compression = rnd.one_in(2) ? Compression::lz4 : Compression::none;
    const uint64_t stride = 1 + rnd.uniform(4);
    sweep(entries, options, rnd.uniform(stride), stride, &rnd, totals);
    ++rounds;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("# flips=%" PRIu64 " detected=%" PRIu64 " harmless=%" PRIu64 " wrong_value=%" PRIu64
              " crashes=0 rounds=%" PRIu64 " seconds=%.0f seed=%" PRIu64 "\n",
              totals.flips, totals.detected, totals.clean, totals.wrong_value, rounds, secs, seed);
  CHECK(totals.wrong_value == 0);
  CHECK(totals.detected > totals.flips / 2);
}
