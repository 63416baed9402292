#include <doctest/doctest.h>

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "lib/io/mem_file_system.h"
#include "lib/sstable/table_builder.h"
#include "lib/sstable/table_reader.h"
#include "lib/util/internal_key.h"
#include "lib/util/random.h"
#include "tests/unit/sstable/sstable_test_util.h"

using namespace strata;
using namespace strata::sstable;
using namespace strata::sstable::testing;

namespace {

std::string user_key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "user%08d", i);
  return buf;
}

// Every user key i has a newest version at sequence 2i+2; every third also an older one at 2i+1;
// every seventh's newest version is a tombstone.
struct Dataset {
  std::vector<KV> entries;
  int num_user_keys = 0;
  uint64_t num_deletions = 0;
};

Dataset make_dataset(int num_user_keys) {
  Dataset d;
  d.num_user_keys = num_user_keys;
  for (int i = 0; i < num_user_keys; ++i) {
    std::string u = user_key(i);
    if (i % 7 == 0) {
      d.entries.emplace_back(make_internal_key(u, 2 * i + 2, ValueType::deletion), "");
      ++d.num_deletions;
    } else {
      d.entries.emplace_back(make_internal_key(u, 2 * i + 2, ValueType::value), "new-" + std::to_string(i));
    }
    if (i % 3 == 0)
      d.entries.emplace_back(make_internal_key(u, 2 * i + 1, ValueType::value), "old-" + std::to_string(i));
  }
  return d;
}

using Reader = std::shared_ptr<TableReader>;

std::optional<TableReader::Entry> get(const Reader& r, std::string_view user, SequenceNumber seq) {
  auto got = run(r->get(make_internal_key(user, seq, kValueTypeForSeek)));
  REQUIRE(got.has_value());
  return std::move(*got);
}

// Scans the whole table forwards, checking it against `entries`.
void check_forward_scan(const Reader& r, const std::vector<KV>& entries) {
  auto it = r->new_iterator();
  REQUIRE(run(it->seek_to_first()));
  size_t i = 0;
  while (it->valid()) {
    REQUIRE(i < entries.size());
    REQUIRE(it->key() == entries[i].first);
    REQUIRE(it->value() == entries[i].second);
    ++i;
    REQUIRE(run(it->next()));
  }
  CHECK(i == entries.size());
}

void check_reverse_scan(const Reader& r, const std::vector<KV>& entries) {
  auto it = r->new_iterator();
  REQUIRE(run(it->seek_to_last()));
  size_t i = entries.size();
  while (it->valid()) {
    REQUIRE(i > 0);
    --i;
    REQUIRE(it->key() == entries[i].first);
    REQUIRE(it->value() == entries[i].second);
    REQUIRE(run(it->prev()));
  }
  CHECK(i == 0);
}

Reader build_and_open(io::MemFileSystem& fs, const std::vector<KV>& entries, TableOptions options,
                      TableReadOptions read_options = {}) {
  REQUIRE(run(fs.create_dir("/db")));
  auto props = run(build_table(fs, "/db/000001.sst", entries, options));
  REQUIRE(props.has_value());
  auto reader = run(open_table(fs, "/db/000001.sst", read_options));
  REQUIRE(reader.has_value());
  return *reader;
}

}  // namespace

