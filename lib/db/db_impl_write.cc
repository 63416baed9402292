// DBImpl: the write path — group commit into the WAL, memtable switches, and the flush loop.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "lib/db/db_impl.h"
#include "lib/db/flush_job.h"
#include "lib/memtable/write_batch_internal.h"
#include "lib/util/clock.h"
#include "lib/util/kill_point.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"

namespace strata {

namespace asio = boost::asio;

asio::awaitable<Result<SequenceNumber>> DBImpl::write(WriteBatch batch, WriteOptions options) {
  auto w = std::make_shared<PendingWrite>();
  SyncPolicy policy = options.sync.value_or(options_.sync);
  w->sync = policy == SyncPolicy::always;
  w->rotate = false;
  w->batch = std::move(batch);
  auto queued = enqueue(w);
  if (!queued) co_return queued.error();
  bool lead_now = *queued == QueueRole::leader;
  if (!lead_now) {
    bool become_leader = co_await w->wake.wait();
    if (!become_leader) co_return w->result;
  }
  co_await lead(w);
  co_return w->result;
}

// Appends w to the write queue. Returns true if the caller became the leader and must run lead(w);
// false if it must wait on w->wake. Errors: shutting_down, read_only.
Result<DBImpl::QueueRole> DBImpl::enqueue(std::shared_ptr<PendingWrite> w) {
  std::lock_guard lock(mu_);
  if (closing_ || closed_ || !opened_) return make_error_code(Errc::shutting_down);
  if (bg_error_) return make_error_code(Errc::read_only);
  queue_.push_back(std::move(w));
  if (leader_active_) return QueueRole::follower;
  leader_active_ = true;
  return QueueRole::leader;
}

// Runs on: the leader's executor. REQUIRES: leader_active_ and self at the front of queue_.
asio::awaitable<void> DBImpl::lead(std::shared_ptr<PendingWrite> self) {
  std::vector<std::shared_ptr<PendingWrite>> group;
  {
    std::lock_guard lock(mu_);
    STRATA_ASSERT(!queue_.empty() && queue_.front() == self);
    size_t bytes = 0;
    while (!queue_.empty()) {
      auto& next = queue_.front();
      if (!group.empty() && (next->rotate || bytes + next->batch.byte_size() > kMaxGroupBytes)) break;
      bytes += next->batch.byte_size();
      group.push_back(next);
      queue_.pop_front();
      if (group.back()->rotate) break;  // a rotation request is a group of its own
    }
  }
  auto committed = co_await commit_group(group);
  for (auto& w : group) {
    if (!committed) w->result = committed.error();
    if (w != self) w->wake.set(false);
  }
  std::lock_guard lock(mu_);
  if (!queue_.empty()) {
    queue_.front()->wake.set(true);  // hand leadership to the next writer
  } else {
    leader_active_ = false;
    for (auto& idle : idle_waiters_) idle.set(true);
    idle_waiters_.clear();
  }
}

asio::awaitable<Result<SequenceNumber>> DBImpl::commit_group(std::vector<std::shared_ptr<PendingWrite>>& group) {
  bool rotate = group.size() == 1 && group.front()->rotate;
  auto room = co_await make_room_for_write(rotate);
  if (!room) co_return room.error();
  if (rotate) co_return latest_sequence();

  SequenceNumber seq = latest_sequence() + 1;
  bool sync = false;
  uint64_t wal_bytes_before = wal_->offset() + wal_->pending_bytes();
  for (auto& w : group) {
    sync = sync || w->sync;
    uint32_t n = w->batch.count();
    if (n == 0) {
      w->result = seq - 1;
      continue;
    }
    WriteBatchInternal::set_sequence(&w->batch, seq);
    seq += n;
    w->result = seq - 1;
    wal_->add_record(WriteBatchInternal::contents(w->batch));
  }
  uint64_t now = SystemClock::instance().now_micros();
  if (options_.sync == SyncPolicy::batch && wal_unsynced_.load() &&
      now - last_sync_micros_ >= uint64_t{options_.sync_batch_interval_ms} * 1000) {
    sync = true;
  }
  if (wal_->pending_bytes() > 0 || (sync && wal_unsynced_.load())) {
    const uint64_t flush_start = sync ? SystemClock::instance().now_micros() : 0;
    auto flushed = co_await wal_->flush(sync);
    if (!flushed) {
      set_read_only(flushed.error(),
                    "WAL " + std::to_string(wal_number_) + " write/sync failed: " + flushed.error().message());
      co_return flushed.error();
    }
    STRATA_KILL_POINT("write.after_wal_before_memtable");
    write_groups_.fetch_add(1, std::memory_order_relaxed);
    bytes_wal_.fetch_add(wal_->offset() - wal_bytes_before, std::memory_order_relaxed);
    if (sync) {
      wal_syncs_.fetch_add(1, std::memory_order_relaxed);
      wal_sync_latency_.observe(SystemClock::instance().now_micros() - flush_start);
      last_sync_micros_ = now;
      wal_unsynced_.store(false);
    } else {
      wal_unsynced_.store(true);
    }
  }

  struct Inserter : WriteBatch::Handler {
    MemTable* mem;
    uint64_t puts = 0, dels = 0;
    void put(SequenceNumber s, std::string_view k, std::string_view v) override {
      mem->add(s, ValueType::value, k, v);
      ++puts;
    }
    void del(SequenceNumber s, std::string_view k) override {
      mem->add(s, ValueType::deletion, k, {});
      ++dels;
    }
  } inserter;
  inserter.mem = mem_.get();
  for (auto& w : group) {
    if (w->batch.count() == 0) continue;
    auto applied = w->batch.iterate(inserter);
    STRATA_ASSERT_MSG(applied.has_value(), "a batch built by the DB API is well-formed");
  }
  for (auto& w : group)
    bytes_user_.fetch_add(w->batch.byte_size() - WriteBatchInternal::kHeaderSize, std::memory_order_relaxed);
  puts_.fetch_add(inserter.puts, std::memory_order_relaxed);
  deletes_.fetch_add(inserter.dels, std::memory_order_relaxed);
  // Publish: readers that load this sequence number find every entry of the group.
  last_sequence_.store(seq - 1, std::memory_order_release);
  co_return seq - 1;
}

// Runs on: the leader. Switches the memtable when it is full (or when asked), stalling while
// too many immutable memtables wait for their flush.
asio::awaitable<Result<void>> DBImpl::make_room_for_write(bool force_rotate) {
  bool delayed = false;
  while (true) {
    Oneshot<bool> flushed;
    bool must_wait = false;
    bool must_delay = false;
    {
      std::lock_guard lock(mu_);
      if (bg_error_) co_return make_error_code(Errc::read_only);
      int l0_files = static_cast<int>(versions_->current()->files(0).size());
      bool full = !mem_->empty() && mem_->approximate_memory_usage() >= mutable_.memtable_size_bytes;
      if (!force_rotate && !delayed && l0_files >= mutable_.l0_slowdown_writes_trigger) {
        // Slow down rather than stop: one 1 ms delay per write group hands the CPU to the
        // compaction (LevelDB's MakeRoomForWrite).
        must_delay = true;
      } else if (!force_rotate && l0_files >= mutable_.l0_stop_writes_trigger) {
        flush_waiters_.push_back(flushed);
        must_wait = true;
      } else {
        if (force_rotate && mem_->empty()) co_return ok();
        if (!force_rotate && !full) co_return ok();
        if (static_cast<int>(imms_.size()) >= options_.max_immutable_memtables) {
          flush_waiters_.push_back(flushed);
          must_wait = true;
        }
      }
    }
    if (must_delay) {
      uint64_t start = SystemClock::instance().now_micros();
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(1));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      stall_micros_.fetch_add(SystemClock::instance().now_micros() - start, std::memory_order_relaxed);
      delayed = true;
      continue;
    }
    if (must_wait) {
      uint64_t start = SystemClock::instance().now_micros();
      STRATA_LOG(debug, "%s: writes stalled until a flush or compaction completes", path_.c_str());
      co_await flushed.wait();
      stall_micros_.fetch_add(SystemClock::instance().now_micros() - start, std::memory_order_relaxed);
      continue;
    }
    auto switched = co_await switch_memtable();
    if (!switched) co_return switched.error();
    // A rotation request (DB::flush) is done once the memtable is switched: it writes nothing,
    // so it must not wait for L0 below the stop trigger (it would wait on a compaction that may
    // itself be waiting for the flush it asked for).
    if (force_rotate) co_return ok();
  }
}

