#include "lib/replication/raft_storage.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "lib/raft/codec.h"
#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/logging.h"
#include "lib/wal/wal_reader.h"

namespace strata::replication {

namespace asio = boost::asio;
using raft::Entry;
using raft::HardState;

std::string encode_raft_header_record() {
  std::string r(1, static_cast<char>(RaftRecordKind::header));
  r.append(kRaftLogMagic, sizeof kRaftLogMagic);
  put_fixed32(&r, kRaftLogFormatVersion);
  return r;
}

std::string encode_hard_state_record(const HardState& hs) {
  std::string r(1, static_cast<char>(RaftRecordKind::hard_state));
  r += raft::encode_hard_state(hs);
  return r;
}

std::string encode_snapshot_record(const raft::SnapshotMetadata& md) {
  std::string r(1, static_cast<char>(RaftRecordKind::snapshot));
  raft::encode_snapshot_metadata(&r, md);
  return r;
}

size_t encode_entries_record(const std::vector<Entry>& entries, size_t begin, std::string* out) {
  STRATA_ASSERT(begin < entries.size());
  std::string body;
  size_t i = begin;
  size_t n = 0;
  while (i < entries.size()) {
    size_t before = body.size();
    raft::encode_entry(&body, entries[i]);
    if (n > 0 && body.size() > kMaxEntriesRecordBytes) {
      body.resize(before);
      break;
    }
    ++n;
    ++i;
  }
  out->assign(1, static_cast<char>(RaftRecordKind::entries));
  put_varint64(out, n);
  out->append(body);
  return i;
}

RaftStorage::RaftStorage(io::FileSystem& fs, std::string dir, RaftStorageOptions options)
    : fs_(fs), dir_(std::move(dir)), options_(options) {}

std::string RaftStorage::segment_path(uint64_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "%06" PRIu64 ".log", number);
  return io::join_path(dir_, name);
}

asio::awaitable<Result<std::unique_ptr<RaftStorage>>> RaftStorage::open(io::FileSystem& fs, std::string dir,
                                                                        RaftStorageOptions options) {
  std::unique_ptr<RaftStorage> s(new RaftStorage(fs, std::move(dir), options));
  STRATA_CO_TRY(co_await fs.create_dir(s->dir_));
  STRATA_CO_TRY(co_await s->recover());
  co_return s;
}

