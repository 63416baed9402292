#include "lib/io/fault_file_system.h"

#include <algorithm>
#include <cstring>

#include "lib/util/logging.h"

namespace strata::io {

namespace {

// Half-open byte ranges [start, end) as a map start -> end, kept disjoint and merged.
using Ranges = std::map<uint64_t, uint64_t>;

void add_range(Ranges& r, uint64_t start, uint64_t end) {
  if (start >= end) return;
  auto it = r.upper_bound(start);
  if (it != r.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= start) {  // overlaps or touches the previous range
      start = prev->first;
      end = std::max(end, prev->second);
      it = r.erase(prev);
    }
  }
  while (it != r.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = r.erase(it);
  }
  r.emplace(start, end);
}

void subtract_range(Ranges& r, uint64_t start, uint64_t end) {
  if (start >= end) return;
  Ranges out;
  for (const auto& [s, e] : r) {
    if (e <= start || s >= end) {
      out.emplace(s, e);
      continue;
    }
    if (s < start) out.emplace(s, start);
    if (e > end) out.emplace(end, e);
  }
  r.swap(out);
}

}  // namespace

struct FaultFileSystem::FileState {
  std::string current;  // a shadow of the base file's bytes
  std::string durable;  // the bytes as of the last successful sync
  Ranges dirty;         // changed since the last sync
  Ranges lost;          // dirty when a sync failed: never made durable by a later sync
  bool sync_failed = false;
};

// A File of the wrapper: forwards to the base file and keeps the FileState up to date.
class FaultFile final : public File {
 public:
  FaultFile(FaultFileSystem* fs, std::shared_ptr<FaultFileSystem::FileState> state, std::unique_ptr<File> base,
            uint64_t epoch)
      : fs_(fs), state_(std::move(state)), base_(std::move(base)), epoch_(epoch) {}

  asio::awaitable<Result<size_t>> read_at(uint64_t offset, std::span<char> buf) override {
    if (auto e = check(kFaultRead)) co_return *e;
    co_return co_await base_->read_at(offset, buf);
  }

  // Counts as a read for fault injection, like read_at.
  Result<std::optional<size_t>> read_cached(uint64_t offset, std::span<char> buf) override {
    if (auto e = check(kFaultRead)) return *e;
    return base_->read_cached(offset, buf);
  }

  asio::awaitable<Result<void>> write_at(uint64_t offset, std::string_view data) override {
    if (auto e = check(kFaultWrite)) co_return *e;
    auto w = co_await base_->write_at(offset, data);
    if (!w) co_return w;
    note_written(offset, data);
    co_return ok();
  }

  // Counts as a write for fault injection, like write_at.
  Result<bool> write_inline(uint64_t offset, std::string_view data) override {
    if (auto e = check(kFaultWrite)) return Result<bool>(boost::system::in_place_error, *e);
    auto w = base_->write_inline(offset, data);
    if (w && *w) note_written(offset, data);
    return w;
  }

  asio::awaitable<Result<void>> sync() override {
    {
      std::lock_guard lock(fs_->mu_);
      if (state_->sync_failed) ++fs_->stats_.syncs_after_failed_sync;
    }
    Result<void> r = ok();
    if (auto e = check(kFaultSync)) {
      r = *e;
    } else {
      r = co_await base_->sync();
    }
    std::lock_guard lock(fs_->mu_);
    if (!r) {
      // The kernel may have dropped the dirty pages and marked them clean: they never become
      // durable, whatever a later sync says.
      auto& s = *state_;
      s.sync_failed = true;
      for (const auto& [b, e] : s.dirty) add_range(s.lost, b, e);
      s.dirty.clear();
      co_return r;
    }
    fs_->note_sync(*state_);
    co_return ok();
  }

  asio::awaitable<Result<void>> write_and_sync(uint64_t offset, std::string_view data) override {
    auto w = co_await write_at(offset, data);
    if (!w) co_return w;
    co_return co_await sync();
  }

  asio::awaitable<Result<void>> truncate(uint64_t size) override {
    if (auto e = check(kFaultTruncate)) co_return *e;
    auto t = co_await base_->truncate(size);
    if (!t) co_return t;
    std::lock_guard lock(fs_->mu_);
    auto& s = *state_;
    uint64_t old = s.current.size();
    s.current.resize(size, '\0');
    if (size > old) add_range(s.dirty, old, size);
    co_return ok();
  }

  asio::awaitable<Result<void>> preallocate(uint64_t size) override {
    if (auto e = check(kFaultPreallocate)) co_return *e;
    auto p = co_await base_->preallocate(size);
    if (!p) co_return p;
    std::lock_guard lock(fs_->mu_);
    auto& s = *state_;
    uint64_t old = s.current.size();
    if (size > old) {
      s.current.resize(size, '\0');
      add_range(s.dirty, old, size);
    }
    co_return ok();
  }