asio::awaitable<Result<void>> DBImpl::switch_memtable() {
  // Make the old segment durable first under the syncing policies, so that a later segment never
  // holds acknowledged writes while an earlier one has unsynced ones.
  if (options_.sync != SyncPolicy::none && wal_unsynced_.load()) {
    auto synced = co_await wal_->flush(/*sync=*/true);
    if (!synced) {
      set_read_only(synced.error(), "WAL sync before switch failed: " + synced.error().message());
      co_return synced.error();
    }
    wal_unsynced_.store(false);
  }
  uint64_t number = versions_->new_file_number();
  auto wal = co_await new_wal(number);
  if (!wal) {
    set_read_only(wal.error(), "cannot create WAL " + std::to_string(number) + ": " + wal.error().message());
    co_return wal.error();
  }
  STRATA_KILL_POINT("memtable.after_new_wal");
  std::lock_guard lock(mu_);
  imms_.push_front(Immutable{mem_, number});
  mem_ = new_memtable();
  wal_ = std::move(*wal);
  wal_number_ = number;
  install_super_version_locked();
  maybe_schedule_flush_locked();
  co_return ok();
}

void DBImpl::install_super_version_locked() {
  auto sv = std::make_shared<SuperVersion>();
  sv->mem = mem_;
  for (const auto& imm : imms_) sv->imms.push_back(imm.mem);
  sv->version = versions_->current();
  sv_ = std::move(sv);
}

