#include "lib/io/uring_file_system.h"

#include <fcntl.h>
#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include "lib/io/direct_file.h"
#include "lib/io/posix_util.h"
#include "lib/util/assert.h"
#include "lib/util/logging.h"
#include "lib/util/oneshot.h"

namespace strata::io {
namespace detail {

// The ring, its eventfd watcher and the bookkeeping of operations in flight. Shared by the
// UringFileSystem, its Files and the pending eventfd handler (see the lifetime notes in the
// header).
//
// Locks, never nested except sq_mu_ -> cq_mu_ (a submit that finds the CQ overflowing reaps):
//   sq_mu_   the submission queue and stopping_;
//   cq_mu_   the completion queue (peek/seen) and the in-flight count's decrements;
//   desc_mu_ the eventfd stream_descriptor and armed_.
class UringRing : public std::enable_shared_from_this<UringRing> {
 public:
  static Result<std::shared_ptr<UringRing>> create(asio::any_io_executor ex, unsigned entries);

  explicit UringRing(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  ~UringRing();
  UringRing(const UringRing&) = delete;
  UringRing& operator=(const UringRing&) = delete;

  // Takes N free SQEs, lets `prep` fill them (and link them), attaches a Oneshot<int> to each
  // and submits. Each Oneshot receives its CQE's res (>= 0, or -errno).
  // Deferred: the SQEs wait in the SQ for a flush posted to the ring executor, which submits
  // everything queued by then with one io_uring_enter: the reads that many coroutines issue in
  // one executor turn go to the kernel as one batch (one block-layer plug, one device
  // notification instead of one per read, which inside a VM is an exit to the hypervisor each).
  // Any immediate submit sends the queued ones along.
  // Errors: shutting_down after shutdown().
  enum class Submit : uint8_t { now, deferred };
  template <size_t N, class Prep>
  Result<std::array<Oneshot<int>, N>> submit(Prep&& prep, Submit when = Submit::now);

  void shutdown();

 private:
  void submit_locked();  // REQUIRES: sq_mu_ held
  // io_uring_cq_ready() without cq_mu_: both indices loaded atomically, because a reaper on
  // another thread may be advancing the head (io_uring_cq_ready reads it plainly).
  bool cq_nonempty() const {
    unsigned tail = __atomic_load_n(ring_.cq.ktail, __ATOMIC_ACQUIRE);
    unsigned head = __atomic_load_n(ring_.cq.khead, __ATOMIC_ACQUIRE);
    return tail != head;
  }
  void arm();
  void on_ready(ErrorCode ec);
  void reap();
  void complete_locked(io_uring_cqe* cqe);
  void drain();

  asio::any_io_executor ex_;
  io_uring ring_{};
  bool ring_initialized_ = false;

  std::mutex sq_mu_;
  bool stopping_ = false;      // guarded by sq_mu_
  bool flush_posted_ = false;  // guarded by sq_mu_: a flush of deferred SQEs is queued on ex_

  std::mutex cq_mu_;
  std::atomic<size_t> inflight_{0};  // SQEs submitted and not yet reaped

  std::mutex desc_mu_;
  std::optional<asio::posix::stream_descriptor> efd_;  // guarded by desc_mu_; reset by shutdown
  bool armed_ = false;                                 // guarded by desc_mu_
};

Result<std::shared_ptr<UringRing>> UringRing::create(asio::any_io_executor ex, unsigned entries) {
  auto ring = std::make_shared<UringRing>(ex);
  io_uring_params params{};
  int rc = io_uring_queue_init_params(entries, &ring->ring_, &params);
  if (rc < 0) {
    STRATA_LOG(info, "io: io_uring_queue_init failed: %s", std::strerror(-rc));
    return error_from_errno(-rc);  // EPERM, ENOSYS -> not_supported
  }
  ring->ring_initialized_ = true;
  if ((params.features & IORING_FEAT_NODROP) == 0) {
    // Without NODROP a burst larger than the CQ would lose completions (and hang coroutines).
    STRATA_LOG(info, "io: io_uring lacks IORING_FEAT_NODROP (kernel < 5.5)");
    return make_error_code(Errc::not_supported);
  }
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return io_error(errno, "eventfd", "");
  ring->efd_.emplace(ex, efd);  // owns efd from here
  rc = io_uring_register_eventfd(&ring->ring_, efd);
  if (rc < 0) return io_error(-rc, "io_uring_register_eventfd", "");
  return ring;
}

UringRing::~UringRing() {
  // shutdown() ran (the UringFileSystem calls it) or no operation was ever in flight.
  STRATA_ASSERT(inflight_.load() == 0);
  efd_.reset();
  if (ring_initialized_) io_uring_queue_exit(&ring_);
}

template <size_t N, class Prep>
Result<std::array<Oneshot<int>, N>> UringRing::submit(Prep&& prep, Submit when) {
  std::array<Oneshot<int>, N> done;
  {
    std::lock_guard lock(sq_mu_);
    if (stopping_) return make_error_code(Errc::shutting_down);
    // A full SQ: hand what is queued to the kernel, which empties the SQ (no SQPOLL), then take
    // our entries. Linked SQEs must be contiguous, so all N are taken at once.
    while (io_uring_sq_space_left(&ring_) < N) submit_locked();
    std::array<io_uring_sqe*, N> sqes;
    for (size_t i = 0; i < N; ++i) {
      sqes[i] = io_uring_get_sqe(&ring_);
      STRATA_ASSERT(sqes[i] != nullptr);
    }
    prep(sqes);
    for (size_t i = 0; i < N; ++i) io_uring_sqe_set_data(sqes[i], new Oneshot<int>(done[i]));
    inflight_.fetch_add(N);
    if (when == Submit::now) {
      submit_locked();
    } else if (!flush_posted_) {
      flush_posted_ = true;
      asio::post(ex_, [self = shared_from_this()] {
        std::lock_guard lock(self->sq_mu_);
        self->flush_posted_ = false;
        self->submit_locked();
      });
    }
  }
  arm();
  return done;
}

void UringRing::submit_locked() {
  while (io_uring_sq_ready(&ring_) > 0) {
    int rc = io_uring_submit(&ring_);
    if (rc >= 0 || rc == -EINTR) continue;
    if (rc == -EBUSY || rc == -EAGAIN) {
      // The CQ (and its overflow list) is full: make room. The kernel retries on the next enter.
      reap();
      continue;
    }
    // Any other failure means the ring itself is broken (EFAULT, EBADF...): SQEs would be left
    // in limbo with coroutines waiting on them forever.
    STRATA_LOG(error, "io: io_uring_submit failed: %s", std::strerror(-rc));
    STRATA_ASSERT_MSG(false, "io_uring_submit failed");
  }
}

// Queues one wait on the eventfd if operations are in flight and none is queued.
void UringRing::arm() {
  std::lock_guard lock(desc_mu_);
  if (armed_ || !efd_ || inflight_.load() == 0) return;
  armed_ = true;
  efd_->async_wait(asio::posix::descriptor_base::wait_read,
                   [self = shared_from_this()](ErrorCode ec) { self->on_ready(ec); });
  // Asio watches descriptors edge-triggered and a wait is never speculative: an eventfd signal
  // that arrived while no wait was queued (a completion between the last reap and now) produced
  // no new edge for this wait. Make one.
  if (cq_nonempty()) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(efd_->native_handle(), &one, sizeof(one));
  }
}

// Runs on: the ring executor.
void UringRing::on_ready(ErrorCode ec) {
  {
    std::lock_guard lock(desc_mu_);
    armed_ = false;
    if (!ec && efd_) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = ::read(efd_->native_handle(), &count, sizeof(count));
    }
  }
  reap();
  arm();  // no-op once shut down (efd_ reset) or when nothing is in flight
}

void UringRing::reap() {
  std::lock_guard lock(cq_mu_);
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) complete_locked(cqe);
}

