// Fixed-width little-endian and varint encodings used by every on-disk and wire format
// (the same encodings as LevelDB's util/coding.h, so formats are easy to compare).
//
// Get* functions consume from the front of `in` and return false (leaving `in` unspecified)
// when it is too short or malformed; they never read past `in`.
// Thread-safety: pure functions.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace strata {

inline void encode_fixed32(char* dst, uint32_t v) { std::memcpy(dst, &v, 4); }  // little-endian hosts
inline void encode_fixed64(char* dst, uint64_t v) { std::memcpy(dst, &v, 8); }
inline uint32_t decode_fixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t decode_fixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
static_assert(std::endian::native == std::endian::little, "Strata's formats assume a little-endian host");

void put_fixed32(std::string* dst, uint32_t v);
void put_fixed64(std::string* dst, uint64_t v);
void put_varint32(std::string* dst, uint32_t v);
void put_varint64(std::string* dst, uint64_t v);
// Varint length followed by the bytes.
void put_length_prefixed(std::string* dst, std::string_view value);

// Writes a varint at dst (which must have room for 10 bytes); returns one past the last byte.
char* encode_varint64(char* dst, uint64_t v);
char* encode_varint32(char* dst, uint32_t v);
int varint_length(uint64_t v);

bool get_fixed32(std::string_view* in, uint32_t* v);
bool get_fixed64(std::string_view* in, uint64_t* v);
bool get_varint32(std::string_view* in, uint32_t* v);
bool get_varint64(std::string_view* in, uint64_t* v);
bool get_length_prefixed(std::string_view* in, std::string_view* value);

// Decodes a varint from [p, limit); returns one past its last byte, or nullptr if malformed.
// decode_varint32 is inline for the one-byte case, the common one in block entries (shared and
// non-shared key lengths, small value lengths), as LevelDB's GetVarint32Ptr is; the profile of
// seekrandom had the out-of-line call at 16%.
const char* decode_varint32_slow(const char* p, const char* limit, uint32_t* v);
inline const char* decode_varint32(const char* p, const char* limit, uint32_t* v) {
  if (p < limit) {
    auto b = static_cast<uint32_t>(static_cast<unsigned char>(*p));
    if ((b & 0x80) == 0) {
      *v = b;
      return p + 1;
    }
  }
  return decode_varint32_slow(p, limit, v);
}
const char* decode_varint64(const char* p, const char* limit, uint64_t* v);

}  // namespace strata
