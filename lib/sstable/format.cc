#include "lib/sstable/format.h"

#include <inttypes.h>

#include "lib/sstable/compression.h"
#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/logging.h"

namespace strata::sstable {

std::string_view to_string(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::lz4: return "lz4";
    case Compression::zstd: return "zstd";
  }
  return "unknown";
}

void BlockHandle::encode_to(std::string* dst) const {
  put_varint64(dst, offset);
  put_varint64(dst, size);
}

bool BlockHandle::decode_from(std::string_view* in) { return get_varint64(in, &offset) && get_varint64(in, &size); }

void Footer::encode_to(std::string* dst) const {
  size_t start = dst->size();
  filter_handle.encode_to(dst);
  properties_handle.encode_to(dst);
  index_handle.encode_to(dst);
  dst->resize(start + 3 * BlockHandle::kMaxEncodedSize, '\0');
  put_fixed32(dst, format_version);
  put_fixed32(dst, crc32c::mask(crc32c::value(dst->data() + start, dst->size() - start)));
  put_fixed64(dst, kTableMagicNumber);
  STRATA_ASSERT(dst->size() - start == kEncodedSize);
}

Result<Footer> Footer::decode(std::string_view in, const std::string& path) {
  STRATA_ASSERT(in.size() == kEncodedSize);
  uint64_t magic = decode_fixed64(in.data() + kEncodedSize - 8);
  if (magic != kTableMagicNumber) {
    STRATA_LOG(error, "sstable %s: bad magic number 0x%016" PRIx64 " (expected 0x%016" PRIx64 ")", path.c_str(), magic,
               kTableMagicNumber);
    return make_error_code(Errc::corruption);
  }
  uint32_t expected = crc32c::unmask(decode_fixed32(in.data() + kEncodedSize - 12));
  uint32_t actual = crc32c::value(in.data(), kEncodedSize - 12);
  if (expected != actual) {
    STRATA_LOG(error, "sstable %s: footer checksum mismatch: expected 0x%08x actual 0x%08x", path.c_str(), expected,
               actual);
    return make_error_code(Errc::corruption);
  }
  Footer f;
  f.format_version = decode_fixed32(in.data() + kEncodedSize - 16);
  if (f.format_version != kFormatVersion) {
    STRATA_LOG(error, "sstable %s: format version %u is not supported (this build reads %u)", path.c_str(),
               f.format_version, kFormatVersion);
    return make_error_code(Errc::not_supported);
  }
  std::string_view handles = in.substr(0, 3 * BlockHandle::kMaxEncodedSize);
  if (!f.filter_handle.decode_from(&handles) || !f.properties_handle.decode_from(&handles) ||
      !f.index_handle.decode_from(&handles)) {
    STRATA_LOG(error, "sstable %s: malformed block handles in the footer", path.c_str());
    return make_error_code(Errc::corruption);
  }
  return f;
}

void append_block_trailer(std::string* dst, std::string_view contents, Compression type) {
  char type_byte = static_cast<char>(type);
  uint32_t crc = crc32c::extend(crc32c::value(contents), &type_byte, 1);
  dst->push_back(type_byte);
  put_fixed32(dst, crc32c::mask(crc));
}

namespace {

// Checks the trailer of the block that `buf` holds (contents, then the trailer) and returns the
// uncompressed contents.
Result<std::string> verify_block(std::string buf, const std::string& path, BlockHandle handle) {
  const char* trailer = buf.data() + handle.size;
  uint32_t expected = crc32c::unmask(decode_fixed32(trailer + 1));
  uint32_t actual = crc32c::value(buf.data(), handle.size + 1);  // contents and the type byte
  if (expected != actual) {
    STRATA_LOG(error,
               "sstable %s: block checksum mismatch at offset %" PRIu64 " size %" PRIu64
               ": expected 0x%08x actual 0x%08x",
               path.c_str(), handle.offset, handle.size, expected, actual);
    return make_error_code(Errc::corruption);
  }
  auto type = static_cast<Compression>(trailer[0]);
  if (type == Compression::none) {
    buf.resize(handle.size);
    return buf;
  }
  std::optional<std::string> raw = uncompress_block(type, std::string_view(buf.data(), handle.size));
  if (!raw) {
    STRATA_LOG(error, "sstable %s: block at offset %" PRIu64 " does not decompress (type %u)", path.c_str(),
               handle.offset, static_cast<unsigned>(trailer[0]) & 0xffu);
    return make_error_code(Errc::corruption);
  }
  return std::move(*raw);
}

// A buffer for a block and its trailer. The caller bounds handle.size by the file size, so this
// allocation is bounded too.
std::string block_buffer(BlockHandle handle) { return std::string(handle.size + kBlockTrailerSize, '\0'); }

}  // namespace

asio::awaitable<Result<std::string>> read_block(io::File& file, BlockHandle handle) {
  std::string buf = block_buffer(handle);
  STRATA_CO_TRY_ASSIGN(size_t n, co_await file.read_at(handle.offset, std::span<char>(buf.data(), buf.size())));
  if (n != buf.size()) {
    STRATA_LOG(error, "sstable %s: truncated block at offset %" PRIu64 ": read %zu of %zu bytes", file.path().c_str(),
               handle.offset, n, buf.size());
    co_return make_error_code(Errc::corruption);
  }
  co_return verify_block(std::move(buf), file.path(), handle);
}

Result<std::optional<std::string>> read_block_cached(io::File& file, BlockHandle handle) {
  std::string buf = block_buffer(handle);
  auto n = file.read_cached(handle.offset, std::span<char>(buf.data(), buf.size()));
  if (!n) return n.error();
  if (!*n) return std::optional<std::string>{};
  auto contents = verify_block(std::move(buf), file.path(), handle);
  if (!contents) return contents.error();
  return std::optional<std::string>(std::move(*contents));
}

}  // namespace strata::sstable
