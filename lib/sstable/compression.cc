#include "lib/sstable/compression.h"

#include <lz4.h>
#include <zstd.h>

#include <climits>

#include "lib/util/assert.h"
#include "lib/util/coding.h"

namespace strata::sstable {

namespace {

// zstd's default level: a good ratio at a speed close to LZ4's for SSTable-sized blocks.
constexpr int kZstdLevel = 3;

bool saves_enough(size_t stored_size, size_t raw_size) { return stored_size < raw_size - raw_size / 8; }

// ZSTD_compress / ZSTD_decompress create and free a context (hundreds of KiB) on every call,
// which dominated the cost of reading a small block. One context per thread is reused instead;
// the contexts are freed when their thread exits.
struct ZstdContexts {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(cctx);
    ZSTD_freeDCtx(dctx);
  }
};

ZstdContexts& zstd_contexts() {
  thread_local ZstdContexts contexts;
  STRATA_ASSERT(contexts.cctx != nullptr && contexts.dctx != nullptr);
  return contexts;
}

}  // namespace

std::optional<std::string> compress_block(Compression type, std::string_view raw) {
  STRATA_ASSERT(type != Compression::none);
  // Readers refuse to inflate past the limit, so such a (pathological) block stays uncompressed.
  if (raw.size() > kMaxUncompressedBlockBytes) return std::nullopt;
  std::string out;
  put_varint32(&out, static_cast<uint32_t>(raw.size()));
  size_t header = out.size();
  if (type == Compression::lz4) {
    int bound = LZ4_compressBound(static_cast<int>(raw.size()));
    out.resize(header + bound);
    int n = LZ4_compress_default(raw.data(), out.data() + header, static_cast<int>(raw.size()), bound);
    if (n <= 0) return std::nullopt;
    out.resize(header + n);
  } else if (type == Compression::zstd) {
    size_t bound = ZSTD_compressBound(raw.size());
    out.resize(header + bound);
    size_t n = ZSTD_compressCCtx(zstd_contexts().cctx, out.data() + header, bound, raw.data(), raw.size(), kZstdLevel);
    if (ZSTD_isError(n)) return std::nullopt;
    out.resize(header + n);
  } else {
    STRATA_ASSERT_MSG(false, "unknown compression type");
  }
  if (!saves_enough(out.size(), raw.size())) return std::nullopt;
  return out;
}

std::optional<std::string> uncompress_block(Compression type, std::string_view stored) {
  uint32_t raw_size = 0;
  if (!get_varint32(&stored, &raw_size) || raw_size > kMaxUncompressedBlockBytes) return std::nullopt;
  std::string out(raw_size, '\0');
  if (type == Compression::lz4) {
    // LZ4 cannot expand by more than ~255x; a larger claim is garbage (and would allocate).
    if (stored.size() > INT_MAX || uint64_t{raw_size} > uint64_t{stored.size()} * 255 + 64) return std::nullopt;
    int n = LZ4_decompress_safe(stored.data(), out.data(), static_cast<int>(stored.size()), static_cast<int>(raw_size));
    if (n < 0 || static_cast<uint32_t>(n) != raw_size) return std::nullopt;
  } else if (type == Compression::zstd) {
    size_t n = ZSTD_decompressDCtx(zstd_contexts().dctx, out.data(), out.size(), stored.data(), stored.size());
    if (ZSTD_isError(n) || n != raw_size) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace strata::sstable
