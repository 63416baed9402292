// FileView: a read-only window onto a File starting at a fixed offset, so that a WalReader can
// read the tail of a log from a block boundary (used by recovery to look for valid records far
// past a damaged one).
// Thread-safety: as the underlying File. REQUIRES: the File outlives the view.
#pragma once

#include "lib/io/file_system.h"

namespace strata::wal {

class FileView final : public io::File {
 public:
  FileView(io::File& file, uint64_t start) : file_(file), start_(start) {}

  asio::awaitable<Result<size_t>> read_at(uint64_t offset, std::span<char> buf) override {
    co_return co_await file_.read_at(start_ + offset, buf);
  }
  asio::awaitable<Result<void>> write_at(uint64_t, std::string_view) override {
    co_return make_error_code(Errc::invalid_argument);
  }
  asio::awaitable<Result<void>> sync() override { co_return make_error_code(Errc::invalid_argument); }
  asio::awaitable<Result<void>> truncate(uint64_t) override { co_return make_error_code(Errc::invalid_argument); }
  asio::awaitable<Result<void>> preallocate(uint64_t) override { co_return make_error_code(Errc::invalid_argument); }
  Result<uint64_t> size() const override {
    auto s = file_.size();
    if (!s) return s.error();
    return *s > start_ ? *s - start_ : uint64_t{0};
  }
  const std::string& path() const override { return file_.path(); }

 private:
  io::File& file_;
  uint64_t start_;
};

}  // namespace strata::wal
