// File::read_cached: bytes the OS has in its page cache are read at once (preadv2 with
// RWF_NOWAIT); bytes it does not have are refused (nullopt), never waited for, so the caller
// falls back to read_at (io_uring). Checked on the real file systems by dropping a file's pages
// with posix_fadvise(DONTNEED), and on the in-memory one, where everything is cached.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "tests/unit/io/io_test_util.h"

using namespace strata;
using namespace strata::io;
using namespace strata::io::test;

namespace {

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

// Drops the clean pages of `path` from the page cache and checks with mincore(2) that the page at
// `offset` is gone. Returns false if the kernel kept it (a busy host may: then the refusal cannot
// be checked here, and the test says so).
bool drop_page_cache(const std::string& path, uint64_t offset) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const long page = ::sysconf(_SC_PAGESIZE);
  bool dropped = false;
  for (int attempt = 0; attempt < 10 && !dropped; ++attempt) {
    if (::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0) break;
    void* map =
        ::mmap(nullptr, static_cast<size_t>(page), PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset / page * page));
    if (map == MAP_FAILED) break;
    unsigned char resident = 1;
    dropped = ::mincore(map, static_cast<size_t>(page), &resident) == 0 && (resident & 1) == 0;
    ::munmap(map, static_cast<size_t>(page));
  }
  ::close(fd);
  if (!dropped) MESSAGE("the kernel kept the page at offset " << offset << " of " << path << ": refusal not checked");
  return dropped;
}

asio::awaitable<void> cached_then_dropped_then_cached_again(FileSystem& fs, std::string root) {
  const std::string path = join_path(root, "data");
  const std::string data = pattern(64 << 10);
  auto file = co_await fs.open(path, OpenOptions{.create = true});
  REQUIRE(file.has_value());
  auto wrote = co_await (*file)->write_at(0, data);
  REQUIRE(wrote.has_value());
  auto synced = co_await (*file)->sync();  // clean pages, which DONTNEED may drop
  REQUIRE(synced.has_value());

  // Just written: in the page cache.
  std::string buf(4096, '\0');
  auto hit = (*file)->read_cached(8192, std::span<char>(buf.data(), buf.size()));
  REQUIRE(hit.has_value());
  REQUIRE(hit->has_value());
  CHECK(**hit == buf.size());
  CHECK(buf == data.substr(8192, 4096));

  // Past the end: refused, the caller's read_at reports the short read.
  auto past = (*file)->read_cached(data.size() - 100, std::span<char>(buf.data(), buf.size()));
  REQUIRE(past.has_value());
  CHECK_FALSE(past->has_value());

  if (!drop_page_cache(path, 32768)) co_return;
  std::string none(4096, 'x');
  auto miss = (*file)->read_cached(32768, std::span<char>(none.data(), none.size()));
  REQUIRE(miss.has_value());
  // Not cached any more: refused without waiting for the disk. Recent kernels start readahead
  // for a RWF_NOWAIT read that misses (without waiting for it); on a fast device that I/O may
  // already be done when the read looks again, and then the read returns the bytes. Either way
  // they must be the file's.
  if (miss->has_value()) {
    MESSAGE("the kernel's readahead brought the page back within the RWF_NOWAIT read");
    CHECK(none == data.substr(32768, 4096));
  } else {
    CHECK(none == std::string(4096, 'x'));
  }

  // read_at brings the pages back; read_cached then finds them.
  auto read = co_await (*file)->read_at(32768, std::span<char>(buf.data(), buf.size()));
  REQUIRE(read.has_value());
  CHECK(buf == data.substr(32768, 4096));
  auto again = (*file)->read_cached(32768, std::span<char>(none.data(), none.size()));
  REQUIRE(again.has_value());
  REQUIRE(again->has_value());
  CHECK(none == data.substr(32768, 4096));
}

asio::awaitable<void> memory_is_always_cached(FileSystem& fs, std::string root) {
  const std::string data = pattern(10000);
  auto file = co_await fs.open(join_path(root, "data"), OpenOptions{.create = true});
  REQUIRE(file.has_value());
  auto wrote = co_await (*file)->write_at(0, data);
  REQUIRE(wrote.has_value());
  std::string buf(1000, '\0');
  auto hit = (*file)->read_cached(9000, std::span<char>(buf.data(), buf.size()));
  REQUIRE(hit.has_value());
  REQUIRE(hit->has_value());
  CHECK(buf == data.substr(9000));
  auto past = (*file)->read_cached(9001, std::span<char>(buf.data(), buf.size()));
  REQUIRE(past.has_value());
  CHECK_FALSE(past->has_value());
}

}  // namespace

TEST_CASE_TEMPLATE("read_cached reads page-cached bytes and refuses dropped ones without waiting", Impl, UringImpl,
                   PosixImpl) {
  run_scenario<Impl>(cached_then_dropped_then_cached_again);
}

TEST_CASE("read_cached on the in-memory file system reads everything but past the end") {
  run_scenario<MemImpl>(memory_is_always_cached);
}
