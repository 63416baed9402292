// DBImpl: compaction scheduling, running, manual compact_range, and version edit installation.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "lib/db/db_impl.h"
#include "lib/util/kill_point.h"
#include "lib/util/logging.h"
#include "lib/util/thread_priority.h"

namespace strata {

namespace asio = boost::asio;

// Runs on: any executor. Serialized with every other version edit by version_mu_.
asio::awaitable<Result<void>> DBImpl::apply_version_edit(VersionEdit edit) {
  auto guard = co_await version_mu_.lock();
  co_return co_await versions_->log_and_apply(std::move(edit));
}

CompactionPickerOptions DBImpl::picker_options_locked() const {
  return CompactionPickerOptions{
      .l0_compaction_trigger = mutable_.l0_compaction_trigger,
      .max_bytes_for_level_base = mutable_.max_bytes_for_level_base,
      .max_bytes_for_level_multiplier = mutable_.max_bytes_for_level_multiplier,
      .target_file_size_bytes = mutable_.target_file_size_bytes,
  };
}

Result<void> DBImpl::set_option(std::string_view name, std::string_view value, std::string* why) {
  std::string reason;
  std::lock_guard lock(mu_);
  auto set = mutable_.set(name, value, &reason);
  if (!set) {
    STRATA_LOG(warn, "%s: set_option %.*s=%.*s refused: %s", path_.c_str(), static_cast<int>(name.size()), name.data(),
               static_cast<int>(value.size()), value.data(), reason.c_str());
    if (why != nullptr) *why = reason;
    return set.error();
  }
  STRATA_LOG(info, "%s: option %.*s set to %.*s", path_.c_str(), static_cast<int>(name.size()), name.data(),
             static_cast<int>(value.size()), value.data());
  max_background_compactions_ = mutable_.max_background_compactions;
  // New triggers or slots may start compactions or release stalled writers.
  notify_flush_waiters_locked();
  maybe_schedule_compaction_locked();
  return ok();
}

std::vector<OptionInfo> DBImpl::option_list() const {
  std::vector<OptionInfo> out;
  {
    std::lock_guard lock(mu_);
    for (auto& [n, v] : mutable_.list()) out.push_back(OptionInfo{n, v, true});
  }
  auto add = [&](std::string n, std::string v) { out.push_back(OptionInfo{std::move(n), std::move(v), false}); };
  add("sync", std::string(to_string(options_.sync)));
  add("sync_batch_interval_ms", std::to_string(options_.sync_batch_interval_ms));
  add("max_immutable_memtables", std::to_string(options_.max_immutable_memtables));
  add("wal_preallocate_bytes", std::to_string(options_.wal_preallocate_bytes));
  add("block_size_bytes", std::to_string(options_.block_size_bytes));
  add("block_restart_interval", std::to_string(options_.block_restart_interval));
  add("compression", std::string(sstable::to_string(options_.compression)));
  add("block_cache_bytes", std::to_string(block_cache_.capacity()));
  add("max_key_size_bytes", std::to_string(options_.max_key_size_bytes));
  add("max_value_size_bytes", std::to_string(options_.max_value_size_bytes));
  add("max_open_files", std::to_string(options_.max_open_files));
  add("mmap_reads", options_.mmap_reads ? "true" : "false");
  add("use_direct_reads", options_.use_direct_reads ? "true" : "false");
  add("memtable_bloom_size_ratio", std::to_string(options_.memtable_bloom_size_ratio));
  add("seek_compaction", options_.seek_compaction ? "true" : "false");
  add("seek_compaction_bytes_per_sec", std::to_string(options_.seek_compaction_bytes_per_sec));
  add("seek_compaction_low_priority", options_.seek_compaction_low_priority ? "true" : "false");
  add("memtable_huge_pages", options_.memtable_huge_pages ? "true" : "false");
  return out;
}

uint64_t DBImpl::new_pending_output() {
  uint64_t number = versions_->new_file_number();
  std::lock_guard lock(mu_);
  pending_outputs_.insert(number);
  return number;
}

void DBImpl::release_pending_outputs(const std::vector<uint64_t>& numbers) {
  std::lock_guard lock(mu_);
  for (uint64_t n : numbers) pending_outputs_.erase(n);
}

std::vector<SequenceNumber> DBImpl::live_snapshots() const {
  std::lock_guard lock(mu_);
  return std::vector<SequenceNumber>(snapshots_.begin(), snapshots_.end());
}

// Starts as many compactions as the slots allow and the picker finds.
void DBImpl::maybe_schedule_compaction_locked() {
  while (opened_ && !closing_ && !bg_error_ && !manual_compaction_ &&
         running_compactions_ < max_background_compactions_) {
    auto c = pick_compaction(versions_->current(), picker_options_locked(), &picker_);
    if (!c) return;
    c->for_each_input([&](const FileMetaData& f) { picker_.busy_files.insert(f.number); });
    picker_.busy_output_levels.insert(c->output_level());
    ++running_compactions_;
    // A seek compaction is optional work: low priority and paced as the options say, unless a
    // flush preempted the last one (then writes are coming, and the levels it holds must be freed
    // at full speed).
    JobMode mode;
    if (c->seek_triggered) {
      mode.low_priority = options_.seek_compaction_low_priority && !seek_compaction_preempted_;
      mode.paced = options_.seek_compaction_bytes_per_sec > 0 && !seek_compaction_preempted_;
      seek_compaction_preempted_ = false;
    }
    auto& pool = mode.low_priority ? low_priority_pool_ : compaction_pool_;
    // blocking.never: the task must not start inline on this thread, which holds mu_ (co_spawn
    // dispatches, and we may be on a compaction thread already).
    asio::co_spawn(asio::require(pool.get_executor(), asio::execution::blocking.never),
                   compaction_task(std::move(*c), mode), asio::detached);
  }
}

// Runs on: compaction_pool_, or low_priority_pool_ when low_priority. Lifetime: close() waits
// until running_compactions_ is 0.
asio::awaitable<void> DBImpl::compaction_task(Compaction c, JobMode mode) {
  if (mode.low_priority) {
    // The pool's one thread lowers itself once, and stays lowered (it runs nothing else).
    thread_local bool lowered = false;
    if (!lowered) lowered = set_current_thread_nice(kLowestNice).has_value();
  }
  std::vector<uint64_t> inputs;
  c.for_each_input([&](const FileMetaData& f) { inputs.push_back(f.number); });
  const int level = c.level;
  const uint64_t seek_file = c.seek_file;
  auto done = co_await run_compaction_job(std::move(c), mode);
  std::lock_guard lock(mu_);
  for (uint64_t n : inputs) picker_.busy_files.erase(n);
  picker_.busy_output_levels.erase(level + 1);
  --running_compactions_;
  if (!done && mode.low_priority && done.error() == make_error_code(Errc::busy)) {
    // Preempted by a flush: pick it again (at normal priority) after whatever the flush needs.
    seek_compactions_preempted_.fetch_add(1, std::memory_order_relaxed);
    seek_compaction_preempted_ = true;
    if (!picker_.seek_compaction) picker_.seek_compaction.emplace(level, seek_file);
    STRATA_LOG(info, "%s: low-priority seek compaction of L%d %06llu.sst preempted by a flush; it will be retried",
               path_.c_str(), level, static_cast<unsigned long long>(seek_file));
  } else if (!done && done.error() != make_error_code(Errc::shutting_down)) {
    set_read_only_locked(done.error(),
                         "compaction of L" + std::to_string(level) + " failed: " + done.error().message());
  }
  notify_flush_waiters_locked();
  maybe_schedule_compaction_locked();
}

// Runs one compaction to its installed version edit and removes what it made obsolete. Takes the
// Compaction by value so that its input Version is released before the cleanup (else it would
// pin the very inputs it made obsolete).
// Runs on: compaction_pool_ (the merge is CPU-heavy and must not run on the request executor).
asio::awaitable<Result<void>> DBImpl::run_compaction_job(Compaction c, JobMode mode) {
  VersionEdit edit;
  for (int which = 0; which < 2; ++which) {
    for (const auto& f : c.inputs[which]) edit.delete_file(c.level + which, f->number);
  }
  if (c.is_trivial_move()) {
    const auto& f = *c.inputs[0].front();
    edit.add_file(c.output_level(), f);
    STRATA_CO_TRY(co_await apply_version_edit(std::move(edit)));
    trivial_moves_.fetch_add(1, std::memory_order_relaxed);
    STRATA_LOG(debug, "%s: moved SSTable %06llu from L%d to L%d", path_.c_str(),
               static_cast<unsigned long long>(f.number), c.level, c.output_level());
    std::lock_guard lock(mu_);
    install_super_version_locked();
    co_return ok();
  }

  std::vector<uint64_t> outputs;
  std::mutex outputs_mu;  // new_file_number runs on the job's coroutine only, but stays safe
  CompactionJobContext ctx;
  ctx.fs = fs_;
  ctx.db_dir = path_;
  ctx.table_options = table_options();
  ctx.snapshots = live_snapshots();
  ctx.cancel = &cancel_jobs_;
  ctx.new_file_number = [&]() {
    uint64_t n = new_pending_output();
    std::lock_guard lock(outputs_mu);
    outputs.push_back(n);
    return n;
  };
  ctx.open = [this](const FileMetaData& f) -> asio::awaitable<Result<std::unique_ptr<InternalIterator>>> {
    auto reader = co_await table(f);
    if (!reader) co_return reader.error();
    co_return (*reader)->new_iterator(/*fill_cache=*/false);  // a compaction's reads would evict hot blocks
  };
  if (mode.paced) {
    const uint64_t flushes_at_start = flushes_.load(std::memory_order_relaxed);
    const uint64_t rate = options_.seek_compaction_bytes_per_sec;
    ctx.max_bytes_per_second = [this, flushes_at_start, rate]() -> uint64_t {
      return flushes_.load(std::memory_order_relaxed) == flushes_at_start ? rate : 0;
    };
  }
  if (mode.low_priority) {
    const uint64_t flushes_at_start = flushes_.load(std::memory_order_relaxed);
    ctx.preempted = [this, flushes_at_start] { return flushes_.load(std::memory_order_relaxed) != flushes_at_start; };
  }
  auto result = co_await run_compaction(c, std::move(ctx));
  if (!result) {
    release_pending_outputs(outputs);
    if (mode.low_priority && result.error() == make_error_code(Errc::busy)) co_return result.error();
    if (result.error() != make_error_code(Errc::shutting_down)) {
      STRATA_LOG(error, "%s: compaction L%d->L%d failed: %s", path_.c_str(), c.level, c.output_level(),
                 result.error().message().c_str());
    }
    co_return result.error();
  }
  STRATA_KILL_POINT("compaction.after_outputs_written");
  for (const auto& f : result->files) edit.add_file(c.output_level(), f);
  // The install takes version_mu_, which flushes wait for: at normal priority, so that a starved
  // low-priority thread never holds it.
  auto applied = mode.low_priority ? co_await asio::co_spawn(compaction_pool_.get_executor(),
                                                             apply_version_edit(std::move(edit)), asio::use_awaitable)
                                   : co_await apply_version_edit(std::move(edit));
  release_pending_outputs(outputs);
  if (!applied) co_return applied.error();

  STRATA_KILL_POINT("compaction.after_manifest");
  const auto& st = result->stats;
  compactions_.fetch_add(1, std::memory_order_relaxed);
  if (c.seek_triggered) seek_compactions_.fetch_add(1, std::memory_order_relaxed);
  bytes_compaction_read_.fetch_add(st.input_bytes, std::memory_order_relaxed);
  bytes_compaction_written_.fetch_add(st.output_bytes, std::memory_order_relaxed);
  compaction_micros_.fetch_add(st.micros, std::memory_order_relaxed);
  compaction_dropped_entries_.fetch_add(st.dropped_hidden + st.dropped_tombstones, std::memory_order_relaxed);
  STRATA_LOG(info,
             "%s: compacted L%d->L%d%s: %llu files, %llu bytes in; %zu files, %llu bytes out; %llu entries dropped "
             "(%llu tombstones) in %llu ms",
             path_.c_str(), c.level, c.output_level(),
             c.manual           ? " (manual)"
             : c.seek_triggered ? " (seek)"
                                : "",
             static_cast<unsigned long long>(st.input_files), static_cast<unsigned long long>(st.input_bytes),
             result->files.size(), static_cast<unsigned long long>(st.output_bytes),
             static_cast<unsigned long long>(st.dropped_hidden + st.dropped_tombstones),
             static_cast<unsigned long long>(st.dropped_tombstones), static_cast<unsigned long long>(st.micros / 1000));
  {
    std::lock_guard lock(mu_);
    install_super_version_locked();
  }
  c = Compaction{};
  auto cleaned = co_await delete_obsolete_files();
  if (!cleaned)
    STRATA_LOG(warn, "%s: obsolete file cleanup failed: %s", path_.c_str(), cleaned.error().message().c_str());
  co_return ok();
}

// Waits for the next flush or compaction step (or an error). Errors: read_only.
asio::awaitable<Result<void>> DBImpl::wait_for_background_event() {
  Oneshot<bool> event;
  {
    std::lock_guard lock(mu_);
    if (bg_error_) co_return make_error_code(Errc::read_only);
    flush_waiters_.push_back(event);
  }
  co_await event.wait();
  co_return ok();
}

// Flushes, then compacts every level's files overlapping [begin, end] into the next level, top
// down (LevelDB's CompactRange), so that afterwards the range lives in one level with every
// version no snapshot needs dropped and, at the bottom, no tombstones. Automatic compactions
// pause while it runs.
asio::awaitable<Result<void>> DBImpl::compact_range(std::string begin, std::string end) {
  STRATA_CO_TRY(co_await flush());
  while (true) {
    Oneshot<bool> event;
    {
      std::lock_guard lock(mu_);
      if (closing_ || closed_) co_return make_error_code(Errc::shutting_down);
      if (bg_error_) co_return make_error_code(Errc::read_only);
      if (!manual_compaction_ && running_compactions_ == 0) {
        manual_compaction_ = true;
        break;
      }
      flush_waiters_.push_back(event);
    }
    co_await event.wait();
  }
  Result<void> result = ok();
  // The deepest level holding part of the range: compacting down to it (and not further) leaves
  // the range in one level.
  int deepest = 0;
  {
    auto v = versions_->current();
    for (int level = 1; level < kNumLevels; ++level) {
      if (!v->overlapping_files(level, begin, end).empty()) deepest = level;
    }
  }
  int last_input_level = std::max(0, std::min(deepest, kNumLevels - 2));
  for (int level = 0; level <= last_input_level && result; ++level) {
    CompactionPickerOptions popts;
    {
      std::lock_guard lock(mu_);
      popts = picker_options_locked();
    }
    auto c = pick_range_compaction(versions_->current(), popts, level, begin, end);
    if (!c) continue;
    auto ran = co_await asio::co_spawn(compaction_pool_.get_executor(), run_compaction_job(std::move(*c), JobMode{}),
                                       asio::use_awaitable);
    c.reset();
    if (!ran) {
      result = ran.error();
      if (ran.error() != make_error_code(Errc::shutting_down)) {
        set_read_only(ran.error(),
                      "manual compaction of L" + std::to_string(level) + " failed: " + ran.error().message());
      }
    }
  }
  std::lock_guard lock(mu_);
  manual_compaction_ = false;
  notify_flush_waiters_locked();
  maybe_schedule_compaction_locked();
  co_return result;
}

}  // namespace strata