// Hands one completion to its waiter. REQUIRES: cq_mu_ held.
void UringRing::complete_locked(io_uring_cqe* cqe) {
  auto* done = static_cast<Oneshot<int>*>(io_uring_cqe_get_data(cqe));
  int res = cqe->res;
  io_uring_cqe_seen(&ring_, cqe);
  inflight_.fetch_sub(1);
  // Oneshot::set never resumes the waiter inline: it posts to the waiter's executor.
  done->set(res);
  delete done;
}

// Completes every operation in flight, blocking. REQUIRES: stopping_ (no new submissions).
void UringRing::drain() {
  std::lock_guard lock(cq_mu_);
  while (inflight_.load() > 0) {
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_wait_cqe(&ring_, &cqe);
    if (rc == -EINTR) continue;
    STRATA_ASSERT_MSG(rc == 0, "io_uring_wait_cqe failed during shutdown");
    complete_locked(cqe);
  }
}

void UringRing::shutdown() {
  {
    std::lock_guard lock(sq_mu_);
    stopping_ = true;
    submit_locked();  // deferred SQEs, whose flush may never run now: drain() waits for them
  }
  drain();
  std::lock_guard lock(desc_mu_);
  // Destroying the descriptor aborts a queued wait; its handler holds a reference to this ring,
  // finds efd_ empty and does nothing more.
  efd_.reset();
}

}  // namespace detail

