// `strata-tool verify DATA_DIR`: checks a whole data directory as the engine would read it at
// open, and more: CURRENT and the MANIFEST replayed (manifest_command.h), every live SSTable
// present, of the size the manifest records, and read in full with every checksum verified and
// its entries checked against the manifest's metadata (sst_command.h), every WAL segment the DB
// would replay (wal_command.h), and for a cluster node (DATA_DIR/db and DATA_DIR/raft) the Raft
// log (raft_log_command.h) and that the DB's applied index is not behind the log's snapshot. It reports every finding,
// in that order; the first corruption is the one named in the summary. Exit 0 when nothing is corrupt (warnings
// allowed), 1 otherwise. Thread-safety: none needed.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "apps/tool/tool_common.h"

namespace strata::tool {

struct VerifyReport {
  struct Checked {
    std::string file;
    std::string kind;    // current | manifest | sstable | wal | raft_log
    std::string status;  // ok | corrupt | warning | obsolete | orphan
    std::string detail;
  };
  std::string dir;
  std::string layout;   // single_node | cluster_node
  bool locked = false;  // a process holds the DB's LOCK: a running node
  std::vector<Checked> checked;
  std::vector<Finding> findings;

  const Finding* first_corruption() const;
};

asio::awaitable<VerifyReport> verify_data_dir(io::FileSystem& fs, std::string dir, bool cluster_node);
boost::json::object verify_report_json(const VerifyReport& r);
void print_verify_report(const VerifyReport& r);

int run_verify_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags);

}  // namespace strata::tool
