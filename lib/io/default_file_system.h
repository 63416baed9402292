// make_default_file_system: picks the production io::FileSystem for this host.
//
//   - UringFileSystem when /proc/sys/kernel/io_uring_disabled is absent or 0 and the ring
//     initializes (io_uring_queue_init fails with EPERM/ENOSYS under seccomp in containers);
//   - PosixFileSystem (blocking syscalls on a 2-thread pool) otherwise.
// The environment variable STRATA_IO=posix forces the fallback (tests, debugging). The choice is
// logged at info level.
//
// Thread-safety: safe from any thread. Lifetime: see uring_file_system.h / posix_file_system.h;
// in short, destroy the returned FileSystem (after its Files) before the io_context behind `ex`
// and before the io_contexts of the coroutines that use it.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>

#include "lib/io/file_system.h"

namespace strata::io {

// `ex` is the executor that watches io_uring completions (unused by the fallback). Completions
// always resume the awaiting coroutine on its own executor.
std::unique_ptr<FileSystem> make_default_file_system(asio::any_io_executor ex);

}  // namespace strata::io
