// DBImpl: the engine behind strata::DB (db.h). This header is internal to lib/db.
//
// Concurrency design (see DESIGN.md, "Write path" and "Read path"):
//  - Writers enqueue a PendingWrite; the first writer to find no leader becomes the leader, takes
//    every queued write (a group, up to kMaxGroupBytes), appends them to the WAL with one write
//    and at most one fdatasync (group commit, after LevelDB's DBImpl::Write), inserts them into
//    the memtable, publishes the new last sequence number and completes the group; it then hands
//    leadership to the next queued writer. Only the leader touches wal_ and mem_ (writes), so the
//    skiplist has one writer.
//  - Readers take a SuperVersion (active memtable, immutable memtables, Version) under mu_ and
//    then read without locks.
//  - One flush loop at a time runs on bg_pool_ (a single background thread) and writes the oldest
//    immutable memtable to an L0 SSTable, then commits a version edit.
//  - Compactions run on compaction_pool_, at most max_background_compactions_ at once, picked
//    under mu_ so that they never share input files (lib/compaction/compaction_picker.h). Flushes
//    and compactions commit their edits through apply_version_edit, which serializes
//    VersionSet::log_and_apply with version_mu_ (an AsyncMutex: it is held across the manifest
//    sync). Files a job is writing are pending outputs; files of replaced Versions are deleted
//    once no reader, iterator or job holds such a Version (VersionSet::live_files).
//  - A failed WAL/manifest/SSTable write or sync puts the DB in read-only mode (never retried).
// Thread-safety: public methods are safe from any thread; members are guarded as annotated.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lib/cache/lru_cache.h"
#include "lib/compaction/compaction_job.h"
#include "lib/compaction/compaction_picker.h"
#include "strata/db.h"
#include "lib/db/mutable_options.h"
#include "lib/db/point_lookup.h"
#include "lib/db/table_cache.h"
#include "lib/io/file_system.h"
#include "lib/memtable/memtable.h"
#include "lib/sstable/read_stats.h"
#include "lib/sstable/table_options.h"
#include "lib/sstable/table_reader.h"
#include "lib/util/async_mutex.h"
#include "strata/histogram.h"
#include "lib/util/oneshot.h"
#include "lib/util/striped_counter.h"
#include "lib/version/version_set.h"
#include "lib/wal/wal_writer.h"

namespace strata {

class DBImpl {
 public:
  static constexpr size_t kMaxGroupBytes = 4 << 20;

  DBImpl(boost::asio::any_io_executor executor, std::string path, Options options);
  ~DBImpl();

  boost::asio::awaitable<Result<void>> open();
  boost::asio::awaitable<Result<SequenceNumber>> write(WriteBatch batch, WriteOptions options);
  boost::asio::awaitable<Result<std::optional<std::string>>> get(std::string key, ReadOptions options);
  boost::asio::awaitable<Result<Found>> get(std::string_view key, std::string* value, ReadOptions options);
  boost::asio::awaitable<Result<std::vector<std::optional<std::string>>>> multi_get(std::vector<std::string> keys,
                                                                                    ReadOptions options);
  boost::asio::awaitable<Result<std::vector<KeyValue>>> scan(std::string start, std::string end, size_t limit,
                                                             ReadOptions options);
  boost::asio::awaitable<Result<LookupTrace>> trace(std::string key, ReadOptions options);
  std::unique_ptr<Iterator> new_iterator(ReadOptions options);
  Result<void> set_option(std::string_view name, std::string_view value, std::string* why);
  std::vector<OptionInfo> option_list() const;
  Snapshot snapshot();
  SequenceNumber latest_sequence() const { return last_sequence_.load(std::memory_order_acquire); }
  boost::asio::awaitable<Result<void>> flush();
  boost::asio::awaitable<Result<void>> compact_range(std::string begin, std::string end);
  // db_impl_checkpoint.cc: see DB::checkpoint.
  boost::asio::awaitable<Result<SequenceNumber>> checkpoint(std::string dir);
  DbStats stats() const;
  boost::asio::awaitable<Result<void>> close();