  Result<uint64_t> size() const override {
    {
      std::lock_guard lock(fs_->mu_);
      if (epoch_ != fs_->epoch_) return make_error_code(Errc::io_error);
    }
    return base_->size();
  }

  const std::string& path() const override { return base_->path(); }

 private:
  // The shadow state after `data` reached the base file at `offset`: not durable until a sync.
  void note_written(uint64_t offset, std::string_view data) {
    std::lock_guard lock(fs_->mu_);
    auto& s = *state_;
    if (s.current.size() < offset + data.size()) s.current.resize(offset + data.size(), '\0');
    std::memcpy(s.current.data() + offset, data.data(), data.size());
    add_range(s.dirty, offset, offset + data.size());
    subtract_range(s.lost, offset, offset + data.size());
  }

  // The error for this operation: the file outlived a crash, or the fault plan fails it.
  std::optional<ErrorCode> check(FaultOp op) {
    {
      std::lock_guard lock(fs_->mu_);
      if (epoch_ != fs_->epoch_) return make_error_code(Errc::io_error);
    }
    return fs_->check_fault(op, base_->path());
  }

  FaultFileSystem* fs_;
  std::shared_ptr<FaultFileSystem::FileState> state_;
  std::unique_ptr<File> base_;
  uint64_t epoch_;
};

FaultFileSystem::FaultFileSystem(FileSystem& base, uint64_t seed) : base_(base), rng_(seed) {}
FaultFileSystem::~FaultFileSystem() = default;

void FaultFileSystem::set_fail_plan(FailPlan plan) {
  std::lock_guard lock(mu_);
  plan_ = std::move(plan);
  plan_matches_ = 0;
}

void FaultFileSystem::clear_fail_plan() {
  std::lock_guard lock(mu_);
  plan_.reset();
}

FaultFileSystem::Stats FaultFileSystem::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::optional<ErrorCode> FaultFileSystem::check_fault(FaultOp op, const std::string& path) {
  std::lock_guard lock(mu_);
  if (!plan_) {
    ++stats_.ops_counted;
    return std::nullopt;
  }
  if ((plan_->ops & op) == 0) return std::nullopt;
  if (!plan_->path_contains.empty() && path.find(plan_->path_contains) == std::string::npos) return std::nullopt;
  ++stats_.ops_counted;
  uint64_t n = ++plan_matches_;
  if (n == plan_->nth || (plan_->sticky && n > plan_->nth)) {
    ++stats_.faults_injected;
    STRATA_LOG(debug, "fault_fs: failing op 0x%x (match #%llu) on %s with errno %d", static_cast<unsigned>(op),
               static_cast<unsigned long long>(n), path.c_str(), plan_->err);
    return error_from_errno(plan_->err);
  }
  return std::nullopt;
}

void FaultFileSystem::note_sync(FileState& s) {
  // REQUIRES: mu_ held.
  ++stats_.syncs;
  s.durable.resize(s.current.size(), '\0');
  for (const auto& [b, e] : s.dirty) {
    if (b >= s.current.size()) break;
    uint64_t end = std::min<uint64_t>(e, s.current.size());
    std::memcpy(s.durable.data() + b, s.current.data() + b, end - b);
  }
  // Bytes lost by a failed sync read back as they were on disk: zeros past the old end (resize
  // above), and the old bytes inside it (never copied).
  s.dirty.clear();
}

asio::awaitable<Result<std::shared_ptr<FaultFileSystem::FileState>>> FaultFileSystem::state_of(
    const std::string& path) {
  {
    std::lock_guard lock(mu_);
    auto it = names_.find(path);
    if (it != names_.end()) co_return it->second;
  }
  auto contents = co_await read_file(base_, path);
  if (!contents) {
    if (contents.error() == make_error_code(Errc::not_found)) co_return std::shared_ptr<FileState>();
    co_return contents.error();
  }
  std::lock_guard lock(mu_);
  auto it = names_.find(path);
  if (it != names_.end()) co_return it->second;
  auto state = std::make_shared<FileState>();
  state->current = *contents;
  state->durable = std::move(*contents);
  names_[path] = state;
  durable_names_[path] = state;
  co_return state;
}

asio::awaitable<Result<std::unique_ptr<File>>> FaultFileSystem::open(std::string path, OpenOptions options) {
  if (options.create || options.truncate) {
    if (auto e = check_fault(kFaultOpen, path)) co_return *e;
  }
  auto state = co_await state_of(path);
  if (!state) co_return state.error();
  auto opened = co_await base_.open(path, options);
  if (!opened) co_return opened.error();
  std::lock_guard lock(mu_);
  std::shared_ptr<FileState> s = std::move(*state);
  if (!s) {
    // A new file: its name is durable only after a sync_dir of its directory.
    s = std::make_shared<FileState>();
    names_[path] = s;
  }
  if (options.truncate) s->current.clear();
  std::unique_ptr<File> f = std::make_unique<FaultFile>(this, std::move(s), std::move(*opened), epoch_);
  co_return f;
}

