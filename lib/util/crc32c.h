// CRC32C (Castagnoli), the checksum of every WAL record, manifest record and SSTable block.
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table-driven loop otherwise.
//
// mask()/unmask() follow LevelDB (util/crc32c.h): a CRC stored next to the data it covers is
// masked, because the CRC of a string that itself contains CRCs is weak.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strata::crc32c {

// CRC32C of data, continuing from the CRC `init` of the bytes before it (0 to start).
uint32_t extend(uint32_t init, const char* data, size_t n);
inline uint32_t value(const char* data, size_t n) { return extend(0, data, n); }
inline uint32_t value(std::string_view s) { return extend(0, s.data(), s.size()); }

constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace strata::crc32c
