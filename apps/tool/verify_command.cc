#include "apps/tool/verify_command.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "apps/tool/manifest_command.h"
#include "apps/tool/raft_log_command.h"
#include "apps/tool/sst_command.h"
#include "apps/tool/wal_command.h"
#include "lib/replication/command.h"
#include "lib/util/coding.h"
#include "lib/util/internal_key.h"
#include "lib/version/file_names.h"

namespace strata::tool {

const Finding* VerifyReport::first_corruption() const {
  for (const auto& f : findings) {
    if (f.corrupt()) return &f;
  }
  return nullptr;
}

namespace {

// Whether another process holds the flock(2) on `lock_path` (a running strata-server or embedded
// DB). Probes with a shared lock on a read-only descriptor, released at once; never creates it.
bool held_by_another_process(const std::string& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // releases the probe's lock
  return held;
}

std::string table_name(uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "%06" PRIu64 ".sst", number);
  return name;
}

class DbVerifier {
 public:
  // `watch`: a key whose newest version in the live files is wanted (nullptr: none).
  DbVerifier(io::FileSystem& fs, std::string db_dir, VerifyReport* r, WatchedKey* watch)
      : fs_(fs), db_(std::move(db_dir)), r_(*r), watch_(watch) {}

  asio::awaitable<void> run() {
    if (held_by_another_process(lock_file_name(db_))) {
      r_.locked = true;
      r_.findings.push_back(warning(lock_file_name(db_), std::nullopt,
                                    "a running process holds the DB's lock: files may change while they are read"));
    }
    auto listed = co_await fs_.list_dir(db_);
    if (!listed) {
      add(corruption(db_, std::nullopt, "cannot list: " + listed.error().message()), "directory", "corrupt");
      co_return;
    }
    for (const auto& name : *listed) {
      auto parsed = parse_file_name(name);
      if (parsed && parsed->kind == FileKind::table) tables_on_disk_[parsed->number] = io::join_path(db_, name);
    }
    bool manifest_ok = co_await check_manifest();
    co_await check_tables(manifest_ok);
    if (manifest_ok) {
      co_await check_wals();
      check_orphans();
    }
  }

 private:
  void add(Finding f, std::string kind, std::string status, std::string detail = {}) {
    if (detail.empty()) detail = f.message;
    r_.checked.push_back(VerifyReport::Checked{f.file, std::move(kind), std::move(status), std::move(detail)});
    r_.findings.push_back(std::move(f));
  }
  void note(std::string file, std::string kind, std::string detail, std::string status = "ok") {
    r_.checked.push_back(VerifyReport::Checked{std::move(file), std::move(kind), std::move(status), std::move(detail)});
  }

  asio::awaitable<bool> check_manifest() {
    std::optional<Finding> problem;
    auto named = co_await read_current(fs_, db_, &problem);
    if (!named) {
      add(std::move(*problem), "current", "corrupt");
      co_return false;
    }
    note(current_file_name(db_), "current", "names " + named->substr(named->rfind('/') + 1));
    auto number = log_number_from_path(*named);
    ManifestReport m = co_await inspect_manifest(fs_, *named, number.value_or(0));
    bool corrupt = m.corrupt();
    for (auto& f : m.findings) r_.findings.push_back(f);
    note(*named, "manifest",
         std::to_string(m.edits.size()) + " edits, " + std::to_string(m.version->num_files()) +
             " live SSTables, last sequence " + std::to_string(m.last_sequence),
         corrupt              ? "corrupt"
         : m.findings.empty() ? "ok"
                              : "warning");
    version_ = m.version;
    log_number_ = m.log_number;
    for (int level = 0; level < kNumLevels; ++level) {
      for (const auto& f : version_->files(level)) live_largest_seq_ = std::max(live_largest_seq_, f->largest_seq);
    }
    manifest_path_ = *named;
    if (m.end && m.end->torn()) manifest_torn_at_ = m.end->stop.offset;
    co_return !corrupt;
  }