namespace {

// Parses "NNNNNN.log"; nullopt for anything else.
std::optional<uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() < 5 || !name.ends_with(".log")) return std::nullopt;
  uint64_t v = 0;
  for (char c : name.substr(0, name.size() - 4)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

asio::awaitable<Result<void>> RaftStorage::recover() {
  STRATA_CO_TRY_ASSIGN(auto names, co_await fs_.list_dir(dir_));
  uint64_t newest = 0;
  std::vector<uint64_t> older;
  for (const std::string& name : names) {
    if (name.ends_with(".tmp")) {
      // An unfinished compaction: the segment it was replacing is still complete.
      auto removed = co_await fs_.remove(io::join_path(dir_, name));
      (void)removed;
      continue;
    }
    if (auto n = parse_segment_name(name)) {
      if (*n > newest) {
        if (newest != 0) older.push_back(newest);
        newest = *n;
      } else {
        older.push_back(*n);
      }
    }
  }
  if (newest == 0) {
    // A new log: segment 1 with just the header.
    STRATA_CO_TRY(co_await open_writer(1, 0, SegmentState::created));
    writer_->add_record(encode_raft_header_record());
    co_await reserve_space();
    STRATA_CO_TRY(co_await writer_->flush(true));
    STRATA_CO_TRY(co_await fs_.sync_dir(dir_));
    co_return ok();
  }
  uint64_t end_offset = 0;
  STRATA_CO_TRY(co_await replay_segment(newest, &end_offset));
  // Older segments were superseded by a completed compaction (the rename was synced first).
  for (uint64_t n : older) {
    auto removed = co_await fs_.remove(segment_path(n));
    (void)removed;
  }
  STRATA_CO_TRY(co_await open_writer(newest, end_offset, SegmentState::replayed));
  co_return ok();
}

asio::awaitable<Result<void>> RaftStorage::replay_segment(uint64_t number, uint64_t* end_offset) {
  std::string path = segment_path(number);
  STRATA_CO_TRY_ASSIGN(auto file, co_await fs_.open(path, io::OpenOptions{.read_only = true}));
  wal::WalReader reader(*file, number);
  bool first = true;
  for (;;) {
    STRATA_CO_TRY_ASSIGN(auto rec, co_await reader.read_record());
    if (!rec) break;
    if (first) {
      std::string_view r = *rec;
      if (r.size() != 1 + sizeof kRaftLogMagic + 4 || r[0] != static_cast<char>(RaftRecordKind::header) ||
          std::memcmp(r.data() + 1, kRaftLogMagic, sizeof kRaftLogMagic) != 0 ||
          decode_fixed32(r.data() + 1 + sizeof kRaftLogMagic) != kRaftLogFormatVersion) {
        STRATA_LOG(error, "%s: bad raft log header (magic or format version)", path.c_str());
        co_return make_error_code(Errc::corruption);
      }
      first = false;
      continue;
    }
    auto applied = apply_record(*rec);
    if (!applied) {
      STRATA_LOG(error, "%s: bad raft log record ending at offset %" PRIu64, path.c_str(),
                 reader.last_record_end_offset());
      co_return applied.error();
    }
  }
  auto stop = *reader.stop();
  if (stop.reason != wal::WalReader::Stop::clean_end && stop.reason != wal::WalReader::Stop::zeros) {
    STRATA_CO_TRY_ASSIGN(auto valid_after, co_await reader.find_valid_fragment_after_stop());
    if (valid_after) {
      STRATA_LOG(error, "%s: corrupt record at offset %" PRIu64 " followed by valid data at %" PRIu64, path.c_str(),
                 stop.offset, *valid_after);
      co_return make_error_code(Errc::corruption);
    }
    STRATA_LOG(warn, "%s: torn tail at offset %" PRIu64 " (%s), truncated", path.c_str(), stop.offset,
               wal::WalReader::reason_name(stop.reason));
  }
  if (first) {
    // Not even a whole header: the segment's creation was interrupted. Only possible for a
    // brand-new log (compaction renames complete segments), so it holds nothing.
    STRATA_LOG(warn, "%s: empty raft log segment, starting afresh", path.c_str());
  }
  *end_offset = reader.last_record_end_offset();
  co_return ok();
}

Result<void> RaftStorage::apply_record(std::string_view rec) {
  if (rec.empty()) return make_error_code(Errc::corruption);
  auto kind = static_cast<RaftRecordKind>(rec[0]);
  rec.remove_prefix(1);
  std::lock_guard lock(mu_);
  switch (kind) {
    case RaftRecordKind::hard_state: {
      STRATA_TRY_ASSIGN(HardState hs, raft::decode_hard_state(rec));
      mem_.set_hard_state(hs);
      return ok();
    }
    case RaftRecordKind::snapshot: {
      STRATA_TRY_ASSIGN(raft::SnapshotMetadata md, raft::decode_snapshot_metadata(&rec));
      if (!rec.empty()) return make_error_code(Errc::corruption);
      raft::Snapshot snap;
      snap.metadata = std::move(md);
      auto applied = mem_.apply_snapshot(std::move(snap));
      // An older snapshot than the one we hold cannot have been written after it.
      if (!applied) return make_error_code(Errc::corruption);
      return ok();
    }
    case RaftRecordKind::entries: {
      uint64_t n = 0;
      if (!get_varint64(&rec, &n) || n > rec.size()) return make_error_code(Errc::corruption);
      std::vector<Entry> ents;
      ents.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        STRATA_TRY_ASSIGN(Entry e, raft::decode_entry(&rec));
        if (!ents.empty() && e.index != ents.back().index + 1) return make_error_code(Errc::corruption);
        ents.push_back(std::move(e));
      }
      if (!rec.empty() || ents.empty()) return make_error_code(Errc::corruption);
      if (ents.front().index > mem_.last_index() + 1) return make_error_code(Errc::corruption);
      mem_.append(ents);
      return ok();
    }
    case RaftRecordKind::header: break;
  }
  return make_error_code(Errc::corruption);
}

