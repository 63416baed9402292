#include "lib/wal/wal_reader.h"

#include <algorithm>
#include <utility>

#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/logging.h"

namespace strata::wal {

namespace {

uint32_t fragment_length(const char* header) {
  return static_cast<uint8_t>(header[kLengthOffset]) |
         (static_cast<uint32_t>(static_cast<uint8_t>(header[kLengthOffset + 1])) << 8);
}

// The CRC a fragment should carry, computed over type | log_number | payload.
// REQUIRES: header[0, kHeaderSize + length) is readable.
uint32_t computed_crc(const char* header, uint32_t length) {
  return crc32c::value(header + kTypeOffset, kCrcCoveredHeaderBytes + length);
}

bool all_zero(const char* p, size_t n) {
  return std::all_of(p, p + n, [](char c) { return c == '\0'; });
}

}  // namespace

const char* WalReader::reason_name(Stop::Reason reason) {
  switch (reason) {
    case Stop::clean_end: return "clean_end";
    case Stop::zeros: return "zeros";
    case Stop::torn_tail: return "torn_tail";
    case Stop::checksum_mismatch: return "checksum_mismatch";
    case Stop::bad_record: return "bad_record";
    case Stop::wrong_log_number: return "wrong_log_number";
  }
  return "?";
}

WalReader::WalReader(io::File& file, uint64_t log_number)
    : file_(file), log_number_(static_cast<uint32_t>(log_number)), block_(kBlockSize) {}

void WalReader::set_stop(Stop::Reason reason, uint64_t offset, uint64_t physical_offset) {
  STRATA_ASSERT(!stop_);
  stop_ = Stop{reason, offset};
  physical_stop_offset_ = physical_offset;
  if (reason == Stop::clean_end || reason == Stop::zeros) {
    STRATA_LOG(debug, "wal: %s: end of log (%s) at offset %llu", file_.path().c_str(), reason_name(reason),
               static_cast<unsigned long long>(offset));
  } else {
    STRATA_LOG(warn, "wal: %s: reading stopped (%s) at offset %llu; last whole record ends at %llu",
               file_.path().c_str(), reason_name(reason), static_cast<unsigned long long>(offset),
               static_cast<unsigned long long>(last_record_end_offset_));
  }
}

asio::awaitable<Result<size_t>> WalReader::read_block(uint64_t block_offset, std::vector<char>* block) {
  STRATA_ASSERT(block->size() == kBlockSize);
  size_t done = 0;
  while (done < kBlockSize) {
    std::span<char> rest(block->data() + done, kBlockSize - done);
    Result<size_t> n = co_await file_.read_at(block_offset + done, rest);
    if (!n) {
      STRATA_LOG(warn, "wal: %s: read at offset %llu failed: %s", file_.path().c_str(),
                 static_cast<unsigned long long>(block_offset + done), n.error().message().c_str());
      co_return n.error();
    }
    if (*n == 0) break;  // end of file
    STRATA_ASSERT(*n <= rest.size());
    done += *n;
  }
  co_return done;
}

asio::awaitable<Result<WalReader::Fragment>> WalReader::read_fragment(RecordType* type, std::string_view* payload,
                                                                      uint64_t* fragment_offset) {
  for (;;) {
    if (!block_loaded_) {
      Result<size_t> n = co_await read_block(block_start_, &block_);
      if (!n) co_return n.error();
      block_len_ = *n;
      block_pos_ = 0;
      block_loaded_ = true;
    }
    STRATA_ASSERT(block_pos_ <= block_len_ && block_len_ <= kBlockSize);
    const size_t remaining = block_len_ - block_pos_;
    const uint64_t offset = block_start_ + block_pos_;
    if (remaining < kHeaderSize) {
      if (block_len_ == kBlockSize) {
        // The trailer of a full block: the next fragment starts the next block.
        block_start_ += kBlockSize;
        block_loaded_ = false;
        continue;
      }
      // The file ends in this block.
      if (remaining == 0 && !in_fragmented_record_) {
        set_stop(Stop::clean_end, offset);
      } else {
        set_stop(Stop::torn_tail, in_fragmented_record_ ? record_start_offset_ : offset, offset);
      }
      co_return Fragment::stopped;
    }

    const char* header = block_.data() + block_pos_;
    if (all_zero(header, kHeaderSize)) {
      set_stop(Stop::zeros, offset);
      co_return Fragment::stopped;
    }
    const uint32_t length = fragment_length(header);
    if (kHeaderSize + length > kBlockSize - block_pos_) {
      STRATA_LOG(warn, "wal: %s: fragment at offset %llu has length %u past its block", file_.path().c_str(),
                 static_cast<unsigned long long>(offset), length);
      set_stop(Stop::bad_record, offset);
      co_return Fragment::stopped;
    }
    if (kHeaderSize + length > remaining) {
      // Only possible in the last, partial block: the file ends inside the payload.
      set_stop(Stop::torn_tail, in_fragmented_record_ ? record_start_offset_ : offset, offset);
      co_return Fragment::stopped;
    }
    const uint32_t expected_crc = crc32c::unmask(decode_fixed32(header + kCrcOffset));
    const uint32_t actual_crc = computed_crc(header, length);
    if (expected_crc != actual_crc) {
      STRATA_LOG(warn,
                 "wal: %s: checksum mismatch in fragment at offset %llu (length %u): expected crc %08x, actual %08x",
                 file_.path().c_str(), static_cast<unsigned long long>(offset), length, expected_crc, actual_crc);
      set_stop(Stop::checksum_mismatch, offset);
      co_return Fragment::stopped;
    }
    const uint32_t log_number = decode_fixed32(header + kLogNumberOffset);
    if (log_number != log_number_) {
      STRATA_LOG(warn, "wal: %s: fragment at offset %llu belongs to log %u, expected log %u", file_.path().c_str(),
                 static_cast<unsigned long long>(offset), log_number, log_number_);
      set_stop(Stop::wrong_log_number, offset);
      co_return Fragment::stopped;
    }
    const uint8_t raw_type = static_cast<uint8_t>(header[kTypeOffset]);
    if (raw_type == 0 || raw_type > kMaxRecordType) {
      STRATA_LOG(warn, "wal: %s: fragment at offset %llu has bad type %u", file_.path().c_str(),
                 static_cast<unsigned long long>(offset), raw_type);
      set_stop(Stop::bad_record, offset);
      co_return Fragment::stopped;
    }
    *type = static_cast<RecordType>(raw_type);
    *payload = std::string_view(header + kHeaderSize, length);
    *fragment_offset = offset;
    block_pos_ += kHeaderSize + length;
    co_return Fragment::ok;
  }
}

asio::awaitable<Result<std::optional<std::string>>> WalReader::read_record() {
  for (;;) {
    if (stop_) co_return std::optional<std::string>();
    RecordType type = RecordType::zero;
    std::string_view payload;
    uint64_t offset = 0;
    Result<Fragment> fragment = co_await read_fragment(&type, &payload, &offset);
    if (!fragment) co_return fragment.error();
    if (*fragment == Fragment::stopped) continue;  // stop_ is set

    const uint64_t end = offset + kHeaderSize + payload.size();
    const bool starts_record = type == RecordType::full || type == RecordType::first;
    if (starts_record == in_fragmented_record_) {
      STRATA_LOG(warn, "wal: %s: fragment of type %u at offset %llu is out of order (%s a record)",
                 file_.path().c_str(), static_cast<unsigned>(type), static_cast<unsigned long long>(offset),
                 in_fragmented_record_ ? "inside" : "outside");
      set_stop(Stop::bad_record, offset);
      continue;
    }
    if (record_.size() + payload.size() > kMaxRecordBytes) {
      STRATA_LOG(warn, "wal: %s: record starting at offset %llu exceeds %zu bytes", file_.path().c_str(),
                 static_cast<unsigned long long>(record_start_offset_), kMaxRecordBytes);
      set_stop(Stop::bad_record, offset);
      continue;
    }
    switch (type) {
      case RecordType::full: last_record_end_offset_ = end; co_return std::optional<std::string>(std::string(payload));
      case RecordType::first:
        record_.assign(payload);
        in_fragmented_record_ = true;
        record_start_offset_ = offset;
        break;
      case RecordType::middle: record_.append(payload); break;
      case RecordType::last: {
        record_.append(payload);
        in_fragmented_record_ = false;
        last_record_end_offset_ = end;
        std::string out = std::move(record_);
        record_.clear();
        co_return std::optional<std::string>(std::move(out));
      }
      case RecordType::zero: STRATA_ASSERT(false);  // read_fragment never returns type 0
    }
  }
}

bool WalReader::fragment_valid_at(const char* block, size_t block_len, size_t pos) const {
  if (pos + kHeaderSize > block_len) return false;
  const char* header = block + pos;
  const uint8_t raw_type = static_cast<uint8_t>(header[kTypeOffset]);
  if (raw_type == 0 || raw_type > kMaxRecordType) return false;
  if (decode_fixed32(header + kLogNumberOffset) != log_number_) return false;
  const uint32_t length = fragment_length(header);
  if (pos + kHeaderSize + length > block_len) return false;
  return crc32c::unmask(decode_fixed32(header + kCrcOffset)) == computed_crc(header, length);
}

asio::awaitable<Result<std::optional<uint64_t>>> WalReader::find_valid_fragment_after_stop() {
  STRATA_ASSERT(stop_);
  // Start past the fragment where reading physically stopped: for a torn FIRST..LAST record,
  // stop_->offset is the record's start and its earlier fragments are valid.
  const uint64_t from = physical_stop_offset_ + 1;
  std::vector<char> block(kBlockSize);
  uint64_t block_start = from / kBlockSize * kBlockSize;
  size_t pos = from - block_start;
  for (;;) {
    Result<size_t> n = co_await read_block(block_start, &block);
    if (!n) co_return n.error();
    const size_t len = *n;
    for (; pos + kHeaderSize <= len; ++pos) {
      if (fragment_valid_at(block.data(), len, pos)) co_return std::optional<uint64_t>(block_start + pos);
    }
    if (len < kBlockSize) co_return std::optional<uint64_t>();
    block_start += kBlockSize;
    pos = 0;
  }
}

}  // namespace strata::wal
