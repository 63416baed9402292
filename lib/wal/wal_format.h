// The log record framing shared by WAL segments (wal/NNNNNN.log) and the MANIFEST. This is
// LevelDB's log format (db/log_format.h) with RocksDB's "recyclable" header, which adds the low 32
// bits of the file number to every fragment so that a fragment left behind by another log file
// (a recycled or overwritten segment, or a block copied from elsewhere) can never be read as part
// of this one. The byte diagram is in docs/format/wal.md.
//
//   file     := block* (the last block may be partial)
//   block    := fragment* trailer      (kBlockSize bytes)
//   trailer  := 0..kHeaderSize-1 zero bytes (a header never starts in them)
//   fragment := masked_crc (fixed32) | length (fixed16) | type (1 byte) | log_number (fixed32)
//               | payload (length bytes)
//   masked_crc = crc32c::mask(crc32c(type | log_number | payload))
//
// Invariants: a fragment never crosses a block boundary, so every block the writer touched starts
// with a fragment header; a record is FULL, or FIRST MIDDLE* LAST, with all its fragments in order.
// Thread-safety: constants only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata::wal {

// Version of the framing described above. It is not stored in every fragment (the framing has no
// file header); a change to the framing must change the file names or add a file header.
inline constexpr uint32_t kFormatVersion = 1;

enum class RecordType : uint8_t {
  // Preallocated or never-written space. Never written by the writer; a header of all zeros marks
  // the end of the log.
  zero = 0,
  full = 1,    // a whole record in one fragment
  first = 2,   // the first fragment of a record
  middle = 3,  // an interior fragment
  last = 4,    // the last fragment of a record
};
inline constexpr uint8_t kMaxRecordType = static_cast<uint8_t>(RecordType::last);

inline constexpr size_t kBlockSize = 32 * 1024;

// Header layout: offsets and sizes in bytes.
inline constexpr size_t kCrcOffset = 0;        // fixed32, masked CRC32C
inline constexpr size_t kLengthOffset = 4;     // fixed16, payload length of this fragment
inline constexpr size_t kTypeOffset = 6;       // 1 byte, RecordType
inline constexpr size_t kLogNumberOffset = 7;  // fixed32, low 32 bits of the file number
inline constexpr size_t kHeaderSize = 11;
// The CRC covers the bytes from kTypeOffset to the end of the payload, which are contiguous.
inline constexpr size_t kCrcCoveredHeaderBytes = kHeaderSize - kTypeOffset;

// The largest fragment payload: a fragment fits in a block after its header.
inline constexpr size_t kMaxFragmentPayload = kBlockSize - kHeaderSize;
static_assert(kMaxFragmentPayload <= 0xffff, "the fragment length must fit in fixed16");

// The largest whole record (sum of its fragments). It bounds the reader's memory on any input;
// callers (WriteBatch limits, version edits) must stay below it.
inline constexpr size_t kMaxRecordBytes = size_t{256} << 20;

}  // namespace strata::wal