asio::awaitable<Result<void>> RaftStorage::open_writer(uint64_t number, uint64_t offset, SegmentState state,
                                                       uint64_t allocated) {
  bool create = state == SegmentState::created;
  STRATA_CO_TRY_ASSIGN(auto file, co_await fs_.open(segment_path(number), io::OpenOptions{.create = create}));
  // A replayed segment is cut at its last whole record: a torn tail and the preallocated zeros
  // go (the truncation becomes durable with the next fdatasync; until then a crash shows the
  // same bytes as before, which replay the same way). Then it is preallocated again below.
  if (state == SegmentState::replayed) STRATA_CO_TRY(co_await file->truncate(offset));
  writer_ = std::make_unique<wal::WalWriter>(std::move(file), number, offset);
  segment_number_ = number;
  allocated_ = state == SegmentState::compacted ? allocated : offset;
  zeroed_ = offset;
  if (offset == 0 && state == SegmentState::replayed) {
    writer_->add_record(encode_raft_header_record());
    co_await reserve_space();
    STRATA_CO_TRY(co_await writer_->flush(true));
  } else if (state == SegmentState::replayed) {
    co_await reserve_space();
  }
  co_return ok();
}

asio::awaitable<void> RaftStorage::reserve_space() {
  if (options_.preallocate_bytes == 0) co_return;
  uint64_t end = writer_->offset() + writer_->pending_bytes();
  if (end > allocated_) {
    uint64_t target = end + options_.preallocate_bytes;
    auto pre = co_await writer_->preallocate(target);
    if (!pre) {
      STRATA_LOG(warn, "%s: preallocating the raft log segment to %" PRIu64 " bytes failed: %s; it grows instead",
                 segment_path(segment_number_).c_str(), target, pre.error().message().c_str());
    }
    // Also on failure: the next attempt comes a whole step later, not on every append.
    allocated_ = target;
  }
  // Zeros ahead of the appends, a step at a time (header comment): the write costs one persist
  // in kZeroFillStepBytes a little more, instead of every fdatasync an inode write.
  uint64_t step = std::min<uint64_t>(options_.preallocate_bytes, kZeroFillStepBytes);
  if (end + step <= zeroed_) co_return;
  uint64_t from = std::max(end, zeroed_);
  uint64_t to = std::min(end + 2 * step, std::max(allocated_, end));
  if (from < to) {
    auto zeroed = co_await writer_->write_zeros(from, to);
    (void)zeroed;  // logged by the writer; appends into unwritten space are only slower
  }
  zeroed_ = std::max(to, end + step);  // also on failure: the next attempt comes a step later
}

asio::awaitable<Result<void>> RaftStorage::persist(std::optional<HardState> hs, const std::vector<Entry>& entries,
                                                   std::optional<raft::SnapshotMetadata> snap) {
  if (!hs && entries.empty() && !snap) co_return ok();
  STRATA_CO_TRY(writer_->status());
  if (snap) writer_->add_record(encode_snapshot_record(*snap));
  std::string rec;
  for (size_t i = 0; i < entries.size();) {
    i = encode_entries_record(entries, i, &rec);
    writer_->add_record(rec);
  }
  bool sync = must_sync(hs, entries, snap);
  if (hs) writer_->add_record(encode_hard_state_record(*hs));
  co_await reserve_space();
  STRATA_CO_TRY(co_await writer_->flush(sync));
  std::lock_guard lock(mu_);
  if (snap) {
    raft::Snapshot s;
    s.metadata = std::move(*snap);
    auto applied = mem_.apply_snapshot(std::move(s));
    (void)applied;  // an older snapshot is ignored (Core never hands one out)
  }
  mem_.append(entries);
  if (hs) mem_.set_hard_state(*hs);
  co_return ok();
}

bool RaftStorage::must_sync(const std::optional<HardState>& hs, const std::vector<Entry>& entries,
                            const std::optional<raft::SnapshotMetadata>& snap) const {
  if (!entries.empty() || snap) return true;
  if (!hs) return false;
  std::lock_guard lock(mu_);
  const HardState& prev = mem_.hard_state();
  return hs->term != prev.term || hs->vote != prev.vote;
}

