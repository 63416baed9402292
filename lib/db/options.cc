// Validation and parsing for include/strata/options.h.
#include "strata/options.h"

#include "lib/util/logging.h"

namespace strata {

Result<void> validate_options(const Options& o) {
  auto reject = [](const char* what, long long value) -> Result<void> {
    STRATA_LOG(error, "invalid option %s = %lld", what, value);
    return make_error_code(Errc::invalid_argument);
  };
  if (o.bloom_bits_per_key < 0 || o.bloom_bits_per_key > 64) {
    return reject("bloom_bits_per_key (allowed 0..64)", o.bloom_bits_per_key);
  }
  if (o.block_size_bytes < 256 || o.block_size_bytes > (64u << 20)) {
    return reject("block_size_bytes (allowed 256..64 MiB)", static_cast<long long>(o.block_size_bytes));
  }
  if (o.block_restart_interval < 1) return reject("block_restart_interval (allowed >= 1)", o.block_restart_interval);
  if (o.compression != sstable::Compression::none && o.compression != sstable::Compression::lz4 &&
      o.compression != sstable::Compression::zstd) {
    return reject("compression (allowed none, lz4, zstd)", static_cast<long long>(o.compression));
  }
  if (o.max_open_files < 16) return reject("max_open_files (allowed >= 16)", o.max_open_files);
  if (o.memtable_size_bytes < 4096) {
    return reject("memtable_size_bytes (allowed >= 4096)", static_cast<long long>(o.memtable_size_bytes));
  }
  if (!(o.memtable_bloom_size_ratio >= 0 && o.memtable_bloom_size_ratio <= 0.25)) {
    STRATA_LOG(error, "invalid option memtable_bloom_size_ratio = %g (allowed 0..0.25)", o.memtable_bloom_size_ratio);
    return make_error_code(Errc::invalid_argument);
  }
  if (o.max_immutable_memtables < 1) return reject("max_immutable_memtables (allowed >= 1)", o.max_immutable_memtables);
  return ok();
}

std::optional<sstable::Compression> parse_compression(std::string_view s) {
  if (s == "none") return sstable::Compression::none;
  if (s == "lz4") return sstable::Compression::lz4;
  if (s == "zstd") return sstable::Compression::zstd;
  return std::nullopt;
}

}  // namespace strata
