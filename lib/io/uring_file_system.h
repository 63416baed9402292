// UringFileSystem: the production io::FileSystem, on one io_uring ring (liburing) per instance.
//
// Submission: any thread prepares its SQE(s) under a mutex and calls io_uring_submit (a full SQ is
// submitted and the preparation retried). Reads are the exception: their SQEs wait for a flush
// posted to the ring executor, so that the reads issued in one executor turn (many coroutines'
// gets, a multi_get) enter the kernel with one io_uring_enter and reach the device as one batch.
// The flush runs after the handlers queued before it; any other operation submits them along. Completion: an eventfd
// registered with the ring is watched by an asio::posix::stream_descriptor on the executor given at creation (the "ring
// executor"); when it is readable, every available CQE is reaped and each operation's result is
// handed to its awaiting coroutine through a strata::Oneshot<int>, which resumes the coroutine on
// ITS OWN executor (the one associated with its completion handler), not on the ring executor.
// The eventfd wait is armed only while operations are in flight, so an io_context with nothing
// else to do returns from run() even though a UringFileSystem exists.
//
// Through io_uring: read, write (short writes continued), fdatasync, linked write+fdatasync
// (write_and_sync), openat, renameat, unlinkat, mkdirat, fallocate, and the open+fsync of a
// directory (sync_dir). Plain syscalls (cheap, not worth a ring round trip, or without a liburing
// 2.3 prep function): close, ftruncate, fstat (size), stat (exists), opendir/readdir (list_dir),
// flock (lock).
//
// Invariants: every SQE submitted carries a heap-allocated Oneshot<int> in user_data that is set
// and freed exactly once, when its CQE is reaped; the in-flight count equals the number of SQEs
// submitted and not yet reaped.
//
// Thread-safety: all FileSystem methods are safe from any thread, and so is shutdown(); File
// follows file_system.h (concurrent reads fine, writes serialized by the caller).
// Lifetime / shutdown order: the ring state is shared (shared_ptr) by the UringFileSystem, its
// Files and the pending eventfd handler, so no handler ever touches a dead object. Required order:
//   1. stop issuing operations (close the DB);
//   2. destroy the Files, then the UringFileSystem (or call shutdown() first) — shutdown() blocks
//      until the operations still in flight complete, completes them, and cancels the eventfd
//      wait; operations started afterwards fail with Errc::shutting_down;
//   3. only then destroy the io_context(s) of the ring executor and of the callers (a completing
//      operation posts to its caller's executor; the descriptor belongs to the ring executor).
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>

#include "lib/io/file_system.h"

namespace strata::io {

namespace detail {
class UringRing;
}  // namespace detail

class UringFileSystem final : public FileSystem {
 public:
  struct Options {
    unsigned queue_depth = 256;  // SQ entries (CQ gets twice as many); a power of two
  };

  // Creates the ring and registers its eventfd; the eventfd is watched on `ex`.
  // Errors: not_supported when io_uring is unavailable (ENOSYS, EPERM from seccomp or
  // kernel.io_uring_disabled, or a kernel without IORING_FEAT_NODROP), io_error otherwise.
  static Result<std::unique_ptr<UringFileSystem>> create(asio::any_io_executor ex, Options options);
  static Result<std::unique_ptr<UringFileSystem>> create(asio::any_io_executor ex);

  ~UringFileSystem() override;  // calls shutdown()

  // Blocks until the operations in flight complete (their coroutines are resumed on their own
  // executors as usual), then cancels the eventfd wait. Later operations on this file system or
  // its Files fail with Errc::shutting_down. Idempotent; safe from any thread, including a thread
  // of the ring executor.
  void shutdown();

  asio::awaitable<Result<std::unique_ptr<File>>> open(std::string path, OpenOptions options) override;
  asio::awaitable<Result<void>> rename(std::string from, std::string to) override;
  asio::awaitable<Result<void>> remove(std::string path) override;
  asio::awaitable<Result<void>> create_dir(std::string path) override;
  asio::awaitable<Result<std::vector<std::string>>> list_dir(std::string path) override;
  asio::awaitable<Result<void>> sync_dir(std::string path) override;
  asio::awaitable<Result<bool>> exists(std::string path) override;
  Result<std::unique_ptr<FileLock>> lock(std::string path) override;

 private:
  explicit UringFileSystem(std::shared_ptr<detail::UringRing> ring);

  std::shared_ptr<detail::UringRing> ring_;
};

}  // namespace strata::io
