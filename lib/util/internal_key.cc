#include "lib/util/internal_key.h"

#include <cstring>

#include "lib/util/assert.h"
#include "lib/util/coding.h"

namespace strata {

LookupKey::LookupKey(std::string_view user_key, SequenceNumber seq) : size_(user_key.size() + kTagSize) {
  STRATA_ASSERT(seq <= kMaxSequenceNumber);
  char* out = inline_;
  if (size_ > kInlineBytes) {
    heap_.resize(size_);
    out = heap_.data();
  }
  if (!user_key.empty()) std::memcpy(out, user_key.data(), user_key.size());
  encode_fixed64(out + user_key.size(), pack_tag(seq, kValueTypeForSeek));
  data_ = out;
}

void append_internal_key(std::string* dst, std::string_view user_key, SequenceNumber seq, ValueType t) {
  STRATA_ASSERT(seq <= kMaxSequenceNumber);
  dst->append(user_key);
  put_fixed64(dst, pack_tag(seq, t));
}

std::string make_internal_key(std::string_view user_key, SequenceNumber seq, ValueType t) {
  std::string s;
  s.reserve(user_key.size() + kTagSize);
  append_internal_key(&s, user_key, seq, t);
  return s;
}

uint64_t extract_tag(std::string_view ikey) { return decode_fixed64(ikey.data() + ikey.size() - kTagSize); }

bool parse_internal_key(std::string_view ikey, ParsedInternalKey* out) {
  if (ikey.size() < kTagSize) return false;
  uint64_t tag = extract_tag(ikey);
  uint8_t type = tag & 0xff;
  if (type > static_cast<uint8_t>(ValueType::value)) return false;
  out->user_key = extract_user_key(ikey);
  out->sequence = tag >> 8;
  out->type = static_cast<ValueType>(type);
  return true;
}

int compare_internal_keys(std::string_view a, std::string_view b) {
  int r = extract_user_key(a).compare(extract_user_key(b));
  if (r != 0) return r;
  uint64_t ta = extract_tag(a);
  uint64_t tb = extract_tag(b);
  if (ta > tb) return -1;  // higher sequence sorts first
  if (ta < tb) return 1;
  return 0;
}

void shorten_separator(std::string* start, std::string_view limit) {
  std::string_view su = extract_user_key(*start);
  std::string_view lu = extract_user_key(limit);
  size_t min_len = std::min(su.size(), lu.size());
  size_t diff = 0;
  while (diff < min_len && su[diff] == lu[diff]) ++diff;
  if (diff >= min_len) return;  // one is a prefix of the other
  auto byte = static_cast<uint8_t>(su[diff]);
  if (byte == 0xff || byte + 1 >= static_cast<uint8_t>(lu[diff])) return;
  std::string tmp(su.substr(0, diff + 1));
  tmp.back() = static_cast<char>(byte + 1);
  // tmp is a user key strictly between su and lu; the max tag makes it the first internal key of it.
  put_fixed64(&tmp, pack_tag(kMaxSequenceNumber, kValueTypeForSeek));
  STRATA_ASSERT(compare_internal_keys(*start, tmp) < 0 && compare_internal_keys(tmp, limit) < 0);
  start->swap(tmp);
}

void shorten_successor(std::string* key) {
  std::string_view u = extract_user_key(*key);
  for (size_t i = 0; i < u.size(); ++i) {
    auto byte = static_cast<uint8_t>(u[i]);
    if (byte != 0xff) {
      std::string tmp(u.substr(0, i + 1));
      tmp.back() = static_cast<char>(byte + 1);
      put_fixed64(&tmp, pack_tag(kMaxSequenceNumber, kValueTypeForSeek));
      key->swap(tmp);
      return;
    }
  }
}

}  // namespace strata