TEST_CASE("table of 100k entries with versions and tombstones round trips for every compression") {
  Dataset d = make_dataset(75000);
  REQUIRE(d.entries.size() == 100000);
  for (Compression c : {Compression::none, Compression::lz4, Compression::zstd}) {
    CAPTURE(to_string(c));
    io::MemFileSystem fs;
    TableOptions options;
    options.compression = c;
    Reader r = build_and_open(fs, d.entries, options);

    const TableProperties& p = r->properties();
    CHECK(p.num_entries == d.entries.size());
    CHECK(p.num_deletions == d.num_deletions);
    CHECK(p.compression == c);
    CHECK(p.smallest_seq == 1);
    CHECK(p.largest_seq == 2 * uint64_t(d.num_user_keys - 1) + 2);
    CHECK(p.filter_bytes > 0);
    CHECK(p.index_bytes > 0);
    if (c != Compression::none) CHECK(p.data_bytes < p.raw_key_bytes + p.raw_value_bytes);

    check_forward_scan(r, d.entries);
    check_reverse_scan(r, d.entries);

    for (int i = 0; i < d.num_user_keys; i += 97) {
      CAPTURE(i);
      std::string u = user_key(i);
      // The newest version, which is a tombstone for every seventh key.
      auto newest = get(r, u, kMaxSequenceNumber);
      REQUIRE(newest.has_value());
      ParsedInternalKey parsed;
      REQUIRE(parse_internal_key(newest->internal_key, &parsed));
      CHECK(parsed.user_key == u);
      CHECK(parsed.sequence == uint64_t(2 * i + 2));
      CHECK(parsed.type == (i % 7 == 0 ? ValueType::deletion : ValueType::value));
      if (i % 7 != 0) CHECK(newest->value == "new-" + std::to_string(i));
      // An older version, seen by a lookup at its sequence number.
      auto older = get(r, u, 2 * i + 1);
      if (i % 3 == 0) {
        REQUIRE(older.has_value());
        CHECK(older->value == "old-" + std::to_string(i));
      } else {
        CHECK(!older);
      }
      // Before the first version: nothing, even though the next user key follows.
      SequenceNumber oldest = (i % 3 == 0) ? 2 * i + 1 : 2 * i + 2;
      CHECK(!get(r, u, oldest - 1));
      // Absent user keys, between and after the present ones.
      CHECK(!get(r, u + "x", kMaxSequenceNumber));
    }
    CHECK(!get(r, "zzz", kMaxSequenceNumber));
    CHECK(!get(r, "", kMaxSequenceNumber));
    CHECK(r->stats().bloom_negatives.load() > 0);
    CHECK(r->stats().data_blocks_read.load() > 0);
  }
}

TEST_CASE("table seek lands on the first entry at or after the target") {
  Dataset d = make_dataset(5000);
  io::MemFileSystem fs;
  TableOptions options;
  options.block_size_bytes = 512;
  options.block_restart_interval = 4;
  Reader r = build_and_open(fs, d.entries, options);
  auto it = r->new_iterator();
  for (size_t i = 0; i < d.entries.size(); i += 13) {
    REQUIRE(run(it->seek(d.entries[i].first)));
    REQUIRE(it->valid());
    CHECK(it->key() == d.entries[i].first);
    // Step back and forth across block boundaries.
    REQUIRE(run(it->prev()));
    if (i == 0) {
      CHECK(!it->valid());
      continue;
    }
    REQUIRE(it->valid());
    CHECK(it->key() == d.entries[i - 1].first);
    REQUIRE(run(it->next()));
    REQUIRE(it->valid());
    CHECK(it->key() == d.entries[i].first);
  }
  // Between user keys, and past the end.
  std::string between = make_internal_key(user_key(10) + "a", kMaxSequenceNumber, kValueTypeForSeek);
  REQUIRE(run(it->seek(between)));
  REQUIRE(it->valid());
  CHECK(extract_user_key(it->key()) == user_key(11));
  std::string past = make_internal_key("zzz", kMaxSequenceNumber, kValueTypeForSeek);
  REQUIRE(run(it->seek(past)));
  CHECK(!it->valid());
}

TEST_CASE("a borrowed table iterator reads what an owning one does and leaves the reader's count alone") {
  Dataset d = make_dataset(3000);
  io::MemFileSystem fs;
  TableOptions options;
  options.block_size_bytes = 512;
  Reader r = build_and_open(fs, d.entries, options);
  const long count = r.use_count();
  auto borrowed = r->new_borrowed_iterator(/*fill_cache=*/true);
  CHECK(r.use_count() == count);
  auto owning = r->new_iterator();
  CHECK(r.use_count() == count + 1);
  REQUIRE(run(borrowed->seek_to_first()));
  REQUIRE(run(owning->seek_to_first()));
  size_t n = 0;
  while (borrowed->valid()) {
    REQUIRE(owning->valid());
    CHECK(borrowed->key() == owning->key());
    CHECK(borrowed->value() == owning->value());
    ++n;
    REQUIRE(run(borrowed->next()));
    REQUIRE(run(owning->next()));
  }
  CHECK_FALSE(owning->valid());
  CHECK(n == d.entries.size());
}

TEST_CASE("table without a bloom filter and reads that skip it still find every key") {
  Dataset d = make_dataset(2000);
  for (int bits : {0, 10}) {
    io::MemFileSystem fs;
    TableOptions options;
    options.bloom_bits_per_key = bits;
    Reader r = build_and_open(fs, d.entries, options, TableReadOptions{.use_bloom_filter = false});
    CHECK((r->properties().filter_bytes == 0) == (bits == 0));
    for (int i = 1; i < d.num_user_keys; i += 31) CHECK(get(r, user_key(i), kMaxSequenceNumber));
    CHECK(!get(r, "nope", kMaxSequenceNumber));
    CHECK(r->stats().bloom_checks.load() == 0);
  }
}

