// VersionSet: the durable record of the tree's shape. Owns the current Version and the MANIFEST,
// a log of VersionEdits framed like the WAL (docs/format/manifest.md); CURRENT names the live
// manifest and is replaced atomically (write CURRENT.tmp, fsync, rename, fsync the directory).
//
// Recovery replays the manifest named by CURRENT; a torn tail of the last edit is ignored (it was
// never acknowledged: log_and_apply returns only after the edit is synced). A checksum mismatch
// followed by valid records is corruption.
// On every open the DB writes a fresh manifest holding one snapshot edit and switches CURRENT to
// it, so manifests never grow across restarts; a manifest larger than kMaxManifestBytes is also
// rolled over by log_and_apply.
//
// Thread-safety: current(), new_file_number(), last_sequence() and the number accessors are
// safe from any thread. recover(), create_manifest() and log_and_apply() must be serialized by
// the caller (the DB's single version-edit path) and must not run concurrently with each other.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lib/io/file_system.h"
#include "lib/version/version.h"
#include "lib/wal/wal_writer.h"

namespace strata {

class VersionSet {
 public:
  static constexpr uint64_t kMaxManifestBytes = 64 << 20;

  // REQUIRES: fs outlives the VersionSet.
  VersionSet(io::FileSystem& fs, std::string db_dir);
  ~VersionSet();

  // Reads CURRENT and replays the manifest it names. Errors: not_found when there is no
  // CURRENT (a new DB), corruption, io_error.
  boost::asio::awaitable<Result<void>> recover();

  // Writes a new manifest containing the whole current state, makes CURRENT name it, and removes
  // the previous manifest.
  boost::asio::awaitable<Result<void>> create_manifest();

  // Appends `edit` (with next_file_number and, if unset, last_sequence filled in) to the manifest,
  // syncs it, and installs the resulting Version. On error nothing is installed and the manifest
  // writer is poisoned: the DB must turn read-only (a failed sync is never retried).
  boost::asio::awaitable<Result<void>> log_and_apply(VersionEdit edit);

  std::shared_ptr<const Version> current() const;

  // The numbers of every SSTable named by a Version still referenced anywhere: the current one
  // and older ones held by readers, iterators or compaction jobs. An SSTable outside this set
  // (and not a pending output of a running job) may be deleted.
  std::set<uint64_t> live_files() const;

  uint64_t new_file_number() { return next_file_number_.fetch_add(1); }
  // Ensures future file numbers are above `number` (for files found during recovery).
  void mark_file_number_used(uint64_t number);
  uint64_t next_file_number() const { return next_file_number_.load(); }

  // WAL segments with numbers below log_number() hold nothing that is not in SSTables.
  uint64_t log_number() const { return log_number_.load(); }
  // The last sequence number recorded in the manifest (by flushes).
  SequenceNumber last_sequence() const { return last_sequence_.load(); }
  uint64_t manifest_number() const { return manifest_number_; }

 private:
  boost::asio::awaitable<Result<void>> replay_manifest(std::string path);
  void apply_counters(const VersionEdit& edit);

  io::FileSystem& fs_;
  const std::string db_dir_;

  void install_locked(std::shared_ptr<const Version> v);

  mutable std::mutex mu_;  // guards current_ and versions_
  std::shared_ptr<const Version> current_;
  // Every Version installed, pruned of expired ones by live_files().
  mutable std::vector<std::weak_ptr<const Version>> versions_;

  std::atomic<uint64_t> next_file_number_{2};  // 1 is the first manifest
  std::atomic<uint64_t> log_number_{0};
  std::atomic<SequenceNumber> last_sequence_{0};
  uint64_t manifest_number_ = 0;
  std::unique_ptr<wal::WalWriter> manifest_;
};

}  // namespace strata
