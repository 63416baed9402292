// YieldingFileSystem: a test io::FileSystem over another one whose files have no page cache to
// read from (read_cached always refuses) and whose read_at suspends the caller for one turn of
// its executor before reading, as an io_uring read does. With it, a DB read that needs a block
// from a file really suspends, so tests can tell the in-memory fast path from the I/O path.
// Thread-safety: as the base file system.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "lib/io/file_system.h"

namespace strata::testing {

class YieldingFileSystem final : public io::FileSystem {
 public:
  explicit YieldingFileSystem(io::FileSystem& base) : base_(base) {}

  // Reads that reached read_at (and so suspended).
  uint64_t file_reads() const { return reads_->load(); }

  boost::asio::awaitable<Result<std::unique_ptr<io::File>>> open(std::string path, io::OpenOptions options) override {
    auto f = co_await base_.open(std::move(path), options);
    if (!f) co_return f.error();
    std::unique_ptr<io::File> file = std::make_unique<YieldingFile>(std::move(*f), reads_);
    co_return file;
  }
  boost::asio::awaitable<Result<void>> rename(std::string from, std::string to) override {
    co_return co_await base_.rename(std::move(from), std::move(to));
  }
  boost::asio::awaitable<Result<void>> remove(std::string path) override {
    co_return co_await base_.remove(std::move(path));
  }
  boost::asio::awaitable<Result<void>> create_dir(std::string path) override {
    co_return co_await base_.create_dir(std::move(path));
  }
  boost::asio::awaitable<Result<std::vector<std::string>>> list_dir(std::string path) override {
    co_return co_await base_.list_dir(std::move(path));
  }
  boost::asio::awaitable<Result<void>> sync_dir(std::string path) override {
    co_return co_await base_.sync_dir(std::move(path));
  }
  boost::asio::awaitable<Result<bool>> exists(std::string path) override {
    co_return co_await base_.exists(std::move(path));
  }
  Result<std::unique_ptr<io::FileLock>> lock(std::string path) override { return base_.lock(std::move(path)); }

 private:
  class YieldingFile final : public io::File {
   public:
    YieldingFile(std::unique_ptr<io::File> base, std::shared_ptr<std::atomic<uint64_t>> reads)
        : base_(std::move(base)), reads_(std::move(reads)) {}
    boost::asio::awaitable<Result<size_t>> read_at(uint64_t offset, std::span<char> buf) override {
      reads_->fetch_add(1);
      auto ex = co_await boost::asio::this_coro::executor;
      co_await boost::asio::post(ex, boost::asio::use_awaitable);
      co_return co_await base_->read_at(offset, buf);
    }
    boost::asio::awaitable<Result<void>> write_at(uint64_t offset, std::string_view data) override {
      co_return co_await base_->write_at(offset, data);
    }
    boost::asio::awaitable<Result<void>> sync() override { co_return co_await base_->sync(); }
    boost::asio::awaitable<Result<void>> truncate(uint64_t size) override { co_return co_await base_->truncate(size); }
    boost::asio::awaitable<Result<void>> preallocate(uint64_t size) override {
      co_return co_await base_->preallocate(size);
    }
    Result<uint64_t> size() const override { return base_->size(); }
    const std::string& path() const override { return base_->path(); }

   private:
    std::unique_ptr<io::File> base_;
    std::shared_ptr<std::atomic<uint64_t>> reads_;
  };

  io::FileSystem& base_;
  std::shared_ptr<std::atomic<uint64_t>> reads_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace strata::testing