asio::awaitable<Result<void>> FaultFileSystem::rename(std::string from, std::string to) {
  if (auto e = check_fault(kFaultRename, from)) co_return *e;
  // Adopt both names first, so that crash() can restore what they named.
  auto from_state = co_await state_of(from);
  if (!from_state) co_return from_state.error();
  auto to_state = co_await state_of(to);
  if (!to_state) co_return to_state.error();
  auto r = co_await base_.rename(from, to);
  if (!r) co_return r;
  std::lock_guard lock(mu_);
  auto it = names_.find(from);
  if (it != names_.end()) {
    names_[to] = it->second;
    names_.erase(from);
  }
  co_return ok();
}

asio::awaitable<Result<void>> FaultFileSystem::remove(std::string path) {
  if (auto e = check_fault(kFaultRemove, path)) co_return *e;
  auto state = co_await state_of(path);
  if (!state) co_return state.error();
  auto r = co_await base_.remove(path);
  if (!r) co_return r;
  std::lock_guard lock(mu_);
  names_.erase(path);
  co_return ok();
}

asio::awaitable<Result<void>> FaultFileSystem::create_dir(std::string path) {
  if (auto e = check_fault(kFaultCreateDir, path)) co_return *e;
  co_return co_await base_.create_dir(path);
}

asio::awaitable<Result<std::vector<std::string>>> FaultFileSystem::list_dir(std::string path) {
  co_return co_await base_.list_dir(path);
}

asio::awaitable<Result<void>> FaultFileSystem::sync_dir(std::string path) {
  if (auto e = check_fault(kFaultSyncDir, path)) co_return *e;
  auto r = co_await base_.sync_dir(path);
  if (!r) co_return r;
  std::lock_guard lock(mu_);
  std::erase_if(durable_names_, [&](const auto& kv) { return parent_dir(kv.first) == path; });
  for (const auto& [name, state] : names_) {
    if (parent_dir(name) == path) durable_names_[name] = state;
  }
  co_return ok();
}

asio::awaitable<Result<bool>> FaultFileSystem::exists(std::string path) { co_return co_await base_.exists(path); }

Result<std::unique_ptr<FileLock>> FaultFileSystem::lock(std::string path) { return base_.lock(std::move(path)); }

asio::awaitable<Result<void>> FaultFileSystem::crash(CrashMode mode) {
  std::map<std::string, std::shared_ptr<FileState>> doomed;  // names that do not survive
  std::map<std::string, std::string> images;                 // what each surviving name holds
  {
    std::lock_guard lock(mu_);
    ++epoch_;
    ++stats_.crashes;
    for (const auto& [name, state] : names_) {
      if (!durable_names_.contains(name)) doomed[name] = state;
    }
    std::map<FileState*, std::string> by_state;  // one image per file, even under two names
    for (const auto& [name, state] : durable_names_) {
      auto found = by_state.find(state.get());
      if (found == by_state.end()) {
        const FileState& s = *state;
        Ranges unsynced = s.dirty;
        for (const auto& [b, e] : s.lost) add_range(unsynced, b, e);
        std::string image = s.durable;
        if (mode == CrashMode::garble) {
          image.resize(std::max(s.durable.size(), s.current.size()), '\0');
          for (const auto& [b, e] : unsynced) {
            for (uint64_t i = b; i < std::min<uint64_t>(e, image.size()); ++i)
              image[i] = static_cast<char>(rng_.next());
          }
        } else if (mode == CrashMode::tear) {
          for (const auto& [b, e] : unsynced) {
            uint64_t end = std::min<uint64_t>(e, s.current.size());
            if (b >= end) continue;
            uint64_t keep = rng_.uniform(end - b + 1);
            if (keep == 0) continue;
            if (image.size() < b + keep) image.resize(b + keep, '\0');
            std::memcpy(image.data() + b, s.current.data() + b, keep);
          }
        }
        found = by_state.emplace(state.get(), std::move(image)).first;
      }
      images[name] = found->second;
    }
  }
  for (const auto& [name, state] : doomed) {
    auto r = co_await base_.remove(name);
    if (!r && r.error() != make_error_code(Errc::not_found)) co_return r;
  }
  for (const auto& [name, image] : images) {
    auto opened = co_await base_.open(name, OpenOptions{.create = true, .truncate = true});
    if (!opened) co_return opened.error();
    auto w = co_await (*opened)->write_at(0, image);
    if (!w) co_return w;
  }
  // The surviving bytes are what the disk holds now: durable, with nothing pending.
  std::lock_guard lock(mu_);
  names_.clear();
  std::map<std::string, std::shared_ptr<FileState>> fresh;
  for (const auto& [name, image] : images) {
    auto s = std::make_shared<FileState>();
    s->current = image;
    s->durable = image;
    fresh[name] = s;
  }
  names_ = fresh;
  durable_names_ = std::move(fresh);
  co_return ok();
}

}  // namespace strata::io
