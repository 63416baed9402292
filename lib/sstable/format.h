// The SSTable file format's constants and its small fixed structures: BlockHandle, Footer, the
// block trailer, and read_block(), which reads one block, verifies its checksum and decompresses
// it. The byte diagram of every structure is in docs/format/sstable.md; change both together.
//
//   file    = data block* | filter block | properties block | index block | footer
//   block   = contents | trailer
//   trailer = compression type (1 byte) | masked crc32c(contents | type byte) (fixed32)
//
// Invariants: a BlockHandle's size excludes the trailer; the footer is exactly kFooterSize bytes at
// the end of the file; every block read from disk has its checksum verified (no opt-out).
// Thread-safety: pure functions and plain values; read_block is as thread-safe as the File.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/io/file_system.h"
#include "strata/types.h"
#include "strata/result.h"

namespace strata::sstable {

namespace asio = boost::asio;

// "STRATAss" when the last 8 bytes of a table are read as text.
constexpr uint64_t kTableMagicNumber = 0x7373415441525453ull;
// Bump on any change to the layout described in docs/format/sstable.md.
constexpr uint32_t kFormatVersion = 1;

// Compression (the trailer's type byte): strata/types.h.
// "none" | "lz4" | "zstd" | "unknown".
std::string_view to_string(Compression c);

constexpr size_t kBlockTrailerSize = 5;

// Where a block lives in the file: offset of its first byte and size of its contents (without
// the trailer). Encoded as varint64 offset | varint64 size.
struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;

  static constexpr size_t kMaxEncodedSize = 20;  // two varint64s

  void encode_to(std::string* dst) const;
  // Consumes a handle from the front of *in; false if it is truncated or malformed.
  bool decode_from(std::string_view* in);

  bool operator==(const BlockHandle&) const = default;
};

//   filter handle | properties handle | index handle   (zero-padded to 3 * 20 = 60 bytes)
//   format version  fixed32
//   footer crc      fixed32   masked crc32c of the 64 bytes before it
//   magic           fixed64
struct Footer {
  BlockHandle filter_handle;  // size 0: the table has no filter
  BlockHandle properties_handle;
  BlockHandle index_handle;
  uint32_t format_version = kFormatVersion;

  static constexpr size_t kEncodedSize = 3 * BlockHandle::kMaxEncodedSize + 4 + 4 + 8;

  // Appends exactly kEncodedSize bytes.
  void encode_to(std::string* dst) const;
  // REQUIRES: in.size() == kEncodedSize. Errors: corruption (bad magic, bad checksum, malformed
  // handles), not_supported (a format version this build does not read). `path` is for the log.
  static Result<Footer> decode(std::string_view in, const std::string& path);
};
constexpr size_t kFooterSize = Footer::kEncodedSize;

// Appends the trailer for `contents` stored with compression `type`.
void append_block_trailer(std::string* dst, std::string_view contents, Compression type);

// Reads the block at `handle` from `file`, verifies its checksum and returns its uncompressed
// contents. The caller keeps `file` alive until the returned awaitable completes.
// Errors: corruption (short read, checksum mismatch, unknown compression type, bad compressed
// payload; each logged with the file path and offset), io errors of the file.
asio::awaitable<Result<std::string>> read_block(io::File& file, BlockHandle handle);

// read_block() without blocking, from what the OS has in memory (File::read_cached): the
// verified contents, or nullopt when the block is not all cached (then read_block() it).
// Same errors as read_block().
Result<std::optional<std::string>> read_block_cached(io::File& file, BlockHandle handle);

}  // namespace strata::sstable
