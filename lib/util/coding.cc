#include "lib/util/coding.h"

namespace strata {

void put_fixed32(std::string* dst, uint32_t v) {
  char buf[4];
  encode_fixed32(buf, v);
  dst->append(buf, 4);
}

void put_fixed64(std::string* dst, uint64_t v) {
  char buf[8];
  encode_fixed64(buf, v);
  dst->append(buf, 8);
}

char* encode_varint64(char* dst, uint64_t v) {
  auto* p = reinterpret_cast<unsigned char*>(dst);
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return reinterpret_cast<char*>(p);
}

char* encode_varint32(char* dst, uint32_t v) { return encode_varint64(dst, v); }

int varint_length(uint64_t v) {
  int len = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++len;
  }
  return len;
}

void put_varint32(std::string* dst, uint32_t v) {
  char buf[5];
  dst->append(buf, encode_varint32(buf, v) - buf);
}

void put_varint64(std::string* dst, uint64_t v) {
  char buf[10];
  dst->append(buf, encode_varint64(buf, v) - buf);
}

void put_length_prefixed(std::string* dst, std::string_view value) {
  put_varint64(dst, value.size());
  dst->append(value);
}

const char* decode_varint64(const char* p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (uint32_t shift = 0; shift <= 63 && p < limit; shift += 7) {
    uint64_t byte = static_cast<unsigned char>(*p++);
    if (shift == 63 && byte > 1) return nullptr;  // overflows 64 bits
    if (byte & 0x80) {
      result |= (byte & 0x7f) << shift;
    } else {
      result |= byte << shift;
      *v = result;
      return p;
    }
  }
  return nullptr;
}

const char* decode_varint32_slow(const char* p, const char* limit, uint32_t* v) {
  uint64_t v64 = 0;
  const char* q = decode_varint64(p, limit, &v64);
  if (q == nullptr || v64 > UINT32_MAX || q - p > 5) return nullptr;
  *v = static_cast<uint32_t>(v64);
  return q;
}

bool get_fixed32(std::string_view* in, uint32_t* v) {
  if (in->size() < 4) return false;
  *v = decode_fixed32(in->data());
  in->remove_prefix(4);
  return true;
}

bool get_fixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = decode_fixed64(in->data());
  in->remove_prefix(8);
  return true;
}

bool get_varint32(std::string_view* in, uint32_t* v) {
  const char* end = in->data() + in->size();
  const char* q = decode_varint32(in->data(), end, v);
  if (q == nullptr) return false;
  in->remove_prefix(q - in->data());
  return true;
}

bool get_varint64(std::string_view* in, uint64_t* v) {
  const char* end = in->data() + in->size();
  const char* q = decode_varint64(in->data(), end, v);
  if (q == nullptr) return false;
  in->remove_prefix(q - in->data());
  return true;
}

bool get_length_prefixed(std::string_view* in, std::string_view* value) {
  uint64_t len = 0;
  if (!get_varint64(in, &len) || len > in->size()) return false;
  *value = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

}  // namespace strata
