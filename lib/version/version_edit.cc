#include "lib/version/version_edit.h"

#include "lib/util/coding.h"

namespace strata {

const void* TablePin::pin(std::shared_ptr<const void> owner) const {
  std::lock_guard lock(mu_);
  if (owner_ == nullptr) {
    owner_ = std::move(owner);
    ptr_.store(owner_.get(), std::memory_order_release);
  }
  return owner_.get();
}
namespace {

// Tags of the manifest record fields; never reuse a number.
enum Tag : uint32_t {
  kLogNumber = 1,
  kNextFileNumber = 2,
  kLastSequence = 3,
  kDeletedFile = 4,
  kNewFile = 5,
};

bool get_level(std::string_view* in, int* level) {
  uint32_t v = 0;
  if (!get_varint32(in, &v) || v >= static_cast<uint32_t>(kNumLevels)) return false;
  *level = static_cast<int>(v);
  return true;
}

bool get_internal_key(std::string_view* in, std::string* out) {
  std::string_view s;
  if (!get_length_prefixed(in, &s) || s.size() < kTagSize) return false;
  out->assign(s);
  return true;
}

}  // namespace

std::string VersionEdit::encode() const {
  std::string out;
  if (log_number) {
    put_varint32(&out, kLogNumber);
    put_varint64(&out, *log_number);
  }
  if (next_file_number) {
    put_varint32(&out, kNextFileNumber);
    put_varint64(&out, *next_file_number);
  }
  if (last_sequence) {
    put_varint32(&out, kLastSequence);
    put_varint64(&out, *last_sequence);
  }
  for (const auto& [level, number] : deleted_files) {
    put_varint32(&out, kDeletedFile);
    put_varint32(&out, static_cast<uint32_t>(level));
    put_varint64(&out, number);
  }
  for (const auto& [level, f] : new_files) {
    put_varint32(&out, kNewFile);
    put_varint32(&out, static_cast<uint32_t>(level));
    put_varint64(&out, f.number);
    put_varint64(&out, f.file_size);
    put_length_prefixed(&out, f.smallest);
    put_length_prefixed(&out, f.largest);
    put_varint64(&out, f.smallest_seq);
    put_varint64(&out, f.largest_seq);
    put_varint64(&out, f.num_entries);
  }
  return out;
}

Result<VersionEdit> VersionEdit::decode(std::string_view in) {
  VersionEdit e;
  const auto corrupt = make_error_code(Errc::corruption);
  while (!in.empty()) {
    uint32_t tag = 0;
    if (!get_varint32(&in, &tag)) return corrupt;
    uint64_t v = 0;
    switch (tag) {
      case kLogNumber:
        if (!get_varint64(&in, &v)) return corrupt;
        e.log_number = v;
        break;
      case kNextFileNumber:
        if (!get_varint64(&in, &v)) return corrupt;
        e.next_file_number = v;
        break;
      case kLastSequence:
        if (!get_varint64(&in, &v) || v > kMaxSequenceNumber) return corrupt;
        e.last_sequence = v;
        break;
      case kDeletedFile: {
        int level = 0;
        if (!get_level(&in, &level) || !get_varint64(&in, &v)) return corrupt;
        e.deleted_files.emplace_back(level, v);
        break;
      }
      case kNewFile: {
        int level = 0;
        FileMetaData f;
        if (!get_level(&in, &level) || !get_varint64(&in, &f.number) || !get_varint64(&in, &f.file_size) ||
            !get_internal_key(&in, &f.smallest) || !get_internal_key(&in, &f.largest) ||
            !get_varint64(&in, &f.smallest_seq) || !get_varint64(&in, &f.largest_seq) ||
            !get_varint64(&in, &f.num_entries)) {
          return corrupt;
        }
        e.new_files.emplace_back(level, std::move(f));
        break;
      }
      default: return corrupt;
    }
  }
  return e;
}

}  // namespace strata