  // With a good manifest: every live table against its metadata, then the orphans. Without one:
  // every table in the directory, for its checksums only.
  asio::awaitable<void> check_tables(bool manifest_ok) {
    std::set<uint64_t> live;
    if (manifest_ok) {
      for (int level = 0; level < kNumLevels; ++level) {
        for (const auto& f : version_->files(level)) {
          live.insert(f->number);
          co_await check_live_table(level, *f);
        }
      }
    }
    for (const auto& [number, path] : tables_on_disk_) {
      if (live.contains(number)) continue;
      SstReport s = co_await inspect_sst(fs_, path, SstScanOptions{});
      if (manifest_ok) {
        add(warning(path, std::nullopt, "not named by the manifest (an orphan): the next open deletes it"), "sstable",
            "orphan");
        if (s.ok() && s.entries > 0) orphans_.push_back(Orphan{path, s.smallest_seq, s.largest_seq});
        continue;
      }
      if (s.problem)
        add(*s.problem, "sstable", "corrupt");
      else
        note(path, "sstable", std::to_string(s.entries) + " entries (not checked against the manifest)");
    }
  }

  asio::awaitable<void> check_live_table(int level, const FileMetaData& meta) {
    std::string path = io::join_path(db_, table_name(meta.number));
    std::string where = "L" + std::to_string(level);
    auto on_disk = tables_on_disk_.find(meta.number);
    if (on_disk == tables_on_disk_.end()) {
      add(corruption(path, std::nullopt, "missing: the manifest names it at " + where + " but the file does not exist"),
          "sstable", "corrupt");
      co_return;
    }
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(path, ec);
    if (!ec && size != meta.file_size) {
      add(corruption(
              path, std::min(size, meta.file_size),
              "the file is " + std::to_string(size) + " bytes, the manifest says " + std::to_string(meta.file_size)),
          "sstable", "corrupt");
      co_return;
    }
    SstReport s = co_await inspect_sst(fs_, path, SstScanOptions{.watch = watch_});
    if (s.problem) {
      add(*s.problem, "sstable", "corrupt");
      co_return;
    }
    std::string mismatch;
    if (s.entries != meta.num_entries) {
      mismatch =
          "holds " + std::to_string(s.entries) + " entries, the manifest says " + std::to_string(meta.num_entries);
    } else if (s.entries > 0 && (s.smallest_key != meta.smallest || s.largest_key != meta.largest)) {
      mismatch = "key range [" + describe_internal_key(s.smallest_key) + " .. " + describe_internal_key(s.largest_key) +
                 "] differs from the manifest's [" + describe_internal_key(meta.smallest) + " .. " +
                 describe_internal_key(meta.largest) + "]";
    }
    if (!mismatch.empty()) {
      add(corruption(path, std::nullopt, mismatch), "sstable", "corrupt");
      co_return;
    }
    note(path, "sstable",
         where + ", " + std::to_string(s.entries) + " entries, " + std::to_string(s.data_blocks) + " data blocks, " +
             std::to_string(s.blocks_verified) + " checksums verified");
  }

  // The segments recovery replays (numbers >= the manifest's log number), in order.
  asio::awaitable<void> check_wals() {
    std::string wal_dir = wal_dir_name(db_);
    std::error_code ec;
    if (!std::filesystem::is_directory(wal_dir, ec)) co_return;  // a checkpoint has no WAL
    auto names = co_await fs_.list_dir(wal_dir);
    if (!names) {
      add(corruption(wal_dir, std::nullopt, "cannot list: " + names.error().message()), "wal", "corrupt");
      co_return;
    }
    std::vector<uint64_t> numbers;
    for (const auto& name : *names) {
      auto parsed = parse_file_name(name);
      if (!parsed || parsed->kind != FileKind::wal) continue;
      if (parsed->number < log_number_) {
        note(wal_file_name(db_, parsed->number), "wal", "obsolete (below the log number): not read", "obsolete");
        continue;
      }
      numbers.push_back(parsed->number);
    }
    std::sort(numbers.begin(), numbers.end());
    for (size_t i = 0; i < numbers.size(); ++i) {
      std::string path = wal_file_name(db_, numbers[i]);
      WalReport w = co_await inspect_wal(fs_, path, numbers[i], WalScanOptions{.watch = watch_});
      for (const auto& f : w.findings) r_.findings.push_back(f);
      if (w.records > 0 && w.first_sequence > 0 &&
          (wal_first_sequence_ == 0 || w.first_sequence < wal_first_sequence_)) {
        wal_first_sequence_ = w.first_sequence;
      }
      bool torn = w.end && w.end->torn();
      if (torn && i + 1 < numbers.size()) {
        // DBImpl::recover stops at a torn segment: the later ones, written after it, are lost.
        r_.findings.push_back(corruption(path, w.end->stop.offset,
                                         "torn tail followed by " + std::to_string(numbers.size() - i - 1) +
                                             " later segment(s), which recovery would ignore"));
      }
      std::string status = w.corrupt() || (torn && i + 1 < numbers.size()) ? "corrupt" : torn ? "warning" : "ok";
      std::string detail = std::to_string(w.records) + " records, sequence " + std::to_string(w.first_sequence) + ".." +
                           std::to_string(w.last_sequence);
      if (w.end) detail += "; " + w.end->to_text();
      note(path, "wal", detail, status);
    }
  }

