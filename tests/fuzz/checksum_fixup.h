// Checksum fix-ups for the fuzz targets. A mutated input almost never keeps its CRC32Cs valid, so
// the fuzzer would only ever test the checksum checks and never the parsing behind them. These
// functions rewrite the checksums of an input in place, following the structure they can find
// (and stopping where it makes no sense), so that the target can run both the raw input (the
// checksum paths) and the fixed one (the parsers behind them).
// Formats: lib/wal/wal_format.h (fragments), lib/sstable/format.h (block trailers, footer).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "lib/sstable/block.h"
#include "lib/sstable/format.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/wal/wal_format.h"

namespace strata::fuzz {

// Recomputes the CRC of every fragment header found by walking each 32 KiB block from its start
// (a fragment of type full..last whose length fits in the block); stops a block at anything else.
inline void fix_wal_crcs(std::string* log) {
  using namespace strata::wal;
  for (size_t block = 0; block < log->size(); block += kBlockSize) {
    size_t block_len = std::min(kBlockSize, log->size() - block);
    size_t pos = 0;
    while (pos + kHeaderSize <= block_len) {
      char* h = log->data() + block + pos;
      uint8_t type = static_cast<uint8_t>(h[kTypeOffset]);
      size_t len = static_cast<uint8_t>(h[kLengthOffset]) | (size_t{static_cast<uint8_t>(h[kLengthOffset + 1])} << 8);
      if (type == 0 || type > kMaxRecordType || pos + kHeaderSize + len > block_len) break;
      uint32_t crc = crc32c::value(h + kTypeOffset, kCrcCoveredHeaderBytes + len);
      encode_fixed32(h + kCrcOffset, crc32c::mask(crc));
      pos += kHeaderSize + len;
    }
  }
}

// Rewrites the trailer CRC of the block at `handle` if the block and its trailer lie before the
// footer. Returns the block's contents (compressed or not) and its type byte.
inline bool fix_block_crc(std::string* table, sstable::BlockHandle handle, std::string_view* contents, uint8_t* type) {
  size_t limit = table->size() - sstable::kFooterSize;
  if (handle.offset > limit || handle.size > limit - handle.offset ||
      sstable::kBlockTrailerSize > limit - handle.offset - handle.size) {
    return false;
  }
  char* p = table->data() + handle.offset;
  char type_byte = p[handle.size];
  uint32_t crc = crc32c::extend(crc32c::value(p, handle.size), &type_byte, 1);
  encode_fixed32(p + handle.size + 1, crc32c::mask(crc));
  *contents = std::string_view(p, handle.size);
  *type = static_cast<uint8_t>(type_byte);
  return true;
}

// Fixes the footer CRC, the trailers of the filter, properties and index blocks it names, and the
// trailers of the data blocks named by an uncompressed, parseable index block (at most 4096).
inline void fix_sstable_crcs(std::string* table) {
  using namespace strata::sstable;
  if (table->size() < kFooterSize) return;
  char* footer = table->data() + table->size() - kFooterSize;
  std::string_view handles(footer, 3 * BlockHandle::kMaxEncodedSize);
  BlockHandle h[3];
  bool all = true;
  for (auto& handle : h) all = all && handle.decode_from(&handles);
  encode_fixed32(footer + 3 * BlockHandle::kMaxEncodedSize + 4,
                 crc32c::mask(crc32c::value(footer, 3 * BlockHandle::kMaxEncodedSize + 4)));
  if (!all) return;
  std::string_view contents;
  uint8_t type = 0;
  for (int i = 0; i < 2; ++i) {
    if (h[i].size > 0) (void)fix_block_crc(table, h[i], &contents, &type);
  }
  if (!fix_block_crc(table, h[2], &contents, &type) || type != static_cast<uint8_t>(Compression::none)) return;
  auto index = Block::parse(std::string(contents), KeyOrder::internal);
  if (!index) return;
  BlockIterator it = index->new_iterator();
  int n = 0;
  for (it.seek_to_first(); it.valid() && n < 4096; it.next(), ++n) {
    std::string_view v = it.value();
    BlockHandle data;
    if (data.decode_from(&v)) (void)fix_block_crc(table, data, &contents, &type);
  }
}

}  // namespace strata::fuzz
