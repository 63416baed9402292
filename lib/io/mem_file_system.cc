#include "lib/io/mem_file_system.h"

#include <algorithm>
#include <cstring>

namespace strata::io {

struct MemFileSystem::Node {
  std::mutex mu;
  std::string data;
};

namespace {

class MemFile final : public File {
 public:
  MemFile(std::string path, std::shared_ptr<MemFileSystem::Node> node, bool read_only)
      : path_(std::move(path)), node_(std::move(node)), read_only_(read_only) {}

  asio::awaitable<Result<size_t>> read_at(uint64_t offset, std::span<char> buf) override {
    std::lock_guard lock(node_->mu);
    if (offset >= node_->data.size()) co_return size_t{0};
    size_t n = std::min<uint64_t>(buf.size(), node_->data.size() - offset);
    std::memcpy(buf.data(), node_->data.data() + offset, n);
    co_return n;
  }

  // Everything is in memory: the whole range is read at once, unless it reaches past the end.
  Result<std::optional<size_t>> read_cached(uint64_t offset, std::span<char> buf) override {
    std::lock_guard lock(node_->mu);
    if (offset > node_->data.size() || buf.size() > node_->data.size() - offset) return std::optional<size_t>{};
    std::memcpy(buf.data(), node_->data.data() + offset, buf.size());
    return std::optional<size_t>(buf.size());
  }

  asio::awaitable<Result<void>> write_at(uint64_t offset, std::string_view data) override {
    auto w = write_inline(offset, data);
    if (!w) co_return w.error();
    co_return ok();
  }

  Result<bool> write_inline(uint64_t offset, std::string_view data) override {
    if (read_only_) return Result<bool>(boost::system::in_place_error, make_error_code(Errc::invalid_argument));
    std::lock_guard lock(node_->mu);
    if (node_->data.size() < offset + data.size()) node_->data.resize(offset + data.size(), '\0');
    std::memcpy(node_->data.data() + offset, data.data(), data.size());
    return true;
  }

  asio::awaitable<Result<void>> sync() override { co_return ok(); }

  asio::awaitable<Result<void>> truncate(uint64_t size) override {
    std::lock_guard lock(node_->mu);
    node_->data.resize(size, '\0');
    co_return ok();
  }

  asio::awaitable<Result<void>> preallocate(uint64_t size) override {
    std::lock_guard lock(node_->mu);
    if (node_->data.size() < size) node_->data.resize(size, '\0');
    co_return ok();
  }

  Result<uint64_t> size() const override {
    std::lock_guard lock(node_->mu);
    return uint64_t{node_->data.size()};
  }

  const std::string& path() const override { return path_; }

 private:
  std::string path_;
  std::shared_ptr<MemFileSystem::Node> node_;
  bool read_only_;
};

class MemLock final : public FileLock {
 public:
  MemLock(std::mutex* mu, std::set<std::string>* locks, std::string path)
      : mu_(mu), locks_(locks), path_(std::move(path)) {}
  ~MemLock() override {
    std::lock_guard lock(*mu_);
    locks_->erase(path_);
  }

 private:
  std::mutex* mu_;
  std::set<std::string>* locks_;
  std::string path_;
};

}  // namespace

MemFileSystem::MemFileSystem() {
  dirs_.insert(".");
  dirs_.insert("/");
}
MemFileSystem::~MemFileSystem() = default;

asio::awaitable<Result<std::unique_ptr<File>>> MemFileSystem::open(std::string path, OpenOptions options) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (!options.create) co_return make_error_code(Errc::not_found);
    if (!dirs_.contains(parent_dir(path))) co_return make_error_code(Errc::not_found);
    it = files_.emplace(path, std::make_shared<Node>()).first;
  } else if (options.create && options.exclusive) {
    co_return make_error_code(Errc::already_exists);
  }
  if (options.truncate) {
    std::lock_guard node_lock(it->second->mu);
    it->second->data.clear();
  }
  std::unique_ptr<File> f = std::make_unique<MemFile>(path, it->second, options.read_only);
  co_return f;
}

asio::awaitable<Result<void>> MemFileSystem::rename(std::string from, std::string to) {
  std::lock_guard lock(mu_);
  auto it = files_.find(from);
  if (it == files_.end()) co_return make_error_code(Errc::not_found);
  if (!dirs_.contains(parent_dir(to))) co_return make_error_code(Errc::not_found);
  auto node = it->second;
  files_.erase(it);
  files_[to] = std::move(node);
  co_return ok();
}

asio::awaitable<Result<void>> MemFileSystem::remove(std::string path) {
  std::lock_guard lock(mu_);
  if (files_.erase(path) == 0) co_return make_error_code(Errc::not_found);
  co_return ok();
}

asio::awaitable<Result<void>> MemFileSystem::create_dir(std::string path) {
  std::lock_guard lock(mu_);
  if (files_.contains(path)) co_return make_error_code(Errc::already_exists);
  dirs_.insert(path);
  co_return ok();
}

asio::awaitable<Result<std::vector<std::string>>> MemFileSystem::list_dir(std::string path) {
  std::lock_guard lock(mu_);
  if (!dirs_.contains(path)) co_return make_error_code(Errc::not_found);
  std::vector<std::string> names;
  std::string prefix = path.back() == '/' ? path : path + "/";
  for (const auto& [p, node] : files_) {
    if (p.starts_with(prefix) && p.find('/', prefix.size()) == std::string::npos) {
      names.push_back(p.substr(prefix.size()));
    }
  }
  for (const auto& d : dirs_) {
    if (d.starts_with(prefix) && d.size() > prefix.size() && d.find('/', prefix.size()) == std::string::npos) {
      names.push_back(d.substr(prefix.size()));
    }
  }
  co_return names;
}

asio::awaitable<Result<void>> MemFileSystem::sync_dir(std::string path) {
  std::lock_guard lock(mu_);
  if (!dirs_.contains(path)) co_return make_error_code(Errc::not_found);
  co_return ok();
}

asio::awaitable<Result<bool>> MemFileSystem::exists(std::string path) {
  std::lock_guard lock(mu_);
  co_return files_.contains(path) || dirs_.contains(path);
}

Result<std::unique_ptr<FileLock>> MemFileSystem::lock(std::string path) {
  std::lock_guard lock(mu_);
  if (!locks_.insert(path).second) return make_error_code(Errc::busy);
  if (!files_.contains(path)) files_.emplace(path, std::make_shared<Node>());
  return std::unique_ptr<FileLock>(std::make_unique<MemLock>(&mu_, &locks_, path));
}

Result<std::string> MemFileSystem::contents(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return make_error_code(Errc::not_found);
  std::lock_guard node_lock(it->second->mu);
  return it->second->data;
}

Result<void> MemFileSystem::set_contents(const std::string& path, std::string data) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return make_error_code(Errc::not_found);
  std::lock_guard node_lock(it->second->mu);
  it->second->data = std::move(data);
  return ok();
}

}  // namespace strata::io
