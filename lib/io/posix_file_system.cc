#include "lib/io/posix_file_system.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <cerrno>
#include <type_traits>

#include "lib/io/direct_file.h"
#include "lib/io/posix_util.h"

namespace strata::io {
namespace {

// Runs `fn` (a blocking call returning R) on `pool` and completes the awaiting coroutine with its
// result on the coroutine's own executor.
//
// `co_await asio::post(pool, use_awaitable)` would not do: the coroutine resumes through its own
// executor, so the blocking call would still run there. Instead the initiation posts the call to
// the pool and dispatches the completion handler to its associated executor, holding outstanding
// work on that executor while the call runs.
//
// Not a coroutine itself: it returns the awaitable made by async_initiate. Callers bind it to a
// named variable before co_await (g++ 12 coroutine bugs, see STYLE.md).
template <class Fn, class R = std::invoke_result_t<Fn>>
asio::awaitable<R> run_blocking(asio::thread_pool& pool, Fn fn) {
  auto initiate = [&pool](auto handler, Fn f) {
    auto work = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    asio::post(pool, [h = std::move(handler), f = std::move(f), work = std::move(work)]() mutable {
      R result = f();
      auto ex = work;
      asio::dispatch(ex, [h = std::move(h), result = std::move(result), work = std::move(work)]() mutable {
        std::move(h)(std::move(result));
      });
    });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(R)>(initiate, asio::use_awaitable, std::move(fn));
}

// direct: the file was opened with O_DIRECT, where a short read is the end of the file and
// reading on from an unaligned offset would fail (see direct_file.h).
Result<size_t> pread_full(int fd, uint64_t offset, std::span<char> buf, const std::string& path, bool direct) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return detail::io_error(errno, "pread", path);
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
    if (direct && done < buf.size()) break;
  }
  return done;
}

// fdatasync (data_only) or fsync. Never retried on failure, not even on EINTR: the kernel may
// have dropped the dirty pages already.
Result<void> sync_fd(int fd, bool data_only, const std::string& path) {
  int rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
  if (rc != 0) return detail::io_error(errno, data_only ? "fdatasync" : "fsync", path);
  return ok();
}

Result<void> preallocate_fd(int fd, uint64_t size, const std::string& path) {
  int rc;
  do {
    rc = ::fallocate(fd, 0, 0, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return ok();
  if (errno == EOPNOTSUPP) return detail::extend_with_zeros(fd, size, path);
  return detail::io_error(errno, "fallocate", path);
}

class PosixFile final : public File {
 public:
  PosixFile(asio::thread_pool& pool, int fd, std::string path, bool read_only, bool direct)
      : pool_(pool), fd_(fd), path_(std::move(path)), read_only_(read_only), direct_(direct) {}
  ~PosixFile() override { ::close(fd_); }

  asio::awaitable<Result<size_t>> read_at(uint64_t offset, std::span<char> buf) override {
    auto op =
        run_blocking(pool_, [fd = fd_, offset, buf, this] { return pread_full(fd, offset, buf, path_, direct_); });
    co_return co_await std::move(op);
  }

  Result<std::optional<size_t>> read_cached(uint64_t offset, std::span<char> buf) override {
    return detail::pread_nowait(fd_, offset, buf, path_, &nowait_supported_);
  }

  Result<std::shared_ptr<const Mapping>> map(uint64_t size) override { return detail::map_fd(fd_, size, path_); }

  asio::awaitable<Result<void>> write_at(uint64_t offset, std::string_view data) override {
    if (read_only_) co_return make_error_code(Errc::invalid_argument);
    auto op =
        run_blocking(pool_, [fd = fd_, offset, data, this] { return detail::pwrite_full(fd, offset, data, path_); });
    co_return co_await std::move(op);
  }

  Result<bool> write_inline(uint64_t offset, std::string_view data) override {
    if (read_only_) return Result<bool>(boost::system::in_place_error, make_error_code(Errc::invalid_argument));
    auto w = detail::pwrite_full(fd_, offset, data, path_);
    if (!w) return Result<bool>(boost::system::in_place_error, w.error());
    return true;
  }

  asio::awaitable<Result<void>> sync() override {
    auto op = run_blocking(pool_, [fd = fd_, this] { return sync_fd(fd, true, path_); });
    co_return co_await std::move(op);
  }

  // One pool round trip for both, the closest equivalent of the linked io_uring operations.
  asio::awaitable<Result<void>> write_and_sync(uint64_t offset, std::string_view data) override {
    if (read_only_) co_return make_error_code(Errc::invalid_argument);
    auto op = run_blocking(pool_, [fd = fd_, offset, data, this]() -> Result<void> {
      auto w = detail::pwrite_full(fd, offset, data, path_);
      if (!w) return w;
      return sync_fd(fd, true, path_);
    });
    co_return co_await std::move(op);
  }

  asio::awaitable<Result<void>> truncate(uint64_t size) override {
    if (read_only_) co_return make_error_code(Errc::invalid_argument);
    auto op = run_blocking(pool_, [fd = fd_, size, this] { return detail::truncate(fd, size, path_); });
    co_return co_await std::move(op);
  }

  asio::awaitable<Result<void>> preallocate(uint64_t size) override {
    if (read_only_) co_return make_error_code(Errc::invalid_argument);
    auto op = run_blocking(pool_, [fd = fd_, size, this] { return preallocate_fd(fd, size, path_); });
    co_return co_await std::move(op);
  }

  Result<uint64_t> size() const override { return detail::fd_size(fd_, path_); }

  const std::string& path() const override { return path_; }

 private:
  asio::thread_pool& pool_;
  int fd_;
  std::string path_;
  bool read_only_;
  bool direct_;
  std::atomic<bool> nowait_supported_{true};  // cleared when the kernel refuses RWF_NOWAIT
};

}  // namespace

PosixFileSystem::PosixFileSystem() : PosixFileSystem(Options{}) {}
PosixFileSystem::PosixFileSystem(Options options) : pool_(options.pool_threads) {}
PosixFileSystem::~PosixFileSystem() { shutdown(); }

void PosixFileSystem::shutdown() { pool_.join(); }

asio::awaitable<Result<std::unique_ptr<File>>> PosixFileSystem::open(std::string path, OpenOptions options) {
  auto op = run_blocking(pool_, [&path, options]() -> Result<int> {
    int fd;
    do {
      fd = ::open(path.c_str(), detail::open_flags(options), detail::kFileMode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return detail::io_error(errno, "open", path);
    return fd;
  });
  auto fd = co_await std::move(op);
  if (!fd) co_return fd.error();
  std::unique_ptr<File> file =
      std::make_unique<PosixFile>(pool_, *fd, std::move(path), options.read_only, options.direct);
  if (options.direct) file = std::make_unique<DirectFile>(std::move(file));
  co_return file;
}

asio::awaitable<Result<void>> PosixFileSystem::rename(std::string from, std::string to) {
  auto op = run_blocking(pool_, [&from, &to]() -> Result<void> {
    if (::rename(from.c_str(), to.c_str()) != 0) return detail::io_error(errno, "rename", from + " -> " + to);
    return ok();
  });
  co_return co_await std::move(op);
}

asio::awaitable<Result<void>> PosixFileSystem::remove(std::string path) {
  auto op = run_blocking(pool_, [&path]() -> Result<void> {
    if (::unlink(path.c_str()) != 0) return detail::io_error(errno, "unlink", path);
    return ok();
  });
  co_return co_await std::move(op);
}

asio::awaitable<Result<void>> PosixFileSystem::create_dir(std::string path) {
  auto op = run_blocking(pool_, [&path] { return detail::create_dir(path); });
  co_return co_await std::move(op);
}

asio::awaitable<Result<std::vector<std::string>>> PosixFileSystem::list_dir(std::string path) {
  auto op = run_blocking(pool_, [&path] { return detail::list_dir(path); });
  co_return co_await std::move(op);
}

asio::awaitable<Result<void>> PosixFileSystem::sync_dir(std::string path) {
  auto op = run_blocking(pool_, [&path]() -> Result<void> {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return detail::io_error(errno, "open dir", path);
    auto r = sync_fd(fd, false, path);
    ::close(fd);
    return r;
  });
  co_return co_await std::move(op);
}

asio::awaitable<Result<bool>> PosixFileSystem::exists(std::string path) {
  auto op = run_blocking(pool_, [&path] { return detail::exists(path); });
  co_return co_await std::move(op);
}

Result<std::unique_ptr<FileLock>> PosixFileSystem::lock(std::string path) { return detail::lock_file(path); }

}  // namespace strata::io
