// Internal keys: how the memtable, the WAL replay and SSTables order versions of a user key.
//
//   internal key = user_key bytes | tag (fixed64, little-endian)
//   tag          = (sequence_number << 8) | value_type
//
// Order (LevelDB's InternalKeyComparator): user key ascending (bytewise), then sequence number
// descending, then type descending — so the newest version of a key comes first, and a lookup
// key with sequence S and type kValueTypeForSeek finds the newest version visible at S.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "strata/types.h"

namespace strata {

enum class ValueType : uint8_t {
  deletion = 0,  // a tombstone
  value = 1,
};
// Sorts first among the versions of one (user key, sequence): used to build lookup keys.
constexpr ValueType kValueTypeForSeek = ValueType::value;

constexpr size_t kTagSize = 8;

inline uint64_t pack_tag(SequenceNumber seq, ValueType t) { return (seq << 8) | static_cast<uint8_t>(t); }

struct ParsedInternalKey {
  std::string_view user_key;
  SequenceNumber sequence = 0;
  ValueType type = ValueType::value;
};

void append_internal_key(std::string* dst, std::string_view user_key, SequenceNumber seq, ValueType t);
std::string make_internal_key(std::string_view user_key, SequenceNumber seq, ValueType t);

// The internal key (user_key, seq, kValueTypeForSeek) of a point lookup, built without a heap
// allocation when it fits in kInlineBytes (LevelDB's LookupKey keeps up to 200 bytes on the
// stack). Not copyable or movable: internal_key() may point into the object.
class LookupKey {
 public:
  static constexpr size_t kInlineBytes = 64;
  LookupKey(std::string_view user_key, SequenceNumber seq);
  LookupKey(const LookupKey&) = delete;
  LookupKey& operator=(const LookupKey&) = delete;

  std::string_view internal_key() const { return {data_, size_}; }

 private:
  char inline_[kInlineBytes];
  std::string heap_;  // when the key does not fit inline
  const char* data_;
  size_t size_;
};

// Returns false if `ikey` is too short or its type byte is unknown.
bool parse_internal_key(std::string_view ikey, ParsedInternalKey* out);

// REQUIRES: ikey.size() >= kTagSize.
inline std::string_view extract_user_key(std::string_view ikey) { return ikey.substr(0, ikey.size() - kTagSize); }
uint64_t extract_tag(std::string_view ikey);

// Total order of internal keys described above. Returns <0, 0, >0.
int compare_internal_keys(std::string_view a, std::string_view b);

struct InternalKeyLess {
  bool operator()(std::string_view a, std::string_view b) const { return compare_internal_keys(a, b) < 0; }
};

// Shortens `*start` to a short internal key k with start <= k < limit (both internal keys), for
// index blocks (LevelDB's FindShortestSeparator). Leaves *start unchanged when it cannot shorten.
void shorten_separator(std::string* start, std::string_view limit);
// Shortens `*key` to a short internal key >= key (LevelDB's FindShortSuccessor).
void shorten_successor(std::string* key);

}  // namespace strata