namespace {

using detail::UringRing;

// Largest length one read/write SQE carries (the SQE's len is 32 bits).
constexpr size_t kMaxChunkBytes = size_t{1} << 30;

// Waits for a submitted operation. Result: the CQE's res (>= 0 or -errno), or the submit error.
asio::awaitable<Result<int>> await_one(Result<std::array<Oneshot<int>, 1>> submitted) {
  if (!submitted) co_return submitted.error();
  auto wait = (*submitted)[0].wait();
  int res = co_await std::move(wait);
  co_return res;
}

class UringFile final : public File {
 public:
  // direct: opened with O_DIRECT; a short read is the end of the file (see direct_file.h).
  UringFile(std::shared_ptr<UringRing> ring, int fd, std::string path, bool read_only, bool direct)
      : ring_(std::move(ring)), fd_(fd), path_(std::move(path)), read_only_(read_only), direct_(direct) {}
  ~UringFile() override { ::close(fd_); }

  asio::awaitable<Result<size_t>> read_at(uint64_t offset, std::span<char> buf) override {
    size_t done = 0;
    while (done < buf.size()) {
      size_t len = std::min(buf.size() - done, kMaxChunkBytes);
      char* dst = buf.data() + done;
      uint64_t at = offset + done;
      // Deferred: reads issued together (a multi_get, 64 coroutines' gets) enter the kernel together.
      auto submitted = ring_->submit<1>([&](auto& sqes) { io_uring_prep_read(sqes[0], fd_, dst, len, at); },
                                        UringRing::Submit::deferred);
      auto op = await_one(std::move(submitted));
      Result<int> res = co_await std::move(op);
      if (!res) co_return res.error();
      if (*res == -EINTR || *res == -EAGAIN) continue;
      if (*res < 0) co_return detail::io_error(-*res, "read", path_);
      if (*res == 0) break;  // end of file
      done += static_cast<size_t>(*res);
      if (direct_ && static_cast<size_t>(*res) < len) break;  // end of file; reading on would be unaligned
    }
    co_return done;
  }

  Result<std::optional<size_t>> read_cached(uint64_t offset, std::span<char> buf) override {
    return detail::pread_nowait(fd_, offset, buf, path_, &nowait_supported_);
  }

  Result<std::shared_ptr<const Mapping>> map(uint64_t size) override { return detail::map_fd(fd_, size, path_); }

  asio::awaitable<Result<void>> write_at(uint64_t offset, std::string_view data) override {
    if (read_only_) co_return make_error_code(Errc::invalid_argument);
    size_t done = 0;
    while (done < data.size()) {
      size_t len = std::min(data.size() - done, kMaxChunkBytes);
      const char* src = data.data() + done;
      uint64_t at = offset + done;
      auto submitted = ring_->submit<1>([&](auto& sqes) { io_uring_prep_write(sqes[0], fd_, src, len, at); });
      auto op = await_one(std::move(submitted));
      Result<int> res = co_await std::move(op);
      if (!res) co_return res.error();
      if (*res == -EINTR || *res == -EAGAIN) continue;
      if (*res < 0) co_return detail::io_error(-*res, "write", path_);
      STRATA_ASSERT(*res > 0 || len == 0);  // a regular file never accepts 0 of >0 bytes
      done += static_cast<size_t>(*res);
    }
    co_return ok();
  }