  Result<void> check_key(std::string_view key) const;
  Result<void> check_value(std::string_view value) const;

 private:
  struct PendingWrite {
    WriteBatch batch;
    bool sync = false;
    bool rotate = false;  // switch the memtable before this write (DB::flush)
    Oneshot<bool> wake;   // true: you are the leader now; false: done, see result
    Result<SequenceNumber> result = SequenceNumber{0};
  };
  struct Immutable {
    std::shared_ptr<MemTable> mem;
    uint64_t next_wal_number = 0;  // the WAL segment started when `mem` became immutable
  };
  struct SuperVersion {
    std::shared_ptr<MemTable> mem;
    std::vector<std::shared_ptr<MemTable>> imms;  // newest first
    std::shared_ptr<const Version> version;
  };

  // db_impl.cc: open and recovery.
  boost::asio::awaitable<Result<void>> recover_files(VersionEdit* edit, SequenceNumber* max_seq);
  enum class WalEnd { complete, torn };
  boost::asio::awaitable<Result<WalEnd>> replay_wal(uint64_t number, std::shared_ptr<MemTable>* mem, VersionEdit* edit,
                                                    SequenceNumber* max_seq);
  boost::asio::awaitable<Result<void>> delete_obsolete_files();
  boost::asio::awaitable<Result<std::unique_ptr<wal::WalWriter>>> new_wal(uint64_t number);
  sstable::TableOptions table_options() const;
  // A memtable with its filter sized from mutable_.memtable_size_bytes. REQUIRES: mu_ held, or the
  // DB still opening.
  std::shared_ptr<MemTable> new_memtable() const;

  // db_impl_write.cc: group commit, memtable switch, flush.
  enum class QueueRole { leader, follower };
  Result<QueueRole> enqueue(std::shared_ptr<PendingWrite> w);
  boost::asio::awaitable<void> lead(std::shared_ptr<PendingWrite> self);
  boost::asio::awaitable<Result<SequenceNumber>> commit_group(std::vector<std::shared_ptr<PendingWrite>>& group);
  boost::asio::awaitable<Result<void>> make_room_for_write(bool force_rotate);
  boost::asio::awaitable<Result<void>> switch_memtable();
  boost::asio::awaitable<void> flush_loop();
  boost::asio::awaitable<void> batch_sync_loop();
  void maybe_schedule_flush_locked();
  void set_read_only_locked(ErrorCode ec, std::string reason);
  void set_read_only(ErrorCode ec, std::string reason);
  void notify_flush_waiters_locked();
  void install_super_version_locked();
  boost::asio::awaitable<Result<void>> wait_for_flush_event();

  // db_impl_compaction.cc: scheduling and running compactions, installing version edits.
  void maybe_schedule_compaction_locked();
  // How a compaction job runs. A seek compaction is optional work: low_priority puts it on
  // low_priority_pool_, preempted by the next flush; paced limits it to
  // Options::seek_compaction_bytes_per_sec. Its retry after a preemption is neither.
  struct JobMode {
    bool low_priority = false;
    bool paced = false;
  };
  boost::asio::awaitable<void> compaction_task(Compaction c, JobMode mode);
  boost::asio::awaitable<Result<void>> run_compaction_job(Compaction c, JobMode mode);
  boost::asio::awaitable<Result<void>> apply_version_edit(VersionEdit edit);
  CompactionPickerOptions picker_options_locked() const;
  uint64_t new_pending_output();
  void release_pending_outputs(const std::vector<uint64_t>& numbers);
  std::vector<SequenceNumber> live_snapshots() const;
  boost::asio::awaitable<Result<void>> wait_for_background_event();

  // db_impl_read.cc: lookups and scans.
  std::shared_ptr<const SuperVersion> super_version() const;
  PointLookup::Sources lookup_sources(const SuperVersion& sv);
  // Charges the seek budget of a lookup's wasted probe (sampled) and schedules the seek
  // compaction of a file that used its budget up.
  void charge_seek(const PointLookup& lookup);
  static boost::asio::awaitable<void> yield_executor();
  // Runs the finish() of every lookup concurrently on this executor; the first error wins.
  boost::asio::awaitable<Result<void>> finish_all(std::vector<PointLookup*> lookups);
  boost::asio::awaitable<Result<std::shared_ptr<sstable::TableReader>>> table(const FileMetaData& meta);

