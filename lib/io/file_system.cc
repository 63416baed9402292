#include "lib/io/file_system.h"

#include "lib/io/posix_util.h"

#include <boost/asio/use_awaitable.hpp>

namespace strata::io {

Result<std::optional<size_t>> File::read_cached(uint64_t, std::span<char>) { return std::optional<size_t>{}; }

Result<bool> File::write_inline(uint64_t, std::string_view) { return false; }

Result<std::shared_ptr<const Mapping>> File::map(uint64_t) { return make_error_code(Errc::not_supported); }

Mapping::~Mapping() { detail::unmap(data_, size_); }

asio::awaitable<Result<void>> File::write_and_sync(uint64_t offset, std::string_view data) {
  auto w = co_await write_at(offset, data);
  if (!w) co_return w.error();
  co_return co_await sync();
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (!p.empty() && p.back() != '/') p.push_back('/');
  p.append(name);
  return p;
}

std::string parent_dir(std::string_view path) {
  auto pos = path.rfind('/');
  if (pos == std::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

asio::awaitable<Result<std::string>> read_file(FileSystem& fs, std::string path) {
  auto opened = co_await fs.open(path, OpenOptions{.read_only = true});
  if (!opened) co_return opened.error();
  auto file = std::move(*opened);
  auto size = file->size();
  if (!size) co_return size.error();
  std::string out(*size, '\0');
  size_t done = 0;
  while (done < out.size()) {
    auto n = co_await file->read_at(done, std::span<char>(out.data() + done, out.size() - done));
    if (!n) co_return n.error();
    if (*n == 0) break;  // the file shrank under us
    done += *n;
  }
  out.resize(done);
  co_return out;
}

asio::awaitable<Result<void>> write_file_atomic(FileSystem& fs, std::string path, std::string contents) {
  std::string tmp = path + ".tmp";
  {
    auto opened = co_await fs.open(tmp, OpenOptions{.create = true, .truncate = true});
    if (!opened) co_return opened.error();
    auto file = std::move(*opened);
    auto w = co_await file->write_and_sync(0, contents);
    if (!w) co_return w.error();
  }
  auto r = co_await fs.rename(tmp, path);
  if (!r) co_return r.error();
  co_return co_await fs.sync_dir(parent_dir(path));
}

}  // namespace strata::io
