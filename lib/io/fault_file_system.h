// FaultFileSystem: an io::FileSystem wrapper for reliability tests that remembers what was made
// durable and can take the rest away (shared/RELIABILITY.md, "Seams"). It wraps any FileSystem
// (MemFileSystem in tests) and passes every operation through, while it
//   - tracks, per file, the contents as of its last successful sync() (the "durable image") and
//     the byte ranges written, truncated or preallocated since;
//   - tracks, per directory, the entries as of its last successful sync_dir() (creations,
//     renames and removals become durable only then, as on ext4/xfs without dirsync);
//   - fails the N-th counted operation with ENOSPC or EIO (mapped by errc_from_errno to
//     Errc::no_space / Errc::io_error), once or for good ("sticky");
//   - simulates a power loss with crash(): every file reverts to its durable image (the unsynced
//     tail dropped, garbled or torn, by CrashMode), every directory reverts to its durable entries
//     (entries created or renamed in since its last sync_dir disappear; entries removed or renamed
//     away since then come back with their durable contents), and every File opened before the
//     crash fails with io_error from then on (the process that held it is gone).
//
// A failed sync() follows Linux since 4.13 ("fsyncgate"): the kernel may mark the dirty pages
// clean without writing them. The ranges that were dirty when a sync failed are therefore never
// made durable by a later sync of the same file (they read as their old bytes, or zeros past the
// old end, after crash()), and such a later sync is counted in Stats::syncs_after_failed_sync, so
// a test can assert that the engine never retries a failed fsync (`fsync_retried=0`).
//
// Files and directories that existed in the base before the wrapper first saw them are adopted
// as durable (contents and name) when first opened, renamed, removed, or listed in a sync_dir.
// Directories themselves are not reverted by crash() (a create_dir is treated as durable at once).
//
// Invariants: the durable image of a file is only changed by a successful sync() (and by crash(),
// which makes the surviving bytes the new durable image); an operation that the fault plan fails
// has no effect on the base or on the bookkeeping.
// Thread-safety: every method may be called from any thread (one mutex guards the bookkeeping and
// is never held across a co_await). Writes to one File must be serialized by the caller, as for
// every io::File. crash() must not run concurrently with other operations on this FileSystem.
// Lifetime: the base FileSystem must outlive the wrapper, and the wrapper every File it opened.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/io/file_system.h"
#include "lib/util/random.h"

namespace strata::io {

// The kinds of operations a FailPlan counts (a bit mask).
enum FaultOp : uint32_t {
  kFaultOpen = 1u << 0,         // open() with create or truncate (an open for reading is never counted)
  kFaultRead = 1u << 1,         // File::read_at
  kFaultWrite = 1u << 2,        // File::write_at (and the write half of write_and_sync)
  kFaultSync = 1u << 3,         // File::sync (and the sync half of write_and_sync)
  kFaultTruncate = 1u << 4,     // File::truncate
  kFaultPreallocate = 1u << 5,  // File::preallocate
  kFaultRename = 1u << 6,
  kFaultRemove = 1u << 7,
  kFaultCreateDir = 1u << 8,
  kFaultSyncDir = 1u << 9,
  // Everything that changes the file system: what runs out of space or fails on a dying disk.
  kFaultMutating = kFaultOpen | kFaultWrite | kFaultSync | kFaultTruncate | kFaultPreallocate | kFaultRename |
                   kFaultRemove | kFaultCreateDir | kFaultSyncDir,
  kFaultAll = kFaultMutating | kFaultRead,
};

// Fail the `nth` (1-based) operation that matches `ops` and `path_contains`, with `err`.
struct FailPlan {
  uint64_t nth = 1;
  int err = 28;         // an errno: ENOSPC (28) -> Errc::no_space, EIO (5) -> Errc::io_error
  bool sticky = false;  // false: only the nth fails; true: the nth and every later match fail
  uint32_t ops = kFaultMutating;
  std::string path_contains;  // only operations on a path containing this (empty: any path)
};

// What crash() does with the bytes written since a file's last successful sync.
enum class CrashMode {
  drop,    // lost: the file is exactly its durable image (size included)
  garble,  // the file keeps its size (the larger of durable and current); every unsynced byte
           // becomes a random byte
  tear,    // a random prefix of each unsynced range survives intact, the rest is lost; the file
           // ends where the last surviving byte past the durable size ends
};

class FaultFileSystem final : public FileSystem {
 public:
  struct Stats {
    uint64_t ops_counted = 0;              // operations that matched the plan's filter (or all, no plan)
    uint64_t faults_injected = 0;          // operations failed by the plan
    uint64_t syncs = 0;                    // successful File::sync calls
    uint64_t syncs_after_failed_sync = 0;  // File::sync on a file whose earlier sync failed
    uint64_t crashes = 0;
  };

  // `seed` drives the garbage and the tear points of crash(); tests print it.
  explicit FaultFileSystem(FileSystem& base, uint64_t seed = 1);
  ~FaultFileSystem() override;

  asio::awaitable<Result<std::unique_ptr<File>>> open(std::string path, OpenOptions options) override;
  asio::awaitable<Result<void>> rename(std::string from, std::string to) override;
  asio::awaitable<Result<void>> remove(std::string path) override;
  asio::awaitable<Result<void>> create_dir(std::string path) override;
  asio::awaitable<Result<std::vector<std::string>>> list_dir(std::string path) override;
  asio::awaitable<Result<void>> sync_dir(std::string path) override;
  asio::awaitable<Result<bool>> exists(std::string path) override;
  Result<std::unique_ptr<FileLock>> lock(std::string path) override;

  // Arms a fault plan (replacing any earlier one) and resets the count of matching operations.
  void set_fail_plan(FailPlan plan);
  // Disarms the plan: every later operation passes (the failures already injected stay).
  void clear_fail_plan();

  // Simulated power loss (see the file comment). Rewrites the base through its interface.
  // Errors: the base's. REQUIRES: nothing else uses this FileSystem meanwhile.
  asio::awaitable<Result<void>> crash(CrashMode mode);

  Stats stats() const;

  // The bookkeeping for one file (public for fault_file_system.cc).
  struct FileState;

 private:
  friend class FaultFile;

  // Counts an operation of kind `op` on `path`; the error to fail it with, if the plan says so.
  std::optional<ErrorCode> check_fault(FaultOp op, const std::string& path);
  // The state of the file at `path`, adopting a file of the base that was not seen before (its
  // contents and name count as durable). nullptr if the base has no such file.
  asio::awaitable<Result<std::shared_ptr<FileState>>> state_of(const std::string& path);
  // Records the successful sync of `state` (the caller made the base sync).
  void note_sync(FileState& state);

  FileSystem& base_;
  mutable std::mutex mu_;
  Random rng_;
  std::optional<FailPlan> plan_;
  uint64_t plan_matches_ = 0;
  Stats stats_;
  uint64_t epoch_ = 0;  // bumped by crash(): Files of an older epoch fail
  // The namespace now, and as of the last sync_dir of each entry's directory.
  std::map<std::string, std::shared_ptr<FileState>> names_;
  std::map<std::string, std::shared_ptr<FileState>> durable_names_;
};

}  // namespace strata::io
