// replication::Node: InstallSnapshot (Raft §7) with the DB as the state machine image.
//
// Leader: when Core asks to send a `snap` message (the follower needs entries the log no longer
// holds), a DB checkpoint (DB::checkpoint) is written to snap-out/<id>/ and streamed file by file
// through Transport::send_snapshot, followed by the message; Core::report_snapshot() gets the
// outcome. The checkpoint's applied index ("mapplied") is at least the snapshot's index (the
// leader compacts only what it applied); the follower skips the entries in between when they
// arrive (exactly-once by the applied index, node.h).
//
// Follower: chunks are written to snap-in/<id>/; at the end every file is synced with its
// directory, the checkpoint is "staged", and the message is stepped into Core. When Core's Ready
// carries the snapshot, install_snapshot() swaps the DB, BEFORE the Raft log records the
// snapshot (RaftStorage::persist), in this crash-safe order:
//   1. close the DB;  2. rename db -> db.old;  3. rename snap-in/<id> -> db;  4. fsync data_dir;
//   5. reopen the DB and read its applied index;  6. remove db.old.
// Recovery (Node::open_impl): db.old without db -> rename it back (crash between 2 and 3: the
// Raft log has not recorded the snapshot either, so the old pair is consistent); db.old with db
// -> remove db.old. After step 4 the DB may be ahead of the Raft log's commit index, which is
// safe: every entry up to the DB's applied index is committed, and the Core replays only what
// the log holds.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cinttypes>
#include <filesystem>

#include "lib/replication/node.h"
#include "lib/util/logging.h"

namespace strata::replication {

namespace asio = boost::asio;

namespace {

constexpr size_t kChunkBytes = 1 << 20;

// Reads the files of a checkpoint directory in name order, one chunk at a time.
class DirectorySource final : public SnapshotSource {
 public:
  DirectorySource(io::FileSystem& fs, std::string dir, uint64_t id, std::vector<std::string> names)
      : fs_(fs), dir_(std::move(dir)), id_(id), names_(std::move(names)) {
    std::sort(names_.begin(), names_.end());
  }
  uint64_t snapshot_id() const override { return id_; }

  asio::awaitable<Result<std::optional<SnapshotChunk>>> next() override {
    for (;;) {
      if (file_ == nullptr) {
        if (next_name_ == names_.size()) co_return std::optional<SnapshotChunk>();
        STRATA_CO_TRY_ASSIGN(
            file_, co_await fs_.open(io::join_path(dir_, names_[next_name_]), io::OpenOptions{.read_only = true}));
        offset_ = 0;
      }
      SnapshotChunk c;
      c.snapshot_id = id_;
      c.file = names_[next_name_];
      c.offset = offset_;
      c.data.resize(kChunkBytes);
      STRATA_CO_TRY_ASSIGN(size_t n, co_await file_->read_at(offset_, std::span<char>(c.data.data(), c.data.size())));
      c.data.resize(n);
      offset_ += n;
      if (n < kChunkBytes) {  // end of this file
        file_.reset();
        ++next_name_;
        if (n == 0 && c.offset > 0) continue;  // the previous chunk ended exactly at EOF
      }
      co_return std::optional<SnapshotChunk>(std::move(c));
    }
  }

 private:
  io::FileSystem& fs_;
  std::string dir_;
  uint64_t id_;
  std::vector<std::string> names_;
  size_t next_name_ = 0;
  std::unique_ptr<io::File> file_;
  uint64_t offset_ = 0;
};

}  // namespace

// io::FileSystem has no directory removal, and std::filesystem::remove_all walks the tree with
// blocking syscalls (a checkpoint holds every SSTable of the DB): it runs on blocking_pool_, and
// the caller resumes on its own executor (Oneshot). Used on startup and around snapshots, on
// directories that nothing else uses.
asio::awaitable<Result<void>> Node::remove_tree(std::string dir) {
  Oneshot<std::error_code> done;
  asio::post(blocking_pool_, [dir, done] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    done.set(ec);
  });
  std::error_code ec = co_await done.wait();
  if (ec) {
    STRATA_LOG(warn, "cannot remove %s: %s", dir.c_str(), ec.message().c_str());
    co_return make_error_code(Errc::io_error);
  }
  co_return ok();
}

