#include "apps/tool/raft_log_command.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "lib/memtable/write_batch_internal.h"
#include "lib/raft/codec.h"
#include "lib/raft/storage.h"
#include "lib/replication/command.h"
#include "lib/replication/raft_storage.h"
#include "lib/util/coding.h"

namespace strata::tool {

bool RaftLogReport::corrupt() const {
  for (const auto& f : findings) {
    if (f.corrupt()) return true;
  }
  return false;
}

std::string raft_dir_of(const std::string& dir) {
  std::error_code ec;
  std::string sub = io::join_path(dir, "raft");
  return std::filesystem::is_directory(sub, ec) ? sub : dir;
}

namespace {

using replication::RaftRecordKind;

// What a normal entry's data is (lib/replication/command.h).
std::string describe_entry(const raft::Entry& e) {
  if (e.type == raft::EntryType::conf_change) {
    auto cc = raft::decode_conf_change(e.data);
    if (!cc) return "conf change (undecodable)";
    const char* what = cc->type == raft::ConfChangeType::add_voter     ? "add voter"
                       : cc->type == raft::ConfChangeType::add_learner ? "add learner"
                                                                       : "remove";
    return std::string("conf change: ") + what + " " + std::to_string(cc->node_id);
  }
  if (e.data.empty()) return "empty (a new leader's entry)";
  auto cmd = replication::decode_command(e.data);
  if (!cmd) return "not a command (undecodable)";
  std::string origin = " from node " + std::to_string(cmd->origin) + " proposal " + std::to_string(cmd->proposal_id);
  if (cmd->kind == replication::CommandKind::peer_address) {
    auto addr = replication::decode_peer_address(cmd->body);
    if (!addr) return "peer address (undecodable)" + origin;
    return "peer address: node " + std::to_string(addr->first) + " at " + escape_bytes(addr->second) + origin;
  }
  auto batch = WriteBatchInternal::from_contents(cmd->body);
  if (!batch) return "write (undecodable batch)" + origin;
  return "write: " + std::to_string(batch->count()) + " operations" + origin;
}

bool is_header(std::string_view r) {
  return r.size() == 1 + sizeof replication::kRaftLogMagic + 4 && r[0] == static_cast<char>(RaftRecordKind::header) &&
         std::memcmp(r.data() + 1, replication::kRaftLogMagic, sizeof replication::kRaftLogMagic) == 0 &&
         decode_fixed32(r.data() + 1 + sizeof replication::kRaftLogMagic) == replication::kRaftLogFormatVersion;
}

// Replays one record as RaftStorage::apply_record does; an error message if it is bad.
class Replayer {
 public:
  Replayer(RaftLogReport* r, bool list, uint64_t limit) : r_(*r), list_(list), limit_(limit) {}

  std::optional<std::string> apply(const LogRecord& rec) {
    std::string_view in = rec.payload;
    if (in.empty()) return "empty record";
    auto kind = static_cast<RaftRecordKind>(in[0]);
    in.remove_prefix(1);
    switch (kind) {
      case RaftRecordKind::hard_state: {
        auto hs = raft::decode_hard_state(in);
        if (!hs) return "hard state record does not decode";
        mem_.set_hard_state(*hs);
        r_.hard_state = *hs;
        r_.hard_state_offset = rec.offset;
        return std::nullopt;
      }
      case RaftRecordKind::snapshot: {
        auto md = raft::decode_snapshot_metadata(&in);
        if (!md || !in.empty()) return "snapshot record does not decode";
        raft::Snapshot snap;
        snap.metadata = *md;
        if (!mem_.apply_snapshot(std::move(snap))) return "snapshot record older than the snapshot before it";
        r_.snapshot = *md;
        return std::nullopt;
      }
      case RaftRecordKind::entries: return apply_entries(rec.offset, in);
      case RaftRecordKind::header: return "a second header record";
    }
    return "unknown record kind " + std::to_string(static_cast<unsigned>(static_cast<uint8_t>(rec.payload[0])));
  }

  void finish() {
    r_.first_index = mem_.first_index();
    r_.last_index = mem_.last_index();
  }