  Result<bool> write_inline(uint64_t offset, std::string_view data) override {
    if (read_only_) return Result<bool>(boost::system::in_place_error, make_error_code(Errc::invalid_argument));
    auto w = detail::pwrite_full(fd_, offset, data, path_);
    if (!w) return Result<bool>(boost::system::in_place_error, w.error());
    return true;
  }

  // A failed fdatasync is returned, never retried (see file_system.h).
  asio::awaitable<Result<void>> sync() override {
    auto submitted = ring_->submit<1>([&](auto& sqes) { io_uring_prep_fsync(sqes[0], fd_, IORING_FSYNC_DATASYNC); });
    auto op = await_one(std::move(submitted));
    Result<int> res = co_await std::move(op);
    if (!res) co_return res.error();
    if (*res < 0) co_return detail::io_error(-*res, "fdatasync", path_);
    co_return ok();
  }

  // Write and fdatasync as two linked SQEs in one submission. The kernel cancels the fsync
  // (-ECANCELED) when the write fails or is short; then the rest of the write and the sync are
  // issued separately. That sync is the first one to run, not a retry.
  asio::awaitable<Result<void>> write_and_sync(uint64_t offset, std::string_view data) override {
    if (read_only_) co_return make_error_code(Errc::invalid_argument);
    if (data.size() > kMaxChunkBytes) {
      auto plain = File::write_and_sync(offset, data);
      co_return co_await std::move(plain);
    }
    auto submitted = ring_->submit<2>([&](auto& sqes) {
      io_uring_prep_write(sqes[0], fd_, data.data(), data.size(), offset);
      sqes[0]->flags |= IOSQE_IO_LINK;
      io_uring_prep_fsync(sqes[1], fd_, IORING_FSYNC_DATASYNC);
    });
    if (!submitted) co_return submitted.error();
    auto write_wait = (*submitted)[0].wait();
    int written = co_await std::move(write_wait);
    auto sync_wait = (*submitted)[1].wait();
    int synced = co_await std::move(sync_wait);

    if (written < 0 && written != -EINTR && written != -EAGAIN) {
      co_return detail::io_error(-written, "write", path_);
    }
    if (synced != -ECANCELED) {
      STRATA_ASSERT(written == static_cast<int>(data.size()));  // the link ran the fsync
      if (synced < 0) co_return detail::io_error(-synced, "fdatasync", path_);
      co_return ok();
    }
    size_t done = written > 0 ? static_cast<size_t>(written) : 0;
    auto rest = write_at(offset + done, data.substr(done));
    auto w = co_await std::move(rest);
    if (!w) co_return w.error();
    auto s = sync();
    co_return co_await std::move(s);
  }

  asio::awaitable<Result<void>> truncate(uint64_t size) override {
    if (read_only_) co_return make_error_code(Errc::invalid_argument);
    co_return detail::truncate(fd_, size, path_);  // no IORING_OP_FTRUNCATE in liburing 2.3
  }

  asio::awaitable<Result<void>> preallocate(uint64_t size) override {
    if (read_only_) co_return make_error_code(Errc::invalid_argument);
    auto submitted =
        ring_->submit<1>([&](auto& sqes) { io_uring_prep_fallocate(sqes[0], fd_, 0, 0, static_cast<off_t>(size)); });
    auto op = await_one(std::move(submitted));
    Result<int> res = co_await std::move(op);
    if (!res) co_return res.error();
    if (*res == -EOPNOTSUPP) co_return detail::extend_with_zeros(fd_, size, path_);
    if (*res < 0) co_return detail::io_error(-*res, "fallocate", path_);
    co_return ok();
  }

  Result<uint64_t> size() const override { return detail::fd_size(fd_, path_); }

  const std::string& path() const override { return path_; }

 private:
  std::shared_ptr<UringRing> ring_;
  int fd_;
  std::string path_;
  bool read_only_;
  bool direct_;
  std::atomic<bool> nowait_supported_{true};  // cleared when the kernel refuses RWF_NOWAIT
};

// openat through the ring. Result: the descriptor.
asio::awaitable<Result<int>> open_fd(std::shared_ptr<UringRing> ring, std::string path, int flags, unsigned mode) {
  auto submitted =
      ring->submit<1>([&](auto& sqes) { io_uring_prep_openat(sqes[0], AT_FDCWD, path.c_str(), flags, mode); });
  auto op = await_one(std::move(submitted));
  Result<int> res = co_await std::move(op);
  if (!res) co_return res.error();
  if (*res < 0) co_return detail::io_error(-*res, "open", path);
  co_return *res;
}

}  // namespace

