#include <doctest/doctest.h>

#include <string>

#include "lib/io/mem_file_system.h"
#include "lib/sstable/compression.h"
#include "lib/sstable/format.h"
#include "tests/unit/sstable/sstable_test_util.h"

using namespace strata;
using namespace strata::sstable;
using strata::sstable::testing::run;

TEST_CASE("block handle round trips through its varint encoding") {
  for (BlockHandle h : {BlockHandle{0, 0}, BlockHandle{1, 127}, BlockHandle{UINT64_MAX, UINT64_MAX}}) {
    std::string s;
    h.encode_to(&s);
    CHECK(s.size() <= BlockHandle::kMaxEncodedSize);
    std::string_view in = s;
    BlockHandle d;
    REQUIRE(d.decode_from(&in));
    CHECK(d == h);
    CHECK(in.empty());
    std::string_view truncated = std::string_view(s).substr(0, s.size() - 1);
    CHECK(!d.decode_from(&truncated));
  }
}

TEST_CASE("footer round trips and has a fixed size") {
  Footer f;
  f.filter_handle = {10, 20};
  f.properties_handle = {30, 40};
  f.index_handle = {uint64_t{1} << 40, 123456};
  std::string s;
  f.encode_to(&s);
  REQUIRE(s.size() == kFooterSize);
  auto d = Footer::decode(s, "t.sst");
  REQUIRE(d.has_value());
  CHECK(d->filter_handle == f.filter_handle);
  CHECK(d->properties_handle == f.properties_handle);
  CHECK(d->index_handle == f.index_handle);
  CHECK(d->format_version == kFormatVersion);
}

TEST_CASE("footer with a bad magic number, a flipped handle byte or a newer version is refused") {
  Footer f;
  f.index_handle = {5, 6};
  std::string good;
  f.encode_to(&good);
  std::string bad_magic = good;
  bad_magic.back() ^= 1;
  CHECK(Footer::decode(bad_magic, "t.sst").error() == Errc::corruption);
  std::string bad_handle = good;
  bad_handle[2] ^= 1;
  CHECK(Footer::decode(bad_handle, "t.sst").error() == Errc::corruption);
  Footer newer;
  newer.format_version = kFormatVersion + 1;
  std::string s;
  newer.encode_to(&s);
  CHECK(Footer::decode(s, "t.sst").error() == Errc::not_supported);
}

TEST_CASE("compressible blocks shrink with lz4 and zstd and decompress to the same bytes") {
  std::string raw;
  for (int i = 0; i < 1000; ++i) raw += "key" + std::to_string(i % 50) + "value-value-value;";
  for (Compression c : {Compression::lz4, Compression::zstd}) {
    CAPTURE(to_string(c));
    auto stored = compress_block(c, raw);
    REQUIRE(stored.has_value());
    CHECK(stored->size() < raw.size() / 2);
    auto back = uncompress_block(c, *stored);
    REQUIRE(back.has_value());
    CHECK(*back == raw);
    // Garbage payloads are rejected, not crashed on.
    std::string bad = *stored;
    bad[bad.size() / 2] ^= 0x5a;
    auto r = uncompress_block(c, bad);
    if (r) CHECK(r->size() == raw.size());
    CHECK(!uncompress_block(c, stored->substr(0, stored->size() / 2)));
  }
}

TEST_CASE("a block that does not shrink by 12.5 percent is not compressed") {
  std::string random_bytes;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 4096; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    random_bytes.push_back(static_cast<char>(x));
  }
  CHECK(!compress_block(Compression::lz4, random_bytes));
  CHECK(!compress_block(Compression::zstd, random_bytes));
}

TEST_CASE("a compressed block claiming a huge uncompressed size is refused before allocating") {
  std::string stored =
      "\xff\xff\xff\xff\x0f"
      "abc";  // varint32 0xffffffff
  CHECK(!uncompress_block(Compression::lz4, stored));
  CHECK(!uncompress_block(Compression::zstd, stored));
  CHECK(!uncompress_block(static_cast<Compression>(9),
                          "\x03"
                          "abc"));
}

TEST_CASE("read_block verifies the checksum and reports corruption") {
  io::MemFileSystem fs;
  std::string contents = "block contents";
  std::string bytes = contents;
  append_block_trailer(&bytes, contents, Compression::none);
  auto file = run(fs.open("/b", io::OpenOptions{.create = true}));
  REQUIRE(fs.set_contents("/b", "xx" + bytes));
  REQUIRE(file.has_value());
  BlockHandle h{2, contents.size()};
  auto good = run(read_block(**file, h));
  REQUIRE(good.has_value());
  CHECK(*good == contents);

  std::string bad = "xx" + bytes;
  bad[5] ^= 0x10;
  REQUIRE(fs.set_contents("/b", bad));
  CHECK(run(read_block(**file, h)).error() == Errc::corruption);

  REQUIRE(fs.set_contents("/b", ("xx" + bytes).substr(0, 10)));  // truncated
  CHECK(run(read_block(**file, h)).error() == Errc::corruption);
}
