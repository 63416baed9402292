#include "lib/io/posix_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/util/logging.h"

namespace strata::io::detail {

int open_flags(const OpenOptions& options) {
  int flags = O_CLOEXEC | (options.read_only ? O_RDONLY : O_RDWR);
  if (options.create) flags |= O_CREAT;
  if (options.create && options.exclusive) flags |= O_EXCL;
  if (options.truncate) flags |= O_TRUNC;
  if (options.direct) flags |= O_DIRECT;
  return flags;
}

ErrorCode io_error(int err, const char* op, const std::string& path) {
  if (err != ENOENT && err != EEXIST && err != EWOULDBLOCK) {
    STRATA_LOG(warn, "io: %s %s failed: %s (errno %d)", op, path.c_str(), std::strerror(err), err);
  }
  return error_from_errno(err);
}

namespace {

class FlockLock final : public FileLock {
 public:
  explicit FlockLock(int fd) : fd_(fd) {}
  ~FlockLock() override { ::close(fd_); }  // closing the descriptor releases the flock

 private:
  int fd_;
};

}  // namespace

Result<std::unique_ptr<FileLock>> lock_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kFileMode);
  if (fd < 0) return io_error(errno, "open lock file", path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    return io_error(err, "flock", path);
  }
  return std::unique_ptr<FileLock>(std::make_unique<FlockLock>(fd));
}

Result<std::vector<std::string>> list_dir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return io_error(errno, "opendir", path);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    std::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return io_error(err, "readdir", path);
  return names;
}

Result<void> create_dir(const std::string& path) {
  if (::mkdir(path.c_str(), kDirMode) == 0) return ok();
  int err = errno;
  if (err == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return ok();
  }
  return io_error(err, "mkdir", path);
}

Result<bool> exists(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return true;
  int err = errno;
  if (err == ENOENT || err == ENOTDIR) return false;
  return Result<bool>(boost::system::in_place_error, io_error(err, "stat", path));
}

Result<std::optional<size_t>> pread_nowait(int fd, uint64_t offset, std::span<char> buf, const std::string& path,
                                           std::atomic<bool>* supported) {
  if (!supported->load(std::memory_order_relaxed)) return std::optional<size_t>{};
  iovec iov{.iov_base = buf.data(), .iov_len = buf.size()};
  for (;;) {
    ssize_t n = ::preadv2(fd, &iov, 1, static_cast<off_t>(offset), RWF_NOWAIT);
    if (n >= 0) {
      // A short read means part of the range is not cached, or the file ends early: either way
      // read_at() decides, with the I/O it may need.
      if (static_cast<size_t>(n) == buf.size()) return std::optional<size_t>(buf.size());
      return std::optional<size_t>{};
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return std::optional<size_t>{};
    if (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS) {
      supported->store(false, std::memory_order_relaxed);
      return std::optional<size_t>{};
    }
    return io_error(errno, "preadv2", path);
  }
}

Result<void> pwrite_full(int fd, uint64_t offset, std::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(errno, "pwrite", path);
    }
    done += static_cast<size_t>(n);
  }
  return ok();
}

Result<std::shared_ptr<const Mapping>> map_fd(int fd, uint64_t size, const std::string& path) {
  auto actual = fd_size(fd, path);
  if (!actual) return actual.error();
  if (size == 0 || *actual < size) {
    STRATA_LOG(error, "io: cannot map %llu bytes of %s, which holds %llu", static_cast<unsigned long long>(size),
               path.c_str(), static_cast<unsigned long long>(*actual));
    return make_error_code(Errc::invalid_argument);
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return io_error(errno, "mmap", path);
  return std::make_shared<const Mapping>(static_cast<const char*>(p), static_cast<size_t>(size));
}

void unmap(const char* data, size_t size) { ::munmap(const_cast<char*>(data), size); }

Result<uint64_t> fd_size(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return io_error(errno, "fstat", path);
  return static_cast<uint64_t>(st.st_size);
}

Result<void> truncate(int fd, uint64_t size, const std::string& path) {
  int rc;
  do {
    rc = ::ftruncate(fd, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return io_error(errno, "ftruncate", path);
  return ok();
}

Result<void> extend_with_zeros(int fd, uint64_t size, const std::string& path) {
  auto current = fd_size(fd, path);
  if (!current) return current.error();
  if (*current >= size) return ok();
  return truncate(fd, size, path);
}

}  // namespace strata::io::detail