void DBImpl::maybe_schedule_flush_locked() {
  if (flush_running_ || imms_.empty() || bg_error_) return;
  flush_running_ = true;
  // blocking.never: never start inline while the caller holds mu_.
  asio::co_spawn(asio::require(bg_pool_.get_executor(), asio::execution::blocking.never), flush_loop(), asio::detached);
}

void DBImpl::notify_flush_waiters_locked() {
  for (auto& w : flush_waiters_) w.set(true);
  flush_waiters_.clear();
}

void DBImpl::set_read_only_locked(ErrorCode ec, std::string reason) {
  if (bg_error_) return;
  bg_error_ = ec;
  bg_error_reason_ = std::move(reason);
  STRATA_LOG(error, "%s: entering read-only mode: %s", path_.c_str(), bg_error_reason_.c_str());
  notify_flush_waiters_locked();
}

void DBImpl::set_read_only(ErrorCode ec, std::string reason) {
  std::lock_guard lock(mu_);
  set_read_only_locked(ec, std::move(reason));
}

// Runs on: bg_pool_. Flushes immutable memtables oldest first until none is left.
asio::awaitable<void> DBImpl::flush_loop() {
  while (true) {
    Immutable imm;
    std::vector<SequenceNumber> snapshots;
    {
      std::lock_guard lock(mu_);
      if (imms_.empty() || bg_error_) {
        flush_running_ = false;
        notify_flush_waiters_locked();
        co_return;
      }
      imm = imms_.back();
      snapshots.assign(snapshots_.begin(), snapshots_.end());
    }
    uint64_t number = new_pending_output();
    auto built = co_await build_table(*fs_, path_, number, imm.mem, table_options(), std::move(snapshots));
    if (!built) {
      release_pending_outputs({number});
      set_read_only(built.error(),
                    "flush to SSTable " + std::to_string(number) + " failed: " + built.error().message());
      continue;
    }
    STRATA_KILL_POINT("flush.after_table_written");
    VersionEdit edit;
    if (built->meta.num_entries > 0) edit.add_file(0, built->meta);
    edit.log_number = imm.next_wal_number;
    edit.last_sequence = latest_sequence();
    auto applied = co_await apply_version_edit(std::move(edit));
    release_pending_outputs({number});
    if (!applied) {
      set_read_only(applied.error(), "manifest update after flush failed: " + applied.error().message());
      continue;
    }
    STRATA_KILL_POINT("flush.after_manifest");
    bytes_flush_.fetch_add(built->meta.file_size, std::memory_order_relaxed);
    flushes_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu_);
      imms_.pop_back();
      install_super_version_locked();
      notify_flush_waiters_locked();
      maybe_schedule_compaction_locked();
    }
    auto cleaned = co_await delete_obsolete_files();
    if (!cleaned)
      STRATA_LOG(warn, "%s: obsolete file cleanup failed: %s", path_.c_str(), cleaned.error().message().c_str());
  }
}

asio::awaitable<Result<void>> DBImpl::flush() {
  auto w = std::make_shared<PendingWrite>();
  w->rotate = true;
  auto queued = enqueue(w);
  if (!queued) co_return queued.error();
  bool lead_now = *queued == QueueRole::leader;
  bool become_leader = lead_now;
  if (!lead_now) become_leader = co_await w->wake.wait();
  if (become_leader) co_await lead(w);
  if (!w->result) co_return w->result.error();
  while (true) {
    Oneshot<bool> done;
    {
      std::lock_guard lock(mu_);
      if (bg_error_) co_return make_error_code(Errc::read_only);
      if (imms_.empty()) co_return ok();
      flush_waiters_.push_back(done);
    }
    co_await done.wait();
  }
}

// Runs on: executor_. Under SyncPolicy::batch, syncs the WAL at least every
// sync_batch_interval_ms while it holds unsynced writes, through the write queue (an empty
// synced write), so the leader protocol stays the only user of the WAL.
asio::awaitable<void> DBImpl::batch_sync_loop() {
  while (true) {
    sync_timer_->expires_after(std::chrono::milliseconds(options_.sync_batch_interval_ms));
    auto waited = co_await sync_timer_->async_wait(asio::as_tuple(asio::use_awaitable));
    (void)waited;  // cancelled by close(), which the closing_ check below sees
    {
      std::lock_guard lock(mu_);
      if (closing_) break;
    }
    if (wal_unsynced_.load()) {
      auto synced = co_await write(WriteBatch{}, WriteOptions{.sync = SyncPolicy::always});
      (void)synced;  // a failure already put the DB in read-only mode
    }
  }
  sync_loop_done_.set(true);
}

}  // namespace strata