  // An orphan SSTable is normally a table whose flush or compaction did not commit: its writes are
  // also in the live SSTables (a compaction output) or still in the WAL (a flush, whose WAL
  // segments are deleted only after its edit is synced). Flushes commit in sequence order, so the
  // live SSTables hold the writes up to their largest sequence number and the live WAL segments
  // the ones after it. An orphan holding writes past the first and before the second was committed
  // by an edit the manifest has lost: its damaged last record, which recovery takes for a torn
  // tail. The next open would delete the table and those writes with it.
  void check_orphans() {
    for (const Orphan& o : orphans_) {
      if (o.largest_seq <= live_largest_seq_) continue;
      uint64_t first_missing = std::max(o.smallest_seq, live_largest_seq_ + 1);
      if (wal_first_sequence_ != 0 && first_missing >= wal_first_sequence_) continue;
      std::string lost =
          "sequence numbers " + std::to_string(first_missing) + ".." + std::to_string(o.largest_seq) +
          " are in orphan SSTable " + o.path + " and in neither a live SSTable (up to sequence " +
          std::to_string(live_largest_seq_) + ") nor the WAL" +
          (wal_first_sequence_ != 0 ? " (from sequence " + std::to_string(wal_first_sequence_) + ")" : std::string());
      if (manifest_torn_at_) {
        r_.findings.push_back(corruption(manifest_path_, *manifest_torn_at_,
                                         "the damaged last edit is not a torn append: " + lost +
                                             "; the next open would delete it and lose those writes"));
      } else {
        r_.findings.push_back(corruption(o.path, std::nullopt, lost + "; the next open would delete it"));
      }
    }
  }

  struct Orphan {
    std::string path;
    uint64_t smallest_seq = 0;
    uint64_t largest_seq = 0;
  };

  io::FileSystem& fs_;
  std::string db_;
  VerifyReport& r_;
  std::map<uint64_t, std::string> tables_on_disk_;
  std::shared_ptr<const Version> version_;
  uint64_t log_number_ = 0;
  uint64_t live_largest_seq_ = 0;  // the largest sequence number in a live SSTable
  std::string manifest_path_;
  std::optional<uint64_t> manifest_torn_at_;  // where the manifest's torn tail starts
  std::vector<Orphan> orphans_;
  uint64_t wal_first_sequence_ = 0;  // the smallest sequence number in the live WAL (0: none)
  WatchedKey* watch_;
};

// A cluster node refuses to start when its DB's applied index is behind the Raft log's snapshot
// (Node::open_impl): the entries in between are in neither. The applied index is the DB's key
// "mapplied" (fixed64, lib/replication/command.h), newest version across the live files.
void check_applied_index(const WatchedKey& applied, const RaftLogReport& raft, const std::string& db_dir,
                         VerifyReport* r) {
  if (raft.corrupt() || raft.segment_path.empty()) return;
  uint64_t index = 0;
  if (applied.sequence && !applied.deleted && applied.value.size() == 8) index = decode_fixed64(applied.value.data());
  uint64_t snapshot_index = raft.first_index - 1;
  r->checked.push_back(VerifyReport::Checked{db_dir, "applied_index", index >= snapshot_index ? "ok" : "corrupt",
                                             "the DB has applied the log up to index " + std::to_string(index) +
                                                 "; the Raft log starts after index " +
                                                 std::to_string(snapshot_index)});
  if (index < snapshot_index) {
    r->findings.push_back(corruption(db_dir, std::nullopt,
                                     "the DB's applied index " + std::to_string(index) +
                                         " is behind the Raft log's snapshot at index " +
                                         std::to_string(snapshot_index) + ": the entries in between are lost"));
  }
}

}  // namespace

