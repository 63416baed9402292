// DBImpl: open, recovery, close and statistics. The write path is in db_impl_write.cc, the read
// path in db_impl_read.cc.
#include "lib/db/db_impl.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "lib/db/flush_job.h"
#include "lib/memtable/write_batch_internal.h"
#include "lib/io/default_file_system.h"
#include "lib/util/kill_point.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"
#include "lib/wal/file_view.h"
#include "lib/wal/wal_reader.h"

namespace strata {

namespace asio = boost::asio;

std::string_view to_string(SyncPolicy p) {
  switch (p) {
    case SyncPolicy::always: return "always";
    case SyncPolicy::batch: return "batch";
    case SyncPolicy::none: return "none";
  }
  return "?";
}

std::optional<SyncPolicy> parse_sync_policy(std::string_view s) {
  if (s == "always") return SyncPolicy::always;
  if (s == "batch") return SyncPolicy::batch;
  if (s == "none") return SyncPolicy::none;
  return std::nullopt;
}

DBImpl::DBImpl(asio::any_io_executor executor, std::string path, Options options)
    : executor_(std::move(executor)),
      path_(std::move(path)),
      options_(options),
      mutable_(MutableOptions::from(options_)),
      block_cache_(options.block_cache_bytes) {}

DBImpl::~DBImpl() {
  bg_pool_.join();
  compaction_pool_.join();
  low_priority_pool_.join();
}

std::shared_ptr<MemTable> DBImpl::new_memtable() const {
  // mutable_ is read without mu_ only while the DB opens (nothing else runs then); later callers
  // hold mu_.
  const double bytes = static_cast<double>(mutable_.memtable_size_bytes) * options_.memtable_bloom_size_ratio;
  // Huge pages only for memtables of several of them: a small one would reserve more than it holds.
  const bool huge_pages = options_.memtable_huge_pages && mutable_.memtable_size_bytes >= 4 * Arena::kHugeBlockSize;
  return std::make_shared<MemTable>(static_cast<size_t>(bytes), huge_pages);
}

sstable::TableOptions DBImpl::table_options() const {
  sstable::TableOptions t;
  t.block_size_bytes = options_.block_size_bytes;
  t.block_restart_interval = options_.block_restart_interval;
  t.compression = options_.compression;
  std::lock_guard lock(mu_);
  t.bloom_bits_per_key = mutable_.bloom_bits_per_key;
  return t;
}

Result<void> DBImpl::check_key(std::string_view key) const {
  if (key.size() > options_.max_key_size_bytes) return make_error_code(Errc::invalid_argument);
  return ok();
}

Result<void> DBImpl::check_value(std::string_view value) const {
  if (value.size() > options_.max_value_size_bytes) return make_error_code(Errc::invalid_argument);
  return ok();
}

asio::awaitable<Result<std::unique_ptr<wal::WalWriter>>> DBImpl::new_wal(uint64_t number) {
  auto opened = co_await fs_->open(wal_file_name(path_, number), io::OpenOptions{.create = true, .exclusive = true});
  if (!opened) co_return opened.error();
  auto writer = std::make_unique<wal::WalWriter>(std::move(*opened), number);
  if (options_.wal_preallocate_bytes > 0) {
    auto pre = co_await writer->preallocate(options_.wal_preallocate_bytes);
    if (!pre) co_return pre.error();
  }
  // The segment's directory entry must be durable before any write in it is acknowledged.
  auto dir = co_await fs_->sync_dir(wal_dir_name(path_));
  if (!dir) co_return dir.error();
  co_return writer;
}

asio::awaitable<Result<void>> DBImpl::open() {
  STRATA_CO_TRY(validate_options(options_));
  std::string why;
  if (auto valid = mutable_.validate(/*strict=*/false, &why); !valid) {
    STRATA_LOG(error, "%s: invalid options: %s", path_.c_str(), why.c_str());
    co_return valid.error();
  }
  if (options_.file_system != nullptr) {
    fs_ = options_.file_system;
  } else {
    owned_fs_ = io::make_default_file_system(executor_);
    fs_ = owned_fs_.get();
  }
  // Half of max_open_files pinned in the live files' metadata (no table-cache lookup per probe),
  // the other half an LRU for the files beyond that.
  const auto max_open = static_cast<size_t>(options_.max_open_files);
  table_cache_ =
      std::make_unique<TableCache>(*fs_, path_, max_open - max_open / 2, &block_cache_, &read_stats_,
                                   /*num_shard_bits=*/-1, /*max_pinned=*/max_open / 2,
                                   options_.mmap_reads && !options_.use_direct_reads, options_.use_direct_reads);
  auto exists = co_await fs_->exists(path_);
  if (!exists) co_return exists.error();
  if (!*exists) {
    if (!options_.create_if_missing) co_return make_error_code(Errc::not_found);
    auto made = co_await fs_->create_dir(path_);
    if (!made) co_return made.error();
  }
  auto locked = fs_->lock(lock_file_name(path_));
  if (!locked) {
    STRATA_LOG(error, "%s: cannot lock the DB directory: %s", path_.c_str(), locked.error().message().c_str());
    co_return locked.error();
  }
  lock_ = std::move(*locked);
  auto wal_dir = co_await fs_->create_dir(wal_dir_name(path_));
  if (!wal_dir) co_return wal_dir.error();

  versions_ = std::make_unique<VersionSet>(*fs_, path_);
  auto recovered = co_await versions_->recover();
  if (!recovered) {
    if (recovered.error() != make_error_code(Errc::not_found)) co_return recovered.error();
    if (!options_.create_if_missing) co_return make_error_code(Errc::not_found);
    STRATA_LOG(info, "%s: creating a new DB", path_.c_str());
  } else if (options_.error_if_exists) {
    co_return make_error_code(Errc::already_exists);
  }

  VersionEdit edit;
  SequenceNumber max_seq = versions_->last_sequence();
  auto files = co_await recover_files(&edit, &max_seq);
  if (!files) co_return files.error();

  wal_number_ = versions_->new_file_number();
  auto wal = co_await new_wal(wal_number_);
  if (!wal) co_return wal.error();
  wal_ = std::move(*wal);
  edit.log_number = wal_number_;
  edit.last_sequence = max_seq;
  auto manifest = co_await versions_->create_manifest();
  if (!manifest) co_return manifest.error();
  auto applied = co_await versions_->log_and_apply(edit);
  if (!applied) co_return applied.error();
  last_sequence_.store(max_seq, std::memory_order_release);

  auto cleaned = co_await delete_obsolete_files();
  if (!cleaned) co_return cleaned.error();

  mem_ = new_memtable();
  {
    std::lock_guard lock(mu_);
    install_super_version_locked();
    opened_ = true;
    max_background_compactions_ = mutable_.max_background_compactions;
    maybe_schedule_compaction_locked();
  }
  if (options_.sync == SyncPolicy::batch) {
    sync_timer_ = std::make_unique<asio::steady_timer>(executor_);
    sync_loop_started_ = true;
    asio::co_spawn(executor_, batch_sync_loop(), asio::detached);
  }
  STRATA_LOG(info, "%s: open, last sequence %llu, %zu SSTables, sync=%s", path_.c_str(),
             static_cast<unsigned long long>(max_seq), versions_->current()->num_files(),
             std::string(to_string(options_.sync)).c_str());
  co_return ok();
}

// Checks the SSTables the manifest names, removes half-written files, and replays the WAL
// segments that are not yet in SSTables into L0 tables recorded in *edit.
asio::awaitable<Result<void>> DBImpl::recover_files(VersionEdit* edit, SequenceNumber* max_seq) {
  auto names = co_await fs_->list_dir(path_);
  if (!names) co_return names.error();
  std::set<uint64_t> tables_on_disk;
  for (const auto& name : *names) {
    auto parsed = parse_file_name(name);
    if (!parsed) continue;
    if (parsed->kind == FileKind::temp) {
      auto removed = co_await fs_->remove(io::join_path(path_, name));
      if (!removed) STRATA_LOG(warn, "cannot remove %s: %s", name.c_str(), removed.error().message().c_str());
    } else if (parsed->kind == FileKind::table || parsed->kind == FileKind::manifest) {
      versions_->mark_file_number_used(parsed->number);
      if (parsed->kind == FileKind::table) tables_on_disk.insert(parsed->number);
    }
  }
  auto version = versions_->current();
  for (int level = 0; level < kNumLevels; ++level) {
    for (const auto& f : version->files(level)) {
      if (!tables_on_disk.contains(f->number)) {
        STRATA_LOG(error, "%s: the manifest names SSTable %06llu, which is missing", path_.c_str(),
                   static_cast<unsigned long long>(f->number));
        co_return make_error_code(Errc::corruption);
      }
    }
  }

  auto wal_names = co_await fs_->list_dir(wal_dir_name(path_));
  if (!wal_names) co_return wal_names.error();
  std::vector<uint64_t> wals;
  for (const auto& name : *wal_names) {
    auto parsed = parse_file_name(name);
    if (!parsed || parsed->kind != FileKind::wal) continue;
    versions_->mark_file_number_used(parsed->number);
    if (parsed->number >= versions_->log_number()) wals.push_back(parsed->number);
  }
  std::sort(wals.begin(), wals.end());
  auto mem = new_memtable();
  for (size_t i = 0; i < wals.size(); ++i) {
    auto complete = co_await replay_wal(wals[i], &mem, edit, max_seq);
    if (!complete) co_return complete.error();
    if (*complete == WalEnd::torn && i + 1 < wals.size()) {
      // Point-in-time recovery: nothing after a torn segment is applied, so the recovered state
      // is a prefix of the acknowledged history.
      STRATA_LOG(warn, "%s: WAL %06llu ends in a torn record; ignoring %zu later segment(s)", path_.c_str(),
                 static_cast<unsigned long long>(wals[i]), wals.size() - i - 1);
      break;
    }
  }
  if (!mem->empty()) {
    auto built = co_await build_table(*fs_, path_, versions_->new_file_number(), mem, table_options(), {});
    if (!built) co_return built.error();
    if (built->meta.num_entries > 0) edit->add_file(0, built->meta);
  }
  co_return ok();
}

// Replays one WAL segment into *mem, writing *mem to an L0 table whenever it fills up. Returns
// false if the segment ends in a torn or garbled tail (which is dropped).
asio::awaitable<Result<DBImpl::WalEnd>> DBImpl::replay_wal(uint64_t number, std::shared_ptr<MemTable>* mem,
                                                           VersionEdit* edit, SequenceNumber* max_seq) {
  std::string path = wal_file_name(path_, number);
  auto opened = co_await fs_->open(path, io::OpenOptions{.read_only = true});
  if (!opened) co_return opened.error();
  auto file = std::move(*opened);
  wal::WalReader reader(*file, number);

  struct Inserter : WriteBatch::Handler {
    MemTable* mem;
    void put(SequenceNumber seq, std::string_view k, std::string_view v) override {
      mem->add(seq, ValueType::value, k, v);
    }
    void del(SequenceNumber seq, std::string_view k) override { mem->add(seq, ValueType::deletion, k, {}); }
  };
  uint64_t records = 0;
  while (true) {
    auto record = co_await reader.read_record();
    if (!record) co_return record.error();
    if (!*record) break;
    auto batch = WriteBatchInternal::from_contents(std::move(**record));
    if (!batch) {
      STRATA_LOG(error, "%s: WAL record ending at %llu is not a write batch", path.c_str(),
                 static_cast<unsigned long long>(reader.last_record_end_offset()));
      co_return make_error_code(Errc::corruption);
    }
    if (batch->count() == 0) continue;
    Inserter inserter;
    inserter.mem = mem->get();
    auto applied = batch->iterate(inserter);
    if (!applied) {
      STRATA_LOG(error, "%s: malformed write batch ending at %llu", path.c_str(),
                 static_cast<unsigned long long>(reader.last_record_end_offset()));
      co_return make_error_code(Errc::corruption);
    }
    *max_seq = std::max(*max_seq, WriteBatchInternal::sequence(*batch) + batch->count() - 1);
    ++records;
    if ((*mem)->approximate_memory_usage() >= options_.memtable_size_bytes) {
      auto built = co_await build_table(*fs_, path_, versions_->new_file_number(), *mem, table_options(), {});
      if (!built) co_return built.error();
      if (built->meta.num_entries > 0) edit->add_file(0, built->meta);
      *mem = new_memtable();
    }
  }
  auto stop = *reader.stop();
  STRATA_LOG(info, "%s: replayed %llu records (%s at offset %llu)", path.c_str(),
             static_cast<unsigned long long>(records), wal::WalReader::reason_name(stop.reason),
             static_cast<unsigned long long>(stop.offset));
  if (stop.reason == wal::WalReader::Stop::clean_end || stop.reason == wal::WalReader::Stop::zeros)
    co_return WalEnd::complete;
  // Only the last write to a segment can be torn by a crash: every earlier write completed (and,
  // for synced writes, was synced) before it was issued. A crash may persist the pages of that
  // last write out of order, so valid fragments may follow the tear within one write's extent
  // (at most kMaxGroupBytes, or one larger batch). A valid record beyond that extent means data
  // written before the last write is damaged: report corruption rather than drop it.
  uint64_t max_extent = std::max<uint64_t>(kMaxGroupBytes, options_.max_value_size_bytes + options_.max_key_size_bytes);
  uint64_t beyond = (stop.offset + max_extent + 2 * wal::kBlockSize) / wal::kBlockSize * wal::kBlockSize;
  wal::FileView tail(*file, beyond);
  wal::WalReader tail_reader(tail, number);
  auto first = co_await tail_reader.read_record();
  if (!first) co_return first.error();
  bool valid_beyond = first->has_value();
  if (!valid_beyond) {
    auto found = co_await tail_reader.find_valid_fragment_after_stop();
    if (!found) co_return found.error();
    valid_beyond = found->has_value();
  }
  if (valid_beyond) {
    STRATA_LOG(error, "%s: corrupt WAL record at offset %llu (%s) with valid records after offset %llu", path.c_str(),
               static_cast<unsigned long long>(stop.offset), wal::WalReader::reason_name(stop.reason),
               static_cast<unsigned long long>(beyond));
    co_return make_error_code(Errc::corruption);
  }
  STRATA_LOG(warn, "%s: dropping a torn tail at offset %llu (%s)", path.c_str(),
             static_cast<unsigned long long>(stop.offset), wal::WalReader::reason_name(stop.reason));
  co_return WalEnd::torn;
}

// Removes WAL segments below the log number, and SSTables that no live Version names and no
// running job is writing: inputs of finished compactions once the last reader, iterator or job
// holding their Version lets go, and tables left by a crash between writing a table and
// committing it. Runs at open and after every flush and compaction.
// Order matters: list the directory, then read the pending outputs, then the live Versions. A
// table created after the listing is not seen; one listed is pending when the pending set is
// read, or already named by an installed Version when the live set is read.
asio::awaitable<Result<void>> DBImpl::delete_obsolete_files() {
  uint64_t log_number = versions_->log_number();
  auto wal_names = co_await fs_->list_dir(wal_dir_name(path_));
  if (!wal_names) co_return wal_names.error();
  for (const auto& name : *wal_names) {
    auto parsed = parse_file_name(name);
    if (!parsed || parsed->kind != FileKind::wal || parsed->number >= log_number) continue;
    auto removed = co_await fs_->remove(io::join_path(wal_dir_name(path_), name));
    if (!removed) STRATA_LOG(warn, "cannot remove WAL %s: %s", name.c_str(), removed.error().message().c_str());
  }
  auto names = co_await fs_->list_dir(path_);
  if (!names) co_return names.error();
  // Pending outputs are read before the live files: a job releases its outputs only after the
  // Version naming them is installed, so a file is always in at least one of the two sets.
  std::set<uint64_t> live;
  bool opening = false;
  {
    std::lock_guard lock(mu_);
    opening = !opened_;
    live.insert(pending_outputs_.begin(), pending_outputs_.end());
  }
  auto versions_live = versions_->live_files();
  live.insert(versions_live.begin(), versions_live.end());
  for (const auto& name : *names) {
    auto parsed = parse_file_name(name);
    if (!parsed || parsed->kind != FileKind::table || live.contains(parsed->number)) continue;
    if (opening) STRATA_LOG(info, "%s: removing orphan SSTable %s", path_.c_str(), name.c_str());
    table_cache_->evict(parsed->number);
    auto removed = co_await fs_->remove(io::join_path(path_, name));
    if (removed) STRATA_KILL_POINT("obsolete.after_delete");
    if (!removed && removed.error() != make_error_code(Errc::not_found)) {
      STRATA_LOG(warn, "cannot remove %s: %s", name.c_str(), removed.error().message().c_str());
    }
  }
  co_return ok();
}

asio::awaitable<Result<void>> DBImpl::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_ || closing_) co_return ok();
    closing_ = true;
  }
  if (sync_loop_started_) {
    asio::post(sync_timer_->get_executor(), [t = sync_timer_.get()] { t->cancel(); });
    co_await sync_loop_done_.wait();
  }
  // Let the current write leader finish every queued write.
  while (true) {
    Oneshot<bool> idle;
    {
      std::lock_guard lock(mu_);
      if (!leader_active_ && queue_.empty()) break;
      idle_waiters_.push_back(idle);
    }
    co_await idle.wait();
  }
  Result<void> result = ok();
  if (wal_ != nullptr && opened_) {
    auto synced = co_await wal_->flush(/*sync=*/true);
    if (!synced) result = synced.error();
  }
  // Let a running flush finish (it may still be writing an SSTable); stop running compactions.
  cancel_jobs_.store(true);
  while (true) {
    Oneshot<bool> done;
    {
      std::lock_guard lock(mu_);
      if (!flush_running_ && running_compactions_ == 0 && !manual_compaction_) break;
      flush_waiters_.push_back(done);
    }
    co_await done.wait();
  }
  if (table_cache_) table_cache_->clear();
  block_cache_.clear();
  wal_.reset();
  lock_.reset();
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  co_return result;
}