TEST_CASE("empty table opens and has no entries") {
  io::MemFileSystem fs;
  Reader r = build_and_open(fs, {}, TableOptions{});
  CHECK(r->properties().num_entries == 0);
  auto it = r->new_iterator();
  REQUIRE(run(it->seek_to_first()));
  CHECK(!it->valid());
  REQUIRE(run(it->seek_to_last()));
  CHECK(!it->valid());
  CHECK(!get(r, "a", kMaxSequenceNumber));
}

TEST_CASE("values of 76 KB, larger than a block, round trip") {
  std::vector<KV> entries;
  for (int i = 0; i < 20; ++i) {
    std::string value(76 * 1024, '\0');
    for (size_t j = 0; j < value.size(); ++j) value[j] = static_cast<char>((j * 31 + i) % 251);
    entries.emplace_back(make_internal_key(user_key(i), 100, ValueType::value), value);
  }
  for (Compression c : {Compression::none, Compression::lz4, Compression::zstd}) {
    CAPTURE(to_string(c));
    io::MemFileSystem fs;
    TableOptions options;
    options.compression = c;
    Reader r = build_and_open(fs, entries, options);
    check_forward_scan(r, entries);
    check_reverse_scan(r, entries);
    auto e = get(r, user_key(7), kMaxSequenceNumber);
    REQUIRE(e.has_value());
    CHECK(e->value == entries[7].second);
  }
}

TEST_CASE("a corrupted byte in a data block makes get and scans return corruption") {
  Dataset d = make_dataset(3000);
  for (Compression c : {Compression::none, Compression::lz4, Compression::zstd}) {
    CAPTURE(to_string(c));
    io::MemFileSystem fs;
    TableOptions options;
    options.compression = c;
    Reader good = build_and_open(fs, d.entries, options);
    // Byte 100 lies in the first data block (data blocks start at offset 0).
    std::string bytes = *fs.contents("/db/000001.sst");
    bytes[100] ^= 0x20;
    REQUIRE(fs.set_contents("/db/000001.sst", bytes));
    auto r = run(open_table(fs, "/db/000001.sst"));
    REQUIRE(r.has_value());  // footer, index, filter and properties are intact
    auto got = run((*r)->get(make_internal_key(user_key(1), kMaxSequenceNumber, kValueTypeForSeek)));
    CHECK(got.error() == Errc::corruption);
    auto it = (*r)->new_iterator();
    CHECK(run(it->seek_to_first()).error() == Errc::corruption);
    CHECK(!it->valid());
    // A reverse scan reaches the bad block last and fails there instead of skipping it.
    Result<void> status = run(it->seek_to_last());
    while (status && it->valid()) status = run(it->prev());
    CHECK(status.error() == Errc::corruption);
    // Keys in intact blocks are still readable.
    auto intact = run((*r)->get(make_internal_key(user_key(2999), kMaxSequenceNumber, kValueTypeForSeek)));
    REQUIRE(intact.has_value());
    CHECK(intact->has_value());
  }
}

TEST_CASE("a truncated file or a bad magic number makes open return corruption") {
  Dataset d = make_dataset(500);
  io::MemFileSystem fs;
  Reader good = build_and_open(fs, d.entries, TableOptions{});
  const std::string bytes = *fs.contents("/db/000001.sst");
  for (size_t len : {size_t{0}, size_t{10}, kFooterSize - 1, bytes.size() / 2, bytes.size() - 1}) {
    CAPTURE(len);
    REQUIRE(fs.set_contents("/db/000001.sst", bytes.substr(0, len)));
    CHECK(run(open_table(fs, "/db/000001.sst")).error() == Errc::corruption);
  }
  std::string bad_magic = bytes;
  bad_magic[bad_magic.size() - 3] ^= 0x01;
  REQUIRE(fs.set_contents("/db/000001.sst", bad_magic));
  CHECK(run(open_table(fs, "/db/000001.sst")).error() == Errc::corruption);
  // A corrupted index block (just before the footer) is caught by its checksum.
  std::string bad_index = bytes;
  bad_index[bytes.size() - kFooterSize - kBlockTrailerSize - 2] ^= 0x01;
  REQUIRE(fs.set_contents("/db/000001.sst", bad_index));
  CHECK(run(open_table(fs, "/db/000001.sst")).error() == Errc::corruption);
}