 private:
  std::optional<std::string> apply_entries(uint64_t offset, std::string_view in) {
    uint64_t n = 0;
    if (!get_varint64(&in, &n) || n > in.size()) return "entries record: bad count";
    std::vector<raft::Entry> ents;
    for (uint64_t i = 0; i < n; ++i) {
      auto e = raft::decode_entry(&in);
      if (!e) return "entries record: entry " + std::to_string(i) + " does not decode";
      if (!ents.empty() && e->index != ents.back().index + 1) return "entries record: indexes not consecutive";
      ents.push_back(std::move(*e));
    }
    if (!in.empty() || ents.empty()) return "entries record: trailing bytes or no entry";
    if (ents.front().index > mem_.last_index() + 1) {
      return "entries record: first index " + std::to_string(ents.front().index) + " leaves a gap after " +
             std::to_string(mem_.last_index());
    }
    r_.entries_read += ents.size();
    for (const auto& e : ents) {
      if (!list_ || r_.listed.size() >= limit_) break;
      r_.listed.push_back(RaftLogReport::EntryRow{offset, e.index, e.term, e.type, e.data.size(), describe_entry(e)});
    }
    mem_.append(ents);
    return std::nullopt;
  }

  RaftLogReport& r_;
  bool list_;
  uint64_t limit_;
  raft::MemoryStorage mem_;
};

}  // namespace

asio::awaitable<RaftLogReport> inspect_raft_log(io::FileSystem& fs, std::string raft_dir, bool list_entries,
                                                uint64_t limit) {
  RaftLogReport r;
  r.dir = raft_dir;
  auto names = co_await fs.list_dir(raft_dir);
  if (!names) {
    r.findings.push_back(corruption(raft_dir, std::nullopt, "cannot list: " + names.error().message()));
    co_return r;
  }
  for (const auto& name : *names) {
    if (name.ends_with(".tmp")) {
      r.findings.push_back(warning(io::join_path(raft_dir, name), std::nullopt,
                                   "an unfinished log compaction; the node removes it at start"));
    } else if (auto n = log_number_from_path(name); n && !name.starts_with("MANIFEST-")) {
      r.segments.push_back(*n);
    }
  }
  std::sort(r.segments.begin(), r.segments.end());
  if (r.segments.empty()) {
    r.findings.push_back(corruption(raft_dir, std::nullopt, "no Raft log segment (NNNNNN.log)"));
    co_return r;
  }
  for (size_t i = 0; i + 1 < r.segments.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%06" PRIu64 ".log", r.segments[i]);
    r.findings.push_back(
        warning(io::join_path(raft_dir, name), std::nullopt,
                "superseded by a newer segment (a finished compaction); the node removes it at start"));
  }
  r.segment_number = r.segments.back();
  char name[32];
  std::snprintf(name, sizeof name, "%06" PRIu64 ".log", r.segment_number);
  r.segment_path = io::join_path(raft_dir, name);
  auto opened = co_await open_read_only(fs, r.segment_path);
  if (!opened) {
    r.findings.push_back(corruption(r.segment_path, std::nullopt, "cannot open: " + opened.error().message()));
    co_return r;
  }
  auto file = std::move(*opened);
  Replayer replay(&r, list_entries, limit);
  bool first = true;
  auto on_record = [&](LogRecord& rec) {
    ++r.records;
    if (first) {
      first = false;
      if (!is_header(rec.payload)) {
        r.findings.push_back(corruption(r.segment_path, rec.offset, "bad header record (magic or format version)"));
        return false;
      }
      return true;
    }
    if (auto bad = replay.apply(rec)) {
      r.findings.push_back(corruption(r.segment_path, rec.offset, *bad));
      return false;
    }
    return true;
  };
  auto end = co_await read_log(*file, r.segment_number, on_record);
  if (!end) {
    r.findings.push_back(corruption(r.segment_path, std::nullopt, "read error: " + end.error().message()));
    co_return r;
  }
  replay.finish();
  r.end = *end;
  if (r.corrupt()) co_return r;
  if (auto f = end->finding(r.segment_path)) r.findings.push_back(std::move(*f));
  if (first) r.findings.push_back(warning(r.segment_path, 0, "no header record: an interrupted creation of a new log"));
  // etcd-io/raft refuses to start on this ("tocommit is out of range"): entries the node said
  // were committed are gone from its log.
  if (r.hard_state && r.hard_state->commit > r.last_index) {
    r.findings.push_back(corruption(r.segment_path, r.hard_state_offset,
                                    "hard state commit index " + std::to_string(r.hard_state->commit) +
                                        " is past the last log index " + std::to_string(r.last_index)));
  }
  co_return r;
}

namespace {

const char* entry_type_name(raft::EntryType t) { return t == raft::EntryType::normal ? "normal" : "conf_change"; }

boost::json::array ids_json(const std::vector<uint64_t>& ids) {
  boost::json::array a;
  for (uint64_t id : ids) a.push_back(id);
  return a;
}

}  // namespace

boost::json::object raft_log_report_json(const RaftLogReport& r) {
  boost::json::object o{{"dir", r.dir}, {"status", r.corrupt() ? "corrupt" : "ok"}};
  o["segments"] = ids_json(r.segments);
  o["segment"] = r.segment_path;
  o["records"] = r.records;
  o["entries_read"] = r.entries_read;
  o["first_index"] = r.first_index;
  o["last_index"] = r.last_index;
  if (r.hard_state) {
    o["hard_state"] = boost::json::object{
        {"term", r.hard_state->term}, {"vote", r.hard_state->vote}, {"commit", r.hard_state->commit}};
  } else {
    o["hard_state"] = nullptr;
  }
  if (r.snapshot) {
    o["snapshot"] = boost::json::object{{"index", r.snapshot->index},
                                        {"term", r.snapshot->term},
                                        {"voters", ids_json(r.snapshot->conf_state.voters)},
                                        {"learners", ids_json(r.snapshot->conf_state.learners)}};
  } else {
    o["snapshot"] = nullptr;
  }
  boost::json::array entries;
  for (const auto& e : r.listed) {
    entries.push_back(boost::json::object{{"index", e.index},
                                          {"term", e.term},
                                          {"type", entry_type_name(e.type)},
                                          {"bytes", e.bytes},
                                          {"record_offset", e.record_offset},
                                          {"detail", e.detail}});
  }
  o["entries"] = std::move(entries);
  if (r.end) o["end"] = r.end->to_json();
  boost::json::array findings;
  for (const auto& f : r.findings) findings.push_back(f.to_json());
  o["findings"] = std::move(findings);
  return o;
}

void print_raft_log_report(const RaftLogReport& r) {
  std::printf("raft log %s: %zu segment(s), live %s\n", r.dir.c_str(), r.segments.size(), r.segment_path.c_str());
  if (r.snapshot) {
    std::printf("  snapshot: index %" PRIu64 " term %" PRIu64 ", %zu voters, %zu learners\n", r.snapshot->index,
                r.snapshot->term, r.snapshot->conf_state.voters.size(), r.snapshot->conf_state.learners.size());
  }
  for (const auto& e : r.listed) {
    std::printf("  %" PRIu64 " term %" PRIu64 " %s %" PRIu64 " B: %s\n", e.index, e.term, entry_type_name(e.type),
                e.bytes, e.detail.c_str());
  }
  if (r.hard_state) {
    std::printf("  hard state: term %" PRIu64 " vote %" PRIu64 " commit %" PRIu64 "\n", r.hard_state->term,
                r.hard_state->vote, r.hard_state->commit);
  }
  std::printf("  %" PRIu64 " records, %" PRIu64 " entries read; log %" PRIu64 "..%" PRIu64 "\n", r.records,
              r.entries_read, r.first_index, r.last_index);
  if (r.end) std::printf("  %s\n", r.end->to_text().c_str());
  for (const auto& f : r.findings) std::printf("%s\n", f.to_text().c_str());
  if (!r.corrupt()) std::printf("ok\n");
}

int run_raft_log_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags) {
  std::error_code ec;
  if (!std::filesystem::is_directory(args.at(0), ec)) {
    std::fprintf(stderr, "strata-tool: %s is not a directory (give a node's --data-dir or its raft/)\n",
                 args.at(0).c_str());
    return kExitUsage;
  }
  std::string raft_dir = raft_dir_of(args.at(0));
  if (raft_dir == args.at(0)) {
    // Not a node's --data-dir: it must be a raft/ directory itself, holding segments.
    bool has_segment = false;
    for (const auto& e : std::filesystem::directory_iterator(raft_dir, ec)) {
      std::string name = e.path().filename().string();
      if (!name.starts_with("MANIFEST-") && log_number_from_path(name)) has_segment = true;
    }
    if (!has_segment) {
      std::fprintf(stderr, "strata-tool: %s has no raft/ and no NNNNNN.log: not a cluster node's data directory\n",
                   raft_dir.c_str());
      return kExitUsage;
    }
  }
  RaftLogReport r = run_sync(inspect_raft_log(fs, raft_dir, /*list_entries=*/true, flags.limit.value_or(UINT64_MAX)));
  if (flags.json)
    print_json(raft_log_report_json(r));
  else
    print_raft_log_report(r);
  return r.corrupt() ? kExitCorrupt : kExitClean;
}

}  // namespace strata::tool
