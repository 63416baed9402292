// Per-block compression for SSTables: LZ4 (liblz4) and zstd (libzstd).
//
// A compressed block's contents are: varint32 uncompressed size | compressed payload. The size
// prefix lets LZ4 (which does not record it) decompress into an exact buffer, and lets both
// reject a block that claims more than kMaxUncompressedBlockBytes before allocating.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lib/sstable/format.h"

namespace strata::sstable {

// A decompressed block larger than this is treated as corrupt (it bounds what a malformed or
// malicious file can make a reader allocate). Blocks hold at most one value past the block
// size, and values are at most 64 MiB (Options::max_value_size_bytes).
constexpr size_t kMaxUncompressedBlockBytes = size_t{256} << 20;

// Compresses `raw` with `type` (not none). Returns nullopt when the result would not save at
// least 12.5% of `raw`: such a block is stored uncompressed.
std::optional<std::string> compress_block(Compression type, std::string_view raw);

// Inverse of compress_block. nullopt when `stored` is malformed.
std::optional<std::string> uncompress_block(Compression type, std::string_view stored);

}  // namespace strata::sstable
