#include "lib/io/direct_file.h"

#include <cstdlib>
#include <cstring>

namespace strata::io {

namespace {

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

}  // namespace

asio::awaitable<Result<size_t>> DirectFile::read_at(uint64_t offset, std::span<char> buf) {
  if (buf.empty()) co_return size_t{0};
  const uint64_t begin = offset & ~(kDirectReadAlignment - 1);
  const uint64_t end = (offset + buf.size() + kDirectReadAlignment - 1) & ~(kDirectReadAlignment - 1);
  const auto length = static_cast<size_t>(end - begin);
  std::unique_ptr<char, FreeDeleter> bounce(static_cast<char*>(std::aligned_alloc(kDirectReadAlignment, length)));
  if (!bounce) co_return make_error_code(Errc::io_error);
  auto reading = base_->read_at(begin, std::span<char>(bounce.get(), length));
  Result<size_t> got = co_await std::move(reading);
  if (!got) co_return got.error();
  const auto skip = static_cast<size_t>(offset - begin);
  if (*got <= skip) co_return size_t{0};  // the range starts at or past the end of the file
  size_t n = std::min(buf.size(), *got - skip);
  std::memcpy(buf.data(), bounce.get() + skip, n);
  co_return n;
}

}  // namespace strata::io
