// io::DirectFile: reads of a file opened with O_DIRECT (OpenOptions::direct), which bypass the
// OS page cache (RocksDB's use_direct_reads). O_DIRECT requires the file offset, the length and
// the buffer of every read to be aligned to the device's logical block size; the engine's reads
// (a block handle's offset and size) are not. DirectFile widens each read to the aligned range
// that covers it, reads that into an aligned bounce buffer through the wrapped file, and copies
// the requested bytes out (the copy of a 4 KiB block costs far less than the device read).
//
// The wrapped file must stop at a short read (its end of file) instead of reading on from an
// unaligned offset: the uring and posix files do when opened with `direct`.
// read_cached() answers nullopt (nothing is cached, by design) and map() not_supported, so the
// SSTable reader takes the block cache and the ring for every block. Writes go to the wrapped
// file unchanged (SSTables are opened for reading only).
// Thread-safety: as the wrapped file's; the bounce buffers are per call.
#pragma once

#include <memory>

#include "lib/io/file_system.h"

namespace strata::io {

// Alignment of offsets, lengths and buffers of direct reads: 4 KiB, a multiple of every logical
// block size Linux supports on the devices this runs on (512 and 4096).
constexpr uint64_t kDirectReadAlignment = 4096;

class DirectFile final : public File {
 public:
  explicit DirectFile(std::unique_ptr<File> base) : base_(std::move(base)) {}

  asio::awaitable<Result<size_t>> read_at(uint64_t offset, std::span<char> buf) override;
  Result<std::optional<size_t>> read_cached(uint64_t, std::span<char>) override { return std::nullopt; }
  Result<std::shared_ptr<const Mapping>> map(uint64_t) override { return make_error_code(Errc::not_supported); }
  asio::awaitable<Result<void>> write_at(uint64_t offset, std::string_view data) override {
    return base_->write_at(offset, data);
  }
  asio::awaitable<Result<void>> sync() override { return base_->sync(); }
  asio::awaitable<Result<void>> truncate(uint64_t size) override { return base_->truncate(size); }
  asio::awaitable<Result<void>> preallocate(uint64_t size) override { return base_->preallocate(size); }
  Result<uint64_t> size() const override { return base_->size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<File> base_;
};

}  // namespace strata::io
