#include "lib/wal/wal_writer.h"

#include <algorithm>
#include <utility>

#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/logging.h"

namespace strata::wal {

WalWriter::WalWriter(std::unique_ptr<io::File> file, uint64_t log_number, uint64_t initial_offset)
    : WalWriter(file.get(), log_number, initial_offset) {
  owned_file_ = std::move(file);
}

WalWriter::WalWriter(io::File* file, uint64_t log_number, uint64_t initial_offset)
    : file_(file),
      log_number_(static_cast<uint32_t>(log_number)),
      offset_(initial_offset),
      block_offset_(initial_offset % kBlockSize) {
  STRATA_ASSERT(file_ != nullptr);
}

Result<void> WalWriter::status() const {
  if (error_) return error_;
  return ok();
}

void WalWriter::add_record(std::string_view payload) {
  STRATA_ASSERT(payload.size() <= kMaxRecordBytes);
  if (error_) return;
  const char* ptr = payload.data();
  size_t left = payload.size();
  bool begin = true;
  // Emits at least one fragment, so an empty payload becomes a FULL fragment of length 0.
  do {
    STRATA_ASSERT(block_offset_ <= kBlockSize);
    const size_t leftover = kBlockSize - block_offset_;
    if (leftover < kHeaderSize) {
      // A header never starts in the last kHeaderSize-1 bytes of a block: pad them with zeros.
      pending_.append(leftover, '\0');
      block_offset_ = 0;
    }
    const size_t avail = kBlockSize - block_offset_ - kHeaderSize;
    const size_t fragment = std::min(left, avail);
    const bool end = fragment == left;
    RecordType type;
    if (begin && end) {
      type = RecordType::full;
    } else if (begin) {
      type = RecordType::first;
    } else if (end) {
      type = RecordType::last;
    } else {
      type = RecordType::middle;
    }
    emit_fragment(type, ptr, fragment);
    ptr += fragment;
    left -= fragment;
    begin = false;
  } while (left > 0);
}

void WalWriter::emit_fragment(RecordType type, const char* data, size_t n) {
  STRATA_ASSERT(n <= kMaxFragmentPayload);
  STRATA_ASSERT(block_offset_ + kHeaderSize + n <= kBlockSize);
  char header[kHeaderSize];
  header[kLengthOffset] = static_cast<char>(n & 0xff);
  header[kLengthOffset + 1] = static_cast<char>(n >> 8);
  header[kTypeOffset] = static_cast<char>(type);
  encode_fixed32(header + kLogNumberOffset, log_number_);
  uint32_t crc = crc32c::value(header + kTypeOffset, kCrcCoveredHeaderBytes);
  crc = crc32c::extend(crc, data, n);
  encode_fixed32(header + kCrcOffset, crc32c::mask(crc));
  pending_.append(header, kHeaderSize);
  pending_.append(data, n);
  block_offset_ += kHeaderSize + n;
}

asio::awaitable<Result<void>> WalWriter::flush(bool sync) {
  STRATA_ASSERT(!io_in_flight_);
  if (error_) co_return error_;
  if (pending_.empty()) {
    if (!sync || !unsynced_) co_return ok();
    io_in_flight_ = true;
    Result<void> s = co_await file_->sync();
    io_in_flight_ = false;
    if (!s) {
      error_ = s.error();
      STRATA_LOG(error, "wal: %s: sync failed at offset %llu: %s; the writer is poisoned", file_->path().c_str(),
                 static_cast<unsigned long long>(offset_), error_.message().c_str());
      co_return error_;
    }
    unsynced_ = false;
    co_return ok();
  }

  // Swap buffers so add_record() can keep framing into pending_ while this write is suspended.
  STRATA_ASSERT(in_flight_.empty());
  std::swap(pending_, in_flight_);
  io_in_flight_ = true;
  const std::string_view data(in_flight_);
  Result<void> w;
  Result<bool> inline_written = false;
  if (!sync && data.size() <= kInlineWriteMaxBytes) inline_written = file_->write_inline(offset_, data);
  if (!inline_written) {
    w = inline_written.error();
  } else if (*inline_written) {
    w = ok();
  } else if (sync) {
    w = co_await file_->write_and_sync(offset_, data);
  } else {
    w = co_await file_->write_at(offset_, data);
  }
  io_in_flight_ = false;
  if (!w) {
    error_ = w.error();
    STRATA_LOG(error, "wal: %s: %s of %zu bytes at offset %llu failed: %s; the writer is poisoned",
               file_->path().c_str(), sync ? "write+sync" : "write", data.size(),
               static_cast<unsigned long long>(offset_), error_.message().c_str());
    co_return error_;
  }
  offset_ += in_flight_.size();
  in_flight_.clear();  // keeps its capacity for the next swap
  unsynced_ = !sync;
  co_return ok();
}

asio::awaitable<Result<void>> WalWriter::preallocate(uint64_t file_size_bytes) {
  STRATA_ASSERT(!io_in_flight_);
  if (error_) co_return error_;
  io_in_flight_ = true;
  Result<void> r = co_await file_->preallocate(file_size_bytes);
  io_in_flight_ = false;
  if (!r) {
    STRATA_LOG(warn, "wal: %s: preallocate to %llu bytes failed: %s", file_->path().c_str(),
               static_cast<unsigned long long>(file_size_bytes), r.error().message().c_str());
  }
  co_return r;
}

asio::awaitable<Result<void>> WalWriter::write_zeros(uint64_t from, uint64_t to) {
  STRATA_ASSERT(!io_in_flight_);
  STRATA_ASSERT(offset_ + pending_.size() <= from && from <= to);
  if (error_) co_return error_;
  constexpr size_t kChunk = 256 << 10;
  static const std::string zeros(kChunk, '\0');
  io_in_flight_ = true;
  Result<void> r = ok();
  for (uint64_t at = from; at < to && r; at += kChunk) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(to - at, kChunk));
    r = co_await file_->write_at(at, std::string_view(zeros).substr(0, n));
  }
  io_in_flight_ = false;
  if (!r) {
    STRATA_LOG(warn, "wal: %s: writing zeros to [%llu, %llu) failed: %s", file_->path().c_str(),
               static_cast<unsigned long long>(from), static_cast<unsigned long long>(to), r.error().message().c_str());
  }
  co_return r;
}

}  // namespace strata::wal
