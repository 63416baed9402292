// Types the public API shares with the engine: sequence numbers and block compression.
#pragma once

#include <cstdint>

namespace strata {

// Every write gets the next sequence number; a snapshot is one (ReadOptions::snapshot).
using SequenceNumber = uint64_t;

// 56 bits, so that sequence and type pack into one 64-bit tag (docs/format/sstable.md).
constexpr SequenceNumber kMaxSequenceNumber = (uint64_t{1} << 56) - 1;

namespace sstable {

// The compression of a data block, stored as the block trailer's type byte (docs/format/sstable.md):
// the values are on disk.
enum class Compression : uint8_t {
  none = 0,
  lz4 = 1,
  zstd = 2,
};

}  // namespace sstable
}  // namespace strata