TEST_CASE("every single-byte corruption of a small table is reported or harmless, never a crash") {
  Dataset d = make_dataset(60);
  io::MemFileSystem fs;
  TableOptions options;
  options.block_size_bytes = 256;
  Reader good = build_and_open(fs, d.entries, options);
  const std::string bytes = *fs.contents("/db/000001.sst");
  int detected = 0;
  for (size_t pos = 0; pos < bytes.size(); ++pos) {
    std::string bad = bytes;
    bad[pos] ^= 0x04;
    REQUIRE(fs.set_contents("/db/000001.sst", bad));
    auto r = run(open_table(fs, "/db/000001.sst"));
    if (!r) {
      ++detected;
      continue;
    }
    auto it = (*r)->new_iterator();
    Result<void> status = run(it->seek_to_first());
    size_t n = 0;
    while (status && it->valid()) {
      REQUIRE(n < d.entries.size());
      CHECK(it->key() == d.entries[n].first);  // never a wrong entry
      CHECK(it->value() == d.entries[n].second);
      ++n;
      status = run(it->next());
    }
    if (!status) ++detected;
  }
  MESSAGE("positions=" << bytes.size() << " detected=" << detected);
  CHECK(detected > 0);
}

TEST_CASE("concurrent gets from many coroutines on two threads all see their values") {
  Dataset d = make_dataset(3000);
  io::MemFileSystem fs;
  TableOptions options;
  options.compression = Compression::lz4;
  Reader r = build_and_open(fs, d.entries, options);
  asio::thread_pool pool(2);
  std::atomic<int> found{0}, failed{0};
  for (int c = 0; c < 64; ++c) {
    asio::co_spawn(
        pool,
        [r, c, &found, &failed]() -> asio::awaitable<void> {
          for (int i = c; i < 3000; i += 64) {
            if (i % 7 == 0) continue;  // tombstones
            std::string lookup = make_internal_key(user_key(i), kMaxSequenceNumber, kValueTypeForSeek);
            auto got = co_await r->get(lookup);
            if (got && *got && (*got)->value == "new-" + std::to_string(i)) {
              ++found;
            } else {
              ++failed;
            }
          }
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
  }
  pool.join();
  CHECK(failed.load() == 0);
  CHECK(found.load() == 3000 - (3000 + 6) / 7);
}

// A data block whose checksum matches but whose contents are garbage (what a fuzzer or a buggy
// writer produces): reads report corruption or return entries, never crash.
TEST_CASE("a data block of garbage with a valid checksum yields corruption, not a crash") {
  Dataset d = make_dataset(400);
  io::MemFileSystem fs;
  Reader good = build_and_open(fs, d.entries, TableOptions{});
  BlockIterator index = good->index_block().new_iterator();
  index.seek_to_first();
  REQUIRE(index.valid());
  std::string_view hv = index.value();
  BlockHandle h;
  REQUIRE(h.decode_from(&hv));
  const std::string bytes = *fs.contents("/db/000001.sst");
  Random rnd(4242);
  MESSAGE("seed=4242");
  int corruptions = 0;
  for (int round = 0; round < 200; ++round) {
    std::string bad = bytes;
    std::string garbage(h.size, '\0');
    for (auto& c : garbage) c = static_cast<char>(rnd.uniform(256));
    if (round % 2 == 0) {  // keep a plausible restart count so parsing gets past the trailer
      uint32_t restarts = static_cast<uint32_t>(rnd.uniform(8) + 1);
      std::memcpy(garbage.data() + garbage.size() - 4, &restarts, 4);
      std::memset(garbage.data() + garbage.size() - 4 - 4 * restarts, 0, 4);
    }
    std::string trailer;
    append_block_trailer(&trailer, garbage, Compression::none);
    bad.replace(h.offset, h.size + kBlockTrailerSize, garbage + trailer);
    REQUIRE(fs.set_contents("/db/000001.sst", bad));
    auto r = run(open_table(fs, "/db/000001.sst"));
    REQUIRE(r.has_value());
    auto got = run((*r)->get(make_internal_key(user_key(0), kMaxSequenceNumber, kValueTypeForSeek)));
    if (!got) ++corruptions;
    auto it = (*r)->new_iterator();
    Result<void> status = run(it->seek_to_first());
    for (int steps = 0; status && it->valid() && steps < 100000; ++steps) status = run(it->next());
    status = run(it->seek_to_last());
    for (int steps = 0; status && it->valid() && steps < 100000; ++steps) status = run(it->prev());
  }
  MESSAGE("rounds=200 get_corruptions=" << corruptions);
  CHECK(corruptions > 0);
}