asio::awaitable<VerifyReport> verify_data_dir(io::FileSystem& fs, std::string dir, bool cluster_node) {
  VerifyReport r;
  r.dir = dir;
  r.layout = cluster_node ? "cluster_node" : "single_node";
  std::string db_dir = cluster_node ? io::join_path(dir, "db") : dir;
  std::error_code ec;
  if (cluster_node && !std::filesystem::is_directory(db_dir, ec)) {
    // Node::open_impl renames db.old back when a snapshot install stopped between its renames.
    std::string old_dir = io::join_path(dir, "db.old");
    if (std::filesystem::is_directory(old_dir, ec)) {
      r.findings.push_back(warning(old_dir, std::nullopt,
                                   "an interrupted snapshot install: the node renames db.old back to db at start"));
      db_dir = old_dir;
    } else {
      r.findings.push_back(corruption(db_dir, std::nullopt, "missing: a cluster node's data directory has no db/"));
      db_dir.clear();
    }
  }
  WatchedKey applied;
  applied.user_key = replication::kAppliedKey;
  if (!db_dir.empty()) {
    DbVerifier db(fs, db_dir, &r, cluster_node ? &applied : nullptr);
    co_await db.run();
  }
  if (cluster_node) {
    RaftLogReport raft = co_await inspect_raft_log(fs, io::join_path(dir, "raft"), false, 0);
    bool db_clean = r.first_corruption() == nullptr;
    for (const auto& f : raft.findings) r.findings.push_back(f);
    std::string detail = std::to_string(raft.records) + " records, log " + std::to_string(raft.first_index) + ".." +
                         std::to_string(raft.last_index);
    if (raft.hard_state) detail += ", commit " + std::to_string(raft.hard_state->commit);
    if (raft.end) detail += "; " + raft.end->to_text();
    r.checked.push_back(VerifyReport::Checked{raft.segment_path.empty() ? raft.dir : raft.segment_path, "raft_log",
                                              raft.corrupt() ? "corrupt" : "ok", detail});
    if (db_clean && !db_dir.empty()) check_applied_index(applied, raft, db_dir, &r);
  }
  co_return r;
}

boost::json::object verify_report_json(const VerifyReport& r) {
  const Finding* first = r.first_corruption();
  boost::json::object o{
      {"dir", r.dir}, {"layout", r.layout}, {"status", first ? "corrupt" : "clean"}, {"locked", r.locked}};
  if (first)
    o["first_corruption"] = first->to_json();
  else
    o["first_corruption"] = nullptr;
  boost::json::array files;
  for (const auto& c : r.checked) {
    files.push_back(
        boost::json::object{{"file", c.file}, {"kind", c.kind}, {"status", c.status}, {"detail", c.detail}});
  }
  o["files"] = std::move(files);
  boost::json::array findings;
  for (const auto& f : r.findings) findings.push_back(f.to_json());
  o["findings"] = std::move(findings);
  return o;
}

void print_verify_report(const VerifyReport& r) {
  std::printf("verify %s (%s)\n", r.dir.c_str(), r.layout == "cluster_node" ? "cluster node" : "single node");
  for (const auto& c : r.checked) {
    std::printf("  %-8s %-9s %s: %s\n", c.status.c_str(), c.kind.c_str(), c.file.c_str(), c.detail.c_str());
  }
  for (const auto& f : r.findings) std::printf("%s\n", f.to_text().c_str());
  const Finding* first = r.first_corruption();
  if (first)
    std::printf("CORRUPT: first corruption in %s%s\n", first->file.c_str(),
                first->offset ? (" at offset " + std::to_string(*first->offset)).c_str() : "");
  else
    std::printf("clean\n");
}

int run_verify_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags) {
  const std::string& dir = args.at(0);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::fprintf(stderr, "strata-tool: %s is not a directory\n", dir.c_str());
    return kExitUsage;
  }
  auto has = [&](const std::string& name) { return std::filesystem::exists(io::join_path(dir, name), ec); };
  bool cluster_node = !has("CURRENT") && (has("raft") || has("db"));
  bool looks_like_db = has("CURRENT") || has("wal") || cluster_node;
  if (!looks_like_db) {
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (parse_file_name(entry.path().filename().string())) looks_like_db = true;
    }
  }
  if (!looks_like_db) {
    std::fprintf(stderr, "strata-tool: %s holds no Strata data (no CURRENT, wal/, db/ or raft/)\n", dir.c_str());
    return kExitUsage;
  }
  VerifyReport r = run_sync(verify_data_dir(fs, dir, cluster_node));
  if (flags.json)
    print_json(verify_report_json(r));
  else
    print_verify_report(r);
  return r.first_corruption() ? kExitCorrupt : kExitClean;
}

}  // namespace strata::tool
