// PosixFileSystem: the io::FileSystem fallback for hosts where io_uring is unavailable
// (kernel.io_uring_disabled set, seccomp in containers). Each blocking syscall (pread, pwrite,
// fdatasync, fallocate, open, rename, ...) runs on an internal asio::thread_pool; the awaiting
// coroutine is then resumed on its own executor (the executor associated with its completion
// handler), never on a pool thread. While an operation runs, outstanding work is counted on the
// caller's executor, so io_context::run() does not return under it.
//
// Invariants: at most `pool_threads` syscalls run at once; the pool never runs engine code.
// Thread-safety: all FileSystem methods are safe from any thread; File follows file_system.h
// (concurrent reads fine, writes serialized by the caller).
// Lifetime: every File must be destroyed before the PosixFileSystem; the PosixFileSystem must be
// destroyed (or shutdown()) before the io_context(s) its callers run on, because a completing
// operation posts to the caller's executor. Destruction joins the pool, i.e. waits for the
// syscalls in flight.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <cstddef>

#include "lib/io/file_system.h"

namespace strata::io {

class PosixFileSystem final : public FileSystem {
 public:
  struct Options {
    size_t pool_threads = 2;  // threads that run blocking syscalls
  };

  PosixFileSystem();
  explicit PosixFileSystem(Options options);
  ~PosixFileSystem() override;  // calls shutdown()

  // Waits for the syscalls in flight and stops the pool. Operations started afterwards never
  // complete, so call it only when no caller is left. Idempotent.
  void shutdown();

  asio::awaitable<Result<std::unique_ptr<File>>> open(std::string path, OpenOptions options) override;
  asio::awaitable<Result<void>> rename(std::string from, std::string to) override;
  asio::awaitable<Result<void>> remove(std::string path) override;
  asio::awaitable<Result<void>> create_dir(std::string path) override;
  asio::awaitable<Result<std::vector<std::string>>> list_dir(std::string path) override;
  asio::awaitable<Result<void>> sync_dir(std::string path) override;
  asio::awaitable<Result<bool>> exists(std::string path) override;
  Result<std::unique_ptr<FileLock>> lock(std::string path) override;  // runs inline (flock LOCK_NB)

 private:
  asio::thread_pool pool_;
};

}  // namespace strata::io
