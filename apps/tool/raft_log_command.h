// `strata-tool raft-log DIR`: a cluster node's Raft log (docs/format/raft_log.md): the segments
// in `<data-dir>/raft/`, and the live (newest) one replayed as RaftStorage::recover replays it,
// into a raft::MemoryStorage: its header, every entries record (index, term, type, size and what
// the entry carries), snapshot metadata and the last hard state, and the resulting log range.
// RaftStorage::open itself is not used: it creates a missing log and truncates a torn tail.
// DIR is the node's --data-dir or its raft/ subdirectory.
// Thread-safety: none needed.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/tool/log_records.h"
#include "apps/tool/tool_common.h"
#include "lib/raft/messages.h"

namespace strata::tool {

struct RaftLogReport {
  struct EntryRow {
    uint64_t record_offset = 0;  // the entries record that holds it
    uint64_t index = 0;
    uint64_t term = 0;
    raft::EntryType type = raft::EntryType::normal;
    uint64_t bytes = 0;  // the entry's data
    std::string detail;  // what the data is: a write of N operations, a member's address, ...
  };

  std::string dir;  // the raft/ directory
  std::vector<uint64_t> segments;
  std::string segment_path;  // the live segment; empty if there is none
  uint64_t segment_number = 0;
  uint64_t records = 0;
  uint64_t entries_read = 0;  // in entries records, including ones later replaced
  uint64_t first_index = 0;   // of the replayed log (after the snapshot)
  uint64_t last_index = 0;
  std::optional<raft::HardState> hard_state;
  uint64_t hard_state_offset = 0;  // the record of the last hard state
  std::optional<raft::SnapshotMetadata> snapshot;
  std::vector<EntryRow> listed;
  std::optional<LogEnd> end;
  std::vector<Finding> findings;

  bool corrupt() const;
};

// The raft/ directory for DIR: DIR/raft if it exists, else DIR itself.
std::string raft_dir_of(const std::string& dir);

asio::awaitable<RaftLogReport> inspect_raft_log(io::FileSystem& fs, std::string raft_dir, bool list_entries,
                                                uint64_t limit);
boost::json::object raft_log_report_json(const RaftLogReport& r);
void print_raft_log_report(const RaftLogReport& r);

int run_raft_log_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags);

}  // namespace strata::tool
