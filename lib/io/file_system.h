// io::FileSystem and io::File: the storage seam of Strata. Every byte the engine reads or writes
// goes through these interfaces, so the same engine runs on
//   - UringFileSystem   (uring_file_system.h): io_uring via liburing, the production path;
//   - PosixFileSystem   (posix_file_system.h): blocking syscalls on a small thread pool, the
//                        fallback where io_uring is disabled (sysctl, container seccomp);
//   - MemFileSystem     (mem_file_system.h):  in memory, for hermetic tests;
// and, for reliability tests, wrappers that inject faults (see shared/RELIABILITY.md).
//
// All operations are coroutines that complete on the awaiting coroutine's executor. Errors are
// values (Result): ENOSPC -> Errc::no_space, EIO -> Errc::io_error, missing -> Errc::not_found.
// Paths are plain strings ('/'-separated); the engine always builds them from a DB directory.
//
// Lifetime: buffers passed to read_at/write_at must stay valid until the awaited call returns
// (they do, because the caller is suspended in co_await). Files and the FileSystem must outlive
// every operation on them: close the DB before destroying its FileSystem.
// Thread-safety: a File may be used by several coroutines at once for reads (read_at is
// positional); writes to one File must be serialized by the caller. FileSystem methods are safe
// from any thread.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strata/result.h"

namespace strata::io {

namespace asio = boost::asio;

struct OpenOptions {
  bool create = false;     // create the file if it does not exist
  bool exclusive = false;  // with create: fail with already_exists if it exists
  bool truncate = false;   // truncate to 0 bytes on open
  bool read_only = false;  // open for reading only
  // Reads bypass the OS page cache (O_DIRECT; see direct_file.h). The uring and posix file
  // systems return a DirectFile; others (in memory, fault injection) ignore it.
  bool direct = false;
};

// A read-only memory mapping of a file's first size() bytes (mmap(2) with PROT_READ, MAP_SHARED):
// the OS page cache seen as memory, with no copy and no system call per read. Unmapped on
// destruction. Touching a page the OS does not hold blocks the thread on a page fault, so callers
// touch only bytes they know to be resident (see sstable::TableReader).
// Thread-safety: immutable; data() may be read from any thread while the mapping lives.
class Mapping {
 public:
  Mapping(const char* data, size_t size) : data_(data), size_(size) {}
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  const char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const char* data_;
  size_t size_;
};

class File {
 public:
  virtual ~File() = default;

  // Reads up to buf.size() bytes at `offset`. Returns the number of bytes read, which is smaller
  // than buf.size() only at end of file.
  virtual asio::awaitable<Result<size_t>> read_at(uint64_t offset, std::span<char> buf) = 0;

  // Reads all of `buf` at `offset` without blocking, if the OS has every byte of it in memory
  // (the page cache: preadv2 with RWF_NOWAIT, as RocksDB and Postgres use it to skip an
  // asynchronous round trip). Returns buf.size() when it read everything; nullopt when it read
  // nothing usable and the caller must use read_at(): some byte is not cached (EAGAIN), the range
  // reaches past the end of the file, or the file system cannot read without blocking (the
  // default). Never suspends, never waits for a disk. Errors: io errors of the read.
  // Runs on: the calling thread.
  virtual Result<std::optional<size_t>> read_cached(uint64_t offset, std::span<char> buf);

  // Maps the first `size` bytes of the file read-only. Meant for immutable files (SSTables): the
  // file must not shrink below `size` while mapped (reading past its end raises SIGBUS). Errors:
  // not_supported (the default: in-memory and fault-injecting files are not mapped), invalid_argument
  // (the file is shorter than `size`, or size is 0), io errors of mmap.
  virtual Result<std::shared_ptr<const Mapping>> map(uint64_t size);