  const boost::asio::any_io_executor executor_;
  const std::string path_;
  const Options options_;
  std::unique_ptr<io::FileSystem> owned_fs_;
  io::FileSystem* fs_ = nullptr;
  std::unique_ptr<io::FileLock> lock_;
  std::unique_ptr<VersionSet> versions_;
  boost::asio::thread_pool bg_pool_{1};  // the flush loop
  // Compaction jobs; at most max_background_compactions_ run at once.
  boost::asio::thread_pool compaction_pool_{Options::kMaxBackgroundCompactions};
  // Seek compactions when Options::seek_compaction_low_priority: one thread at nice 19, which it
  // sets itself on its first job and keeps (lib/util/thread_priority.h).
  boost::asio::thread_pool low_priority_pool_{1};
  AsyncMutex version_mu_;                 // serializes VersionSet::log_and_apply between flushes and compactions
  std::atomic<bool> cancel_jobs_{false};  // set by close(): running compactions stop early

  std::atomic<SequenceNumber> last_sequence_{0};

  mutable std::mutex mu_;
  // Guarded by mu_:
  std::shared_ptr<const SuperVersion> sv_;
  std::deque<Immutable> imms_;  // newest at front
  std::multiset<SequenceNumber> snapshots_;
  std::deque<std::shared_ptr<PendingWrite>> queue_;
  bool leader_active_ = false;
  bool flush_running_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool opened_ = false;
  ErrorCode bg_error_;
  std::string bg_error_reason_;
  std::vector<Oneshot<bool>> flush_waiters_;  // woken after each flush or compaction and on errors
  MutableOptions mutable_;                    // the options set_option may change
  CompactionPickerState picker_;
  int running_compactions_ = 0;
  int max_background_compactions_ = 1;
  bool manual_compaction_ = false;           // compact_range owns the compaction slots
  bool seek_compaction_preempted_ = false;   // the next seek compaction runs at normal priority
  std::set<uint64_t> pending_outputs_;       // SSTables being written by flushes and compactions
  std::vector<Oneshot<bool>> idle_waiters_;  // woken when the write leader goes idle

  // Owned by the write leader (and open/close, which exclude it):
  std::shared_ptr<MemTable> mem_;
  std::unique_ptr<wal::WalWriter> wal_;
  uint64_t wal_number_ = 0;
  uint64_t last_sync_micros_ = 0;
  std::atomic<bool> wal_unsynced_{false};

  // Batch sync policy timer.
  std::unique_ptr<boost::asio::steady_timer> sync_timer_;
  Oneshot<bool> sync_loop_done_;
  bool sync_loop_started_ = false;

  // Read caches (thread-safe). The block cache and the read counters outlive the table cache,
  // whose readers point at them; the table cache is created in open() (it needs fs_).
  cache::LruCache block_cache_;
  sstable::ReadStats read_stats_;
  std::unique_ptr<TableCache> table_cache_;

  // Statistics (relaxed atomics).
  mutable std::atomic<uint64_t> puts_{0}, deletes_{0}, scans_{0}, bytes_user_{0}, bytes_wal_{0}, bytes_flush_{0},
      wal_syncs_{0}, write_groups_{0}, flushes_{0}, stall_micros_{0}, compactions_{0}, trivial_moves_{0},
      seek_compactions_{0}, seek_compactions_preempted_{0}, bytes_compaction_read_{0}, bytes_compaction_written_{0},
      compaction_micros_{0}, compaction_dropped_entries_{0};
  // Bumped by every read: striped, so that concurrent readers do not share their cache lines.
  StripedCounter gets_, table_probes_;
  LatencyHistogram wal_sync_latency_;
};

}  // namespace strata
