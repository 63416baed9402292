// Internal to lib/io: the pieces PosixFileSystem and UringFileSystem share because they really are
// the same on both (open flags, errno mapping with logging, flock-based FileLock, directory
// listing, stat-based exists, fstat size). Not part of the public API: include only from lib/io.
//
// All functions here are plain blocking syscalls; callers decide on which thread they run
// (PosixFileSystem: its thread pool; UringFileSystem: the caller's thread, for the cheap ones).
// Thread-safety: every function is safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <memory>
#include <string>
#include <vector>

#include "lib/io/file_system.h"
#include "strata/result.h"

namespace strata::io::detail {

// open(2) flags for `options`; always O_CLOEXEC.
int open_flags(const OpenOptions& options);

// Mode bits for files created by open (before umask).
inline constexpr unsigned kFileMode = 0644;
inline constexpr unsigned kDirMode = 0755;

// Maps `err` (a positive errno) with strata::error_from_errno and logs the context (operation and
// path) unless the error is an expected outcome (ENOENT, EEXIST, EWOULDBLOCK).
ErrorCode io_error(int err, const char* op, const std::string& path);

// flock(LOCK_EX | LOCK_NB) on `path` (created if missing). flock locks belong to the open file
// description, so a second lock() of the same path in this process also fails with busy.
Result<std::unique_ptr<FileLock>> lock_file(const std::string& path);

// Names in a directory, without "." and "..". Errors: not_found.
Result<std::vector<std::string>> list_dir(const std::string& path);

// mkdir; succeeds if `path` already is a directory. Errors: already_exists if it is a file.
Result<void> create_dir(const std::string& path);

// stat(2): false when ENOENT/ENOTDIR.
Result<bool> exists(const std::string& path);

// File::read_cached on a descriptor: preadv2(RWF_NOWAIT) of all of `buf` at `offset`. nullopt on
// EAGAIN, on a short read, and when the kernel or file system does not support RWF_NOWAIT
// (EOPNOTSUPP, EINVAL: *supported is then cleared so that later calls skip the syscall).
Result<std::optional<size_t>> pread_nowait(int fd, uint64_t offset, std::span<char> buf, const std::string& path,
                                           std::atomic<bool>* supported);

// pwrite(2) of all of `data` at `offset`, retrying short writes and EINTR.
Result<void> pwrite_full(int fd, uint64_t offset, std::string_view data, const std::string& path);

// File::map on a descriptor: mmap(PROT_READ, MAP_SHARED) of its first `size` bytes, after
// checking with fstat that the file holds them. Errors: invalid_argument, io errors.
Result<std::shared_ptr<const Mapping>> map_fd(int fd, uint64_t size, const std::string& path);
// munmap of what map_fd mapped.
void unmap(const char* data, size_t size);

// fstat(2).st_size.
Result<uint64_t> fd_size(int fd, const std::string& path);

// ftruncate(2).
Result<void> truncate(int fd, uint64_t size, const std::string& path);

// Preallocation where fallocate(2) is not supported: extends the file with zeros to `size`
// (never shrinks).
Result<void> extend_with_zeros(int fd, uint64_t size, const std::string& path);

}  // namespace strata::io::detail
