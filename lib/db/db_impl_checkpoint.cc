// DBImpl::checkpoint: a copy of the DB's persistent state (its SSTables and a fresh MANIFEST +
// CURRENT) in another directory, which DB::open opens as exactly that state. Used by
// lib/replication to ship the state machine to a follower that fell behind the Raft log.
//
// Order: flush (every write acknowledged before the call is in an SSTable), pin the current
// SuperVersion (its shared_ptr<const Version> keeps the files alive: the compaction code never
// deletes a file that a live Version references), copy each SSTable with fsync, then write the
// manifest through a fresh VersionSet (create_manifest + one log_and_apply holding every file),
// which also writes CURRENT atomically and syncs the directory.
// The copy goes through io::FileSystem reads and writes (no hard links: the interface has none).
#include <algorithm>

#include "lib/db/db_impl.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"

namespace strata {

namespace asio = boost::asio;

namespace {

asio::awaitable<Result<void>> copy_file(io::FileSystem& fs, std::string from, std::string to) {
  STRATA_CO_TRY_ASSIGN(auto in, co_await fs.open(from, io::OpenOptions{.read_only = true}));
  STRATA_CO_TRY_ASSIGN(auto out, co_await fs.open(to, io::OpenOptions{.create = true, .truncate = true}));
  std::string buf(1 << 20, '\0');
  uint64_t offset = 0;
  for (;;) {
    STRATA_CO_TRY_ASSIGN(size_t n, co_await in->read_at(offset, std::span<char>(buf.data(), buf.size())));
    if (n == 0) break;
    STRATA_CO_TRY(co_await out->write_at(offset, std::string_view(buf.data(), n)));
    offset += n;
    if (n < buf.size()) break;
  }
  STRATA_CO_TRY(co_await out->sync());
  co_return ok();
}

}  // namespace

asio::awaitable<Result<SequenceNumber>> DBImpl::checkpoint(std::string dir) {
  STRATA_CO_TRY(co_await flush());
  auto sv = super_version();
  if (!sv) co_return make_error_code(Errc::shutting_down);
  std::shared_ptr<const Version> version = sv->version;  // pins the files while we copy them
  STRATA_CO_TRY(co_await fs_->create_dir(dir));
  VersionEdit edit;
  SequenceNumber last_seq = 0;
  uint64_t max_number = 1;
  for (int level = 0; level < kNumLevels; ++level) {
    for (const auto& f : version->files(level)) {
      STRATA_CO_TRY(co_await copy_file(*fs_, table_file_name(path_, f->number), table_file_name(dir, f->number)));
      edit.add_file(level, *f);
      last_seq = std::max(last_seq, f->largest_seq);
      max_number = std::max(max_number, f->number);
    }
  }
  // Compaction may have dropped the newest entries (bottom tombstones): never go below the
  // sequence number the manifest already records.
  last_seq = std::max(last_seq, versions_->last_sequence());
  VersionSet vs(*fs_, dir);
  vs.mark_file_number_used(max_number);
  STRATA_CO_TRY(co_await vs.create_manifest());
  edit.last_sequence = last_seq;
  edit.log_number = vs.next_file_number();  // no WAL: nothing to replay
  STRATA_CO_TRY(co_await vs.log_and_apply(std::move(edit)));
  STRATA_CO_TRY(co_await fs_->sync_dir(dir));
  STRATA_LOG(info, "%s: checkpoint of %zu SSTables in %s at sequence %llu", path_.c_str(), version->num_files(),
             dir.c_str(), static_cast<unsigned long long>(last_seq));
  co_return last_seq;
}

}  // namespace strata

namespace strata {

// The public entry point lives here too, so that db.cc stays untouched.
boost::asio::awaitable<Result<SequenceNumber>> DB::checkpoint(std::string dir) {
  co_return co_await impl_->checkpoint(std::move(dir));
}

}  // namespace strata