asio::awaitable<void> Node::send_snapshot(raft::Message m) {
  uint64_t to = m.to;
  uint64_t id = (options_.id << 40) | (snapshot_counter_.fetch_add(1) + 1);
  std::string out_dir = io::join_path(options_.data_dir, "snap-out");
  std::string dir = io::join_path(out_dir, std::to_string(id));
  Result<void> result = ok();
  {
    auto made = co_await fs_.create_dir(out_dir);
    auto db = this->db();
    auto cp = made ? co_await db->checkpoint(dir) : Result<SequenceNumber>(made.error());
    if (!cp) {
      result = cp.error();
    } else {
      auto names = co_await fs_.list_dir(dir);
      if (!names) {
        result = names.error();
      } else {
        DirectorySource src(fs_, dir, id, std::move(*names));
        STRATA_LOG(info, "node %" PRIu64 ": sending snapshot %" PRIu64 " (index %" PRIu64 ") to node %" PRIu64,
                   options_.id, id, m.snapshot ? m.snapshot->metadata.index : 0, to);
        result = co_await transport_->send_snapshot(std::move(m), src);
      }
    }
  }
  auto removed = co_await remove_tree(dir);
  (void)removed;
  if (!result) {
    STRATA_LOG(warn, "node %" PRIu64 ": snapshot to node %" PRIu64 " failed: %s", options_.id, to,
               result.error().message().c_str());
  }
  std::lock_guard lock(mu_);
  snapshot_in_flight_[to] = false;
  if (stopping_) co_return;
  core_->report_snapshot(to, result.has_value());
  if (result) ++stats_.snapshots_sent;
  notify_locked();
}

asio::awaitable<Result<void>> Node::on_snapshot_chunk(uint64_t from, SnapshotChunk chunk) {
  // Only the leader we follow sends snapshots (it probed us with an append first, so we know it).
  {
    std::lock_guard lock(mu_);
    if (from != core_->leader()) {
      STRATA_LOG(warn, "node %" PRIu64 ": refused a snapshot chunk from node %" PRIu64 ", not the leader (%" PRIu64 ")",
                 options_.id, from, core_->leader());
      co_return make_error_code(Errc::invalid_argument);
    }
  }
  if (snapshot_chunk_busy_) co_return make_error_code(Errc::busy);
  snapshot_chunk_busy_ = true;
  struct ClearBusy {
    bool* busy;
    ~ClearBusy() { *busy = false; }
  } clear_busy{&snapshot_chunk_busy_};
  if (!incoming_ || incoming_->id != chunk.snapshot_id) {
    if (incoming_) {
      std::string old = incoming_->dir;
      incoming_.reset();
      auto removed = co_await remove_tree(old);
      (void)removed;
    }
    std::string in_dir = io::join_path(options_.data_dir, "snap-in");
    STRATA_CO_TRY(co_await fs_.create_dir(in_dir));
    Incoming in;
    in.id = chunk.snapshot_id;
    in.from = from;
    in.dir = io::join_path(in_dir, std::to_string(chunk.snapshot_id));
    auto removed = co_await remove_tree(in.dir);
    (void)removed;
    STRATA_CO_TRY(co_await fs_.create_dir(in.dir));
    incoming_ = std::move(in);
  }
  Incoming& in = *incoming_;
  if (in.file != chunk.file) {
    if (in.out) STRATA_CO_TRY(co_await in.out->sync());
    in.out.reset();
    if (chunk.offset != 0) co_return make_error_code(Errc::corruption);
    STRATA_CO_TRY_ASSIGN(in.out, co_await fs_.open(io::join_path(in.dir, chunk.file),
                                                   io::OpenOptions{.create = true, .exclusive = true}));
    in.file = chunk.file;
    in.next_offset = 0;
  }
  if (chunk.offset != in.next_offset) co_return make_error_code(Errc::corruption);
  if (!chunk.data.empty()) STRATA_CO_TRY(co_await in.out->write_at(chunk.offset, chunk.data));
  in.next_offset += chunk.data.size();
  co_return ok();
}

