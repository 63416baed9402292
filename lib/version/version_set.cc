#include "lib/version/version_set.h"

#include "lib/util/assert.h"
#include "lib/util/kill_point.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"
#include "lib/wal/wal_reader.h"

namespace strata {

VersionSet::VersionSet(io::FileSystem& fs, std::string db_dir)
    : fs_(fs), db_dir_(std::move(db_dir)), current_(std::make_shared<const Version>()) {}

VersionSet::~VersionSet() = default;

std::shared_ptr<const Version> VersionSet::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

void VersionSet::install_locked(std::shared_ptr<const Version> v) {
  versions_.push_back(v);
  current_ = std::move(v);
}

std::set<uint64_t> VersionSet::live_files() const {
  std::lock_guard lock(mu_);
  std::set<uint64_t> live;
  std::erase_if(versions_, [](const auto& w) { return w.expired(); });
  for (const auto& w : versions_) {
    auto v = w.lock();
    if (!v) continue;
    for (int level = 0; level < kNumLevels; ++level) {
      for (const auto& f : v->files(level)) live.insert(f->number);
    }
  }
  return live;
}

void VersionSet::mark_file_number_used(uint64_t number) {
  uint64_t cur = next_file_number_.load();
  while (cur <= number && !next_file_number_.compare_exchange_weak(cur, number + 1)) {
  }
}

void VersionSet::apply_counters(const VersionEdit& edit) {
  if (edit.log_number) log_number_.store(*edit.log_number);
  if (edit.next_file_number) mark_file_number_used(*edit.next_file_number - 1);
  if (edit.last_sequence) last_sequence_.store(*edit.last_sequence);
  for (const auto& [level, f] : edit.new_files) mark_file_number_used(f.number);
}

boost::asio::awaitable<Result<void>> VersionSet::recover() {
  auto current = co_await io::read_file(fs_, current_file_name(db_dir_));
  if (!current) co_return current.error();
  std::string name = *current;
  if (name.empty() || name.back() != '\n') {
    STRATA_LOG(error, "%s: CURRENT is not newline-terminated (%zu bytes)", db_dir_.c_str(), name.size());
    co_return make_error_code(Errc::corruption);
  }
  name.pop_back();
  auto parsed = parse_file_name(name);
  if (!parsed || parsed->kind != FileKind::manifest) {
    STRATA_LOG(error, "%s: CURRENT names '%s', not a manifest", db_dir_.c_str(), name.c_str());
    co_return make_error_code(Errc::corruption);
  }
  manifest_number_ = parsed->number;
  mark_file_number_used(parsed->number);
  co_return co_await replay_manifest(io::join_path(db_dir_, name));
}

boost::asio::awaitable<Result<void>> VersionSet::replay_manifest(std::string path) {
  auto opened = co_await fs_.open(path, io::OpenOptions{.read_only = true});
  if (!opened) {
    STRATA_LOG(error, "%s: cannot open manifest: %s", path.c_str(), opened.error().message().c_str());
    co_return opened.error();
  }
  auto file = std::move(*opened);
  wal::WalReader reader(*file, manifest_number_);
  std::shared_ptr<const Version> version = std::make_shared<const Version>();
  uint64_t edits = 0;
  while (true) {
    auto record = co_await reader.read_record();
    if (!record) co_return record.error();
    if (!*record) break;
    auto edit = VersionEdit::decode(**record);
    if (!edit) {
      STRATA_LOG(error, "%s: undecodable version edit ending at offset %llu", path.c_str(),
                 static_cast<unsigned long long>(reader.last_record_end_offset()));
      co_return make_error_code(Errc::corruption);
    }
    auto next = version->apply(*edit);
    if (!next) {
      STRATA_LOG(error, "%s: version edit ending at offset %llu does not apply", path.c_str(),
                 static_cast<unsigned long long>(reader.last_record_end_offset()));
      co_return next.error();
    }
    version = std::move(*next);
    apply_counters(*edit);
    ++edits;
  }
  auto stop = *reader.stop();
  if (stop.reason != wal::WalReader::Stop::clean_end && stop.reason != wal::WalReader::Stop::zeros) {
    // Every edit is synced before the next one is written, so only the last edit can be torn;
    // a valid record past it means a synced edit was damaged.
    auto more = co_await reader.find_valid_fragment_after_stop();
    if (!more) co_return more.error();
    if (*more) {
      STRATA_LOG(error, "%s: corrupt record at offset %llu (%s) followed by a valid record at %llu", path.c_str(),
                 static_cast<unsigned long long>(stop.offset), wal::WalReader::reason_name(stop.reason),
                 static_cast<unsigned long long>(**more));
      co_return make_error_code(Errc::corruption);
    }
    STRATA_LOG(warn, "%s: ignoring a torn tail at offset %llu (%s)", path.c_str(),
               static_cast<unsigned long long>(stop.offset), wal::WalReader::reason_name(stop.reason));
  }
  if (edits == 0) {
    STRATA_LOG(error, "%s: manifest holds no version edit", path.c_str());
    co_return make_error_code(Errc::corruption);
  }
  std::lock_guard lock(mu_);
  install_locked(std::move(version));
  co_return ok();
}

boost::asio::awaitable<Result<void>> VersionSet::create_manifest() {
  uint64_t number = new_file_number();
  std::string path = manifest_file_name(db_dir_, number);
  auto opened = co_await fs_.open(path, io::OpenOptions{.create = true, .truncate = true});
  if (!opened) co_return opened.error();
  auto writer = std::make_unique<wal::WalWriter>(std::move(*opened), number);

  VersionEdit snapshot;
  current()->encode_snapshot(&snapshot);
  snapshot.log_number = log_number_.load();
  snapshot.next_file_number = next_file_number_.load();
  snapshot.last_sequence = last_sequence_.load();
  writer->add_record(snapshot.encode());
  auto flushed = co_await writer->flush(/*sync=*/true);
  if (!flushed) co_return flushed.error();
  STRATA_KILL_POINT("manifest.new_before_current");

  std::string name = path.substr(path.rfind('/') + 1);
  auto swapped = co_await io::write_file_atomic(fs_, current_file_name(db_dir_), name + "\n");
  if (!swapped) co_return swapped.error();

  uint64_t old = manifest_number_;
  manifest_number_ = number;
  manifest_ = std::move(writer);
  if (old != 0) {
    auto removed = co_await fs_.remove(manifest_file_name(db_dir_, old));
    if (!removed && removed.error() != make_error_code(Errc::not_found)) {
      STRATA_LOG(warn, "cannot remove old manifest %llu: %s", static_cast<unsigned long long>(old),
                 removed.error().message().c_str());
    }
  }
  co_return ok();
}

boost::asio::awaitable<Result<void>> VersionSet::log_and_apply(VersionEdit edit) {
  STRATA_ASSERT_MSG(manifest_ != nullptr, "log_and_apply before create_manifest");
  if (manifest_->offset() > kMaxManifestBytes) {
    auto rolled = co_await create_manifest();
    if (!rolled) co_return rolled.error();
  }
  edit.next_file_number = next_file_number_.load();
  if (!edit.last_sequence) edit.last_sequence = last_sequence_.load();
  auto next = current()->apply(edit);
  if (!next) co_return next.error();
  manifest_->add_record(edit.encode());
  STRATA_KILL_POINT("manifest.before_write");
  auto flushed = co_await manifest_->flush(/*sync=*/true);
  if (!flushed) {
    STRATA_LOG(error, "manifest %llu: write/sync failed: %s", static_cast<unsigned long long>(manifest_number_),
               flushed.error().message().c_str());
    co_return flushed.error();
  }
  STRATA_KILL_POINT("manifest.after_sync");
  apply_counters(edit);
  std::lock_guard lock(mu_);
  install_locked(std::move(*next));
  co_return ok();
}

}  // namespace strata