asio::awaitable<Result<void>> RaftStorage::compact(uint64_t index, raft::ConfState cs) {
  std::vector<Entry> rest;
  raft::SnapshotMetadata md;
  HardState hs;
  {
    std::lock_guard lock(mu_);
    auto snap = mem_.snapshot();
    if (index <= snap->metadata.index) co_return ok();
    STRATA_ASSERT_MSG(index <= mem_.last_index(), "raft log compaction past the last index");
    auto t = mem_.term(index);
    STRATA_ASSERT(t.has_value());
    md.index = index;
    md.term = *t;
    md.conf_state = std::move(cs);
    hs = mem_.hard_state();
    if (index < mem_.last_index()) {
      auto ents = mem_.entries(index + 1, mem_.last_index() + 1, raft::kNoLimit);
      STRATA_ASSERT(ents.has_value());
      rest = std::move(*ents);
    }
  }
  STRATA_CO_TRY(writer_->status());
  uint64_t number = segment_number_ + 1;
  std::string final_path = segment_path(number);
  std::string tmp_path = final_path + ".tmp";
  {
    STRATA_CO_TRY_ASSIGN(auto file, co_await fs_.open(tmp_path, io::OpenOptions{.create = true, .truncate = true}));
    auto w = std::make_unique<wal::WalWriter>(std::move(file), number, 0);
    w->add_record(encode_raft_header_record());
    uint64_t allocated = 0;
    w->add_record(encode_snapshot_record(md));
    std::string rec;
    for (size_t i = 0; i < rest.size();) {
      i = encode_entries_record(rest, i, &rec);
      w->add_record(rec);
    }
    w->add_record(encode_hard_state_record(hs));
    if (options_.preallocate_bytes > 0) {
      // Preallocated before the fdatasync below, so the new segment's size is durable with it.
      uint64_t target = w->pending_bytes() + options_.preallocate_bytes;
      auto pre = co_await w->preallocate(target);
      if (pre) allocated = target;
    }
    STRATA_CO_TRY(co_await w->flush(true));
    uint64_t end = w->offset();
    w.reset();
    STRATA_CO_TRY(co_await fs_.rename(tmp_path, final_path));
    STRATA_CO_TRY(co_await fs_.sync_dir(dir_));
    uint64_t old = segment_number_;
    STRATA_CO_TRY(co_await open_writer(number, end, SegmentState::compacted, allocated));
    auto removed = co_await fs_.remove(segment_path(old));
    (void)removed;  // a leftover older segment is removed on the next recovery
  }
  std::lock_guard lock(mu_);
  auto created = mem_.create_snapshot(index, md.conf_state, {});
  STRATA_ASSERT(created.has_value());
  auto compacted = mem_.compact(index);
  STRATA_ASSERT(compacted.has_value());
  co_return ok();
}

Result<raft::InitialState> RaftStorage::initial_state() const {
  std::lock_guard lock(mu_);
  return mem_.initial_state();
}
Result<std::vector<Entry>> RaftStorage::entries(uint64_t lo, uint64_t hi, uint64_t max_size_bytes) const {
  std::lock_guard lock(mu_);
  return mem_.entries(lo, hi, max_size_bytes);
}
Result<uint64_t> RaftStorage::term(uint64_t i) const {
  std::lock_guard lock(mu_);
  return mem_.term(i);
}
uint64_t RaftStorage::first_index() const {
  std::lock_guard lock(mu_);
  return mem_.first_index();
}
uint64_t RaftStorage::last_index() const {
  std::lock_guard lock(mu_);
  return mem_.last_index();
}
Result<raft::Snapshot> RaftStorage::snapshot() const {
  std::lock_guard lock(mu_);
  return mem_.snapshot();
}
HardState RaftStorage::hard_state() const {
  std::lock_guard lock(mu_);
  return mem_.hard_state();
}
uint64_t RaftStorage::entry_count() const {
  std::lock_guard lock(mu_);
  return mem_.last_index() + 1 - mem_.first_index();
}

}  // namespace strata::replication