DbStats DBImpl::stats() const {
  DbStats s;
  s.last_sequence = latest_sequence();
  auto sv = super_version();
  CompactionPickerOptions popts;
  {
    std::lock_guard lock(mu_);
    popts = picker_options_locked();
    s.running_compactions = static_cast<uint64_t>(running_compactions_);
  }
  if (sv) {
    auto scores = compaction_scores(*sv->version, popts);
    s.memtable_size_bytes = sv->mem->approximate_memory_usage();
    s.memtable_keys = sv->mem->num_entries();
    s.immutable_memtables = sv->imms.size();
    for (int level = 0; level < kNumLevels; ++level) {
      LevelStats l;
      l.level = level;
      l.file_count = sv->version->files(level).size();
      l.size_bytes = sv->version->level_bytes(level);
      l.target_bytes = level == 0 ? 0 : max_bytes_for_level(popts, level);
      l.compaction_score = scores[level];
      s.sstable_count += l.file_count;
      s.total_sstable_size_bytes += l.size_bytes;
      s.levels.push_back(l);
    }
  }
  s.puts = puts_.load();
  s.deletes = deletes_.load();
  s.gets = gets_.load();
  s.scans = scans_.load();
  s.bytes_written_user = bytes_user_.load();
  s.bytes_written_wal = bytes_wal_.load();
  s.bytes_written_flush = bytes_flush_.load();
  s.wal_syncs = wal_syncs_.load();
  s.wal_sync_latency = wal_sync_latency_.snapshot();
  s.write_groups = write_groups_.load();
  s.flushes = flushes_.load();
  s.stall_micros = stall_micros_.load();
  s.compactions = compactions_.load();
  s.trivial_moves = trivial_moves_.load();
  s.seek_compactions = seek_compactions_.load();
  s.seek_compactions_preempted = seek_compactions_preempted_.load();
  s.bytes_read_compaction = bytes_compaction_read_.load();
  s.bytes_written_compaction = bytes_compaction_written_.load();
  s.compaction_micros = compaction_micros_.load();
  s.compaction_dropped_entries = compaction_dropped_entries_.load();
  s.table_probes = table_probes_.load();
  s.block_reads = read_stats_.data_blocks_read.load(std::memory_order_relaxed);
  s.block_read_bytes = read_stats_.data_bytes_read.load(std::memory_order_relaxed);
  s.block_reads_page_cache = read_stats_.page_cache_reads.load();
  s.block_reads_mapped = read_stats_.mapped_reads.load();
  s.bloom_checks = read_stats_.bloom_checks.load(std::memory_order_relaxed);
  s.bloom_negatives = read_stats_.bloom_negatives.load(std::memory_order_relaxed);
  s.block_cache_hits = read_stats_.block_cache_hits.load(std::memory_order_relaxed);
  s.block_cache_misses = read_stats_.block_cache_misses.load(std::memory_order_relaxed);
  s.block_cache_usage_bytes = block_cache_.usage();
  s.block_cache_capacity_bytes = block_cache_.capacity();
  if (table_cache_) {
    s.table_cache_hits = table_cache_->hits();
    s.table_cache_misses = table_cache_->misses();
    s.open_tables = table_cache_->open_readers();
  }
  s.sync_policy = std::string(to_string(options_.sync));
  std::lock_guard lock(mu_);
  s.read_only = static_cast<bool>(bg_error_);
  s.read_only_reason = bg_error_reason_;
  return s;
}

}  // namespace strata