Result<std::unique_ptr<UringFileSystem>> UringFileSystem::create(asio::any_io_executor ex) {
  return create(std::move(ex), Options{});
}

Result<std::unique_ptr<UringFileSystem>> UringFileSystem::create(asio::any_io_executor ex, Options options) {
  auto ring = UringRing::create(std::move(ex), options.queue_depth);
  if (!ring) return ring.error();
  return std::unique_ptr<UringFileSystem>(new UringFileSystem(std::move(*ring)));
}

UringFileSystem::UringFileSystem(std::shared_ptr<UringRing> ring) : ring_(std::move(ring)) {}

UringFileSystem::~UringFileSystem() { shutdown(); }

void UringFileSystem::shutdown() { ring_->shutdown(); }

asio::awaitable<Result<std::unique_ptr<File>>> UringFileSystem::open(std::string path, OpenOptions options) {
  auto op = open_fd(ring_, path, detail::open_flags(options), detail::kFileMode);
  Result<int> fd = co_await std::move(op);
  if (!fd) co_return fd.error();
  std::unique_ptr<File> file =
      std::make_unique<UringFile>(ring_, *fd, std::move(path), options.read_only, options.direct);
  if (options.direct) file = std::make_unique<DirectFile>(std::move(file));
  co_return file;
}

asio::awaitable<Result<void>> UringFileSystem::rename(std::string from, std::string to) {
  auto submitted = ring_->submit<1>(
      [&](auto& sqes) { io_uring_prep_renameat(sqes[0], AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), 0); });
  auto op = await_one(std::move(submitted));
  Result<int> res = co_await std::move(op);
  if (!res) co_return res.error();
  if (*res < 0) co_return detail::io_error(-*res, "rename", from + " -> " + to);
  co_return ok();
}

asio::awaitable<Result<void>> UringFileSystem::remove(std::string path) {
  auto submitted = ring_->submit<1>([&](auto& sqes) { io_uring_prep_unlinkat(sqes[0], AT_FDCWD, path.c_str(), 0); });
  auto op = await_one(std::move(submitted));
  Result<int> res = co_await std::move(op);
  if (!res) co_return res.error();
  if (*res < 0) co_return detail::io_error(-*res, "unlink", path);
  co_return ok();
}

asio::awaitable<Result<void>> UringFileSystem::create_dir(std::string path) {
  auto submitted =
      ring_->submit<1>([&](auto& sqes) { io_uring_prep_mkdirat(sqes[0], AT_FDCWD, path.c_str(), detail::kDirMode); });
  auto op = await_one(std::move(submitted));
  Result<int> res = co_await std::move(op);
  if (!res) co_return res.error();
  if (*res == -EEXIST) co_return detail::create_dir(path);  // fine if it is a directory
  if (*res < 0) co_return detail::io_error(-*res, "mkdir", path);
  co_return ok();
}

asio::awaitable<Result<std::vector<std::string>>> UringFileSystem::list_dir(std::string path) {
  co_return detail::list_dir(path);
}

asio::awaitable<Result<void>> UringFileSystem::sync_dir(std::string path) {
  auto opening = open_fd(ring_, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  Result<int> fd = co_await std::move(opening);
  if (!fd) co_return fd.error();
  int dir_fd = *fd;
  auto submitted = ring_->submit<1>([&](auto& sqes) { io_uring_prep_fsync(sqes[0], dir_fd, 0); });
  auto op = await_one(std::move(submitted));
  Result<int> res = co_await std::move(op);
  ::close(dir_fd);
  if (!res) co_return res.error();
  if (*res < 0) co_return detail::io_error(-*res, "fsync dir", path);
  co_return ok();
}

asio::awaitable<Result<bool>> UringFileSystem::exists(std::string path) { co_return detail::exists(path); }

Result<std::unique_ptr<FileLock>> UringFileSystem::lock(std::string path) { return detail::lock_file(path); }

}  // namespace strata::io