asio::awaitable<Result<void>> Node::on_snapshot_end(uint64_t snapshot_id, raft::Message m) {
  // The end must come from the sender of the chunks (the transport checked m.from against the
  // connection's hello), and not while one of its chunks is still being written.
  if (!incoming_ || incoming_->id != snapshot_id || incoming_->from != m.from || !m.snapshot || snapshot_chunk_busy_) {
    co_return make_error_code(Errc::corruption);
  }
  Incoming in = std::move(*incoming_);
  incoming_.reset();
  if (in.out) STRATA_CO_TRY(co_await in.out->sync());
  in.out.reset();
  STRATA_CO_TRY(co_await fs_.sync_dir(in.dir));
  STRATA_CO_TRY(co_await fs_.sync_dir(io::parent_dir(in.dir)));
  STRATA_LOG(info, "node %" PRIu64 ": received snapshot %" PRIu64 " (index %" PRIu64 ") from node %" PRIu64,
             options_.id, snapshot_id, m.snapshot->metadata.index, in.from);
  std::lock_guard lock(mu_);
  if (stopping_) co_return make_error_code(Errc::shutting_down);
  staged_ = Staged{in.dir, m.snapshot->metadata.index, m.snapshot->metadata.term};
  uint64_t invalid_before = core_->dropped_total();
  MessageHead head{m.type, m.from, m.term, m.snapshot->metadata.index, m.commit, 0};
  auto stepped = core_->step(std::move(m));
  (void)stepped;  // a stale snapshot is ignored: Raft's answer tells the leader
  if (core_->dropped_total() != invalid_before) {
    // Impossible metadata (raft::Core::check_message): the sender learns it from the ack.
    staged_.reset();
    log_invalid_message_locked(head);
    co_return make_error_code(Errc::corruption);
  }
  notify_locked();
  co_return ok();
}

asio::awaitable<Result<void>> Node::install_snapshot(const raft::Snapshot& snap) {
  std::optional<Staged> staged;
  std::shared_ptr<DB> old_db;
  {
    std::lock_guard lock(mu_);
    staged = staged_;
    old_db = db_;
  }
  if (!staged || staged->index != snap.metadata.index) {
    STRATA_LOG(error, "node %" PRIu64 ": Raft restored snapshot %" PRIu64 " but no checkpoint is staged for it",
               options_.id, snap.metadata.index);
    co_return make_error_code(Errc::corruption);
  }
  const std::string& dir = options_.data_dir;
  std::string db_dir = io::join_path(dir, "db"), old_dir = io::join_path(dir, "db.old");
  co_await wait_for_compaction_flush();  // not close the DB under a flush in flight
  STRATA_CO_TRY(co_await old_db->close());
  STRATA_CO_TRY(co_await fs_.rename(db_dir, old_dir));
  STRATA_CO_TRY(co_await fs_.rename(staged->dir, db_dir));
  STRATA_CO_TRY(co_await fs_.sync_dir(dir));
  STRATA_CO_TRY(co_await open_db());
  STRATA_CO_TRY(co_await load_metadata());
  auto removed = co_await remove_tree(old_dir);
  (void)removed;
  uint64_t applied = 0;
  {
    std::lock_guard lock(mu_);
    staged_.reset();
    ++stats_.snapshots_installed;
    applied = applied_;
  }
  for (const auto& [id, addr] : peer_addresses()) {
    if (id != options_.id) transport_->set_peer_address(id, addr);
  }
  STRATA_LOG(info, "node %" PRIu64 ": installed snapshot at index %" PRIu64 " (DB applied index %" PRIu64 ")",
             options_.id, snap.metadata.index, applied);
  co_return ok();
}

}  // namespace strata::replication
