// Direct reads (OpenOptions::direct, lib/io/direct_file.h): O_DIRECT needs aligned offsets,
// lengths and buffers; DirectFile serves any range, including ranges that start unaligned, end
// past the end of the file or start past it, with the file's bytes. Checked on the uring and
// posix file systems, after the file's pages were dropped from the page cache, so that the reads
// really bypass it; and a direct file refuses read_cached and map.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "lib/io/direct_file.h"
#include "tests/unit/io/io_test_util.h"

using namespace strata;
using namespace strata::io;
using namespace strata::io::test;

namespace {

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 11 + i / 4096) % 26);
  return s;
}

asio::awaitable<void> direct_reads_return_the_files_bytes(FileSystem& fs, std::string root) {
  const std::string path = join_path(root, "data");
  const std::string data = pattern(3 * 4096 + 1234);  // the last block is partial
  {
    auto file = co_await fs.open(path, OpenOptions{.create = true});
    REQUIRE(file.has_value());
    REQUIRE((co_await (*file)->write_at(0, data)).has_value());
    REQUIRE((co_await (*file)->sync()).has_value());
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);

  auto opened = co_await fs.open(path, OpenOptions{.read_only = true, .direct = true});
  if (!opened && opened.error() == make_error_code(Errc::invalid_argument)) {
    MESSAGE("this file system refuses O_DIRECT (tmpfs?): direct reads not checked");
    co_return;
  }
  REQUIRE(opened.has_value());
  File& file = **opened;
  CHECK(file.size().value() == data.size());

  struct Range {
    uint64_t offset;
    size_t length;
  };
  const std::vector<Range> ranges = {
      {0, 4096},
      {0, 1},
      {1, 4095},
      {4095, 2},
      {100, 9000},
      {4096, 4096},
      {5000, 3000},
      {12000, 1000},
      {12288, 1234},
      {12288, 5000},  // past the end
      {data.size() - 1, 10},
      {data.size(), 10},
      {data.size() + 5000, 10},  // at / past the end
  };
  for (const Range& r : ranges) {
    std::string buf(r.length, '#');
    auto got = co_await file.read_at(r.offset, std::span<char>(buf.data(), buf.size()));
    REQUIRE_MESSAGE(got.has_value(), "offset " << r.offset << " length " << r.length);
    std::string expected = r.offset >= data.size() ? std::string() : data.substr(r.offset, r.length);
    CHECK_MESSAGE(*got == expected.size(), "offset " << r.offset << " length " << r.length);
    CHECK(buf.substr(0, *got) == expected);
  }
  std::string buf(100, '\0');
  auto cached = file.read_cached(0, std::span<char>(buf.data(), buf.size()));
  REQUIRE(cached.has_value());
  CHECK_FALSE(cached->has_value());  // nothing is cached by design: the caller reads through the ring
  auto mapped = file.map(data.size());
  CHECK(mapped.error() == make_error_code(Errc::not_supported));
}

}  // namespace

TEST_CASE_TEMPLATE("direct reads of any range return the file's bytes", Impl, UringImpl, PosixImpl) {
  run_scenario<Impl>(direct_reads_return_the_files_bytes);
}