  // Writes all of `data` at `offset` (retrying short writes). The bytes are in the OS page cache
  // when this returns: they survive a process crash, not a power loss, until sync().
  virtual asio::awaitable<Result<void>> write_at(uint64_t offset, std::string_view data) = 0;

  // write_at on the calling thread, without suspending: pwrite(2) of all of `data` at `offset`
  // (retrying short writes). For small appends that only need to reach the page cache (a WAL
  // group under SyncPolicy::none), where the copy costs about 1.5 us and an asynchronous round
  // trip through the ring several times that. Like write(2) in LevelDB's and RocksDB's WALs it may
  // block the thread on the kernel (page-cache reclaim, dirty-page throttling). Returns true when
  // everything was written; false, having written nothing, when the file system has no such
  // write (the default): the caller then uses write_at(). Errors: as write_at; the bytes at
  // [offset, offset + size) are then undefined, as after a failed write_at.
  // Runs on: the calling thread.
  virtual Result<bool> write_inline(uint64_t offset, std::string_view data);

  // fdatasync: everything written so far survives a power loss once this returns. A failed sync
  // must never be retried (the kernel may have dropped the dirty pages): the caller turns
  // read-only.
  virtual asio::awaitable<Result<void>> sync() = 0;

  // write_at followed by sync(). The io_uring implementation submits both at once as linked
  // operations, saving a round trip on the group-commit path.
  virtual asio::awaitable<Result<void>> write_and_sync(uint64_t offset, std::string_view data);

  virtual asio::awaitable<Result<void>> truncate(uint64_t size) = 0;

  // Allocates blocks so the file is at least `size` bytes; the new bytes read as zeros. Writes
  // into a preallocated region do not change the file size, so fdatasync need not flush metadata.
  // Implementations without preallocation extend the file with zeros.
  virtual asio::awaitable<Result<void>> preallocate(uint64_t size) = 0;

  // The current size in bytes.
  virtual Result<uint64_t> size() const = 0;

  virtual const std::string& path() const = 0;
};

// An advisory, exclusive, per-process lock on a file (flock). Released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Errors: not_found (no such file and !create), already_exists (create+exclusive), io_error...
  virtual asio::awaitable<Result<std::unique_ptr<File>>> open(std::string path, OpenOptions options) = 0;

  // Atomically replaces `to` with `from` (rename(2)). Durable only after sync_dir of the parent.
  virtual asio::awaitable<Result<void>> rename(std::string from, std::string to) = 0;

  // Removes a file. Errors: not_found.
  virtual asio::awaitable<Result<void>> remove(std::string path) = 0;

  // Creates a directory; succeeds if it already exists.
  virtual asio::awaitable<Result<void>> create_dir(std::string path) = 0;

  // Names (not paths) of the entries of a directory, excluding "." and "..", in no order.
  virtual asio::awaitable<Result<std::vector<std::string>>> list_dir(std::string path) = 0;

  // Makes the directory's entries (creations, renames, removals) durable.
  virtual asio::awaitable<Result<void>> sync_dir(std::string path) = 0;

  virtual asio::awaitable<Result<bool>> exists(std::string path) = 0;

  // Takes an exclusive lock on `path` (created if missing). Errors: busy if another process (or
  // another lock object of this process) holds it.
  virtual Result<std::unique_ptr<FileLock>> lock(std::string path) = 0;
};

// Helpers built on the interface (file_system.cc).

// Joins a directory and a name with one '/'.
std::string join_path(std::string_view dir, std::string_view name);
// The directory part of a path ("." if none).
std::string parent_dir(std::string_view path);

// Reads a whole file.
asio::awaitable<Result<std::string>> read_file(FileSystem& fs, std::string path);

// Replaces `path` with `contents` atomically and durably: write `path`.tmp, sync it, rename over
// `path`, sync the parent directory. A crash at any point leaves either the old or the new file.
asio::awaitable<Result<void>> write_file_atomic(FileSystem& fs, std::string path, std::string contents);

}  // namespace strata::io
