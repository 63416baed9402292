#include "strata/write_batch.h"

#include "lib/util/coding.h"
#include "lib/util/internal_key.h"

namespace strata {

void WriteBatch::clear() { rep_.assign(kHeaderSize, '\0'); }

uint32_t WriteBatch::count() const { return decode_fixed32(rep_.data() + 8); }
void WriteBatch::set_count(uint32_t n) { encode_fixed32(rep_.data() + 8, n); }
SequenceNumber WriteBatch::sequence() const { return decode_fixed64(rep_.data()); }
void WriteBatch::set_sequence(SequenceNumber seq) { encode_fixed64(rep_.data(), seq); }

void WriteBatch::put(std::string_view key, std::string_view value) {
  set_count(count() + 1);
  rep_.push_back(static_cast<char>(ValueType::value));
  put_length_prefixed(&rep_, key);
  put_length_prefixed(&rep_, value);
}

void WriteBatch::del(std::string_view key) {
  set_count(count() + 1);
  rep_.push_back(static_cast<char>(ValueType::deletion));
  put_length_prefixed(&rep_, key);
}

void WriteBatch::append(const WriteBatch& other) {
  set_count(count() + other.count());
  rep_.append(other.rep_, kHeaderSize);
}

Result<WriteBatch> WriteBatch::from_rep(std::string rep) {
  if (rep.size() < kHeaderSize) return make_error_code(Errc::corruption);
  WriteBatch b;
  b.rep_ = std::move(rep);
  return b;
}

Result<void> WriteBatch::iterate(Handler& handler) const {
  std::string_view in(rep_);
  in.remove_prefix(kHeaderSize);
  SequenceNumber seq = sequence();
  uint32_t found = 0;
  while (!in.empty()) {
    auto type = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    std::string_view key, value;
    if (type == static_cast<uint8_t>(ValueType::value)) {
      if (!get_length_prefixed(&in, &key) || !get_length_prefixed(&in, &value)) {
        return make_error_code(Errc::corruption);
      }
      handler.put(seq, key, value);
    } else if (type == static_cast<uint8_t>(ValueType::deletion)) {
      if (!get_length_prefixed(&in, &key)) return make_error_code(Errc::corruption);
      handler.del(seq, key);
    } else {
      return make_error_code(Errc::corruption);
    }
    ++seq;
    ++found;
  }
  if (found != count()) return make_error_code(Errc::corruption);
  return ok();
}

}  // namespace strata
