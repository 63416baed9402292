// `strata-tool wal FILE`: every record of a WAL segment (wal/NNNNNN.log) as the write batch it
// holds (its first sequence number, its puts and deletes), read with lib/wal's WalReader and
// decoded with WriteBatch::iterate, and where and why reading stopped (log_records.h).
// Thread-safety: none needed.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/tool/log_records.h"
#include "apps/tool/tool_common.h"

namespace strata::tool {

struct WalScanOptions {
  bool list_batches = false;  // keep each batch (up to limit) for the listing
  bool list_ops = false;      // ... with its operations
  bool values = false;        // ... with their values
  uint64_t limit = UINT64_MAX;
  WatchedKey* watch = nullptr;  // if set: offered every operation on its key
};

struct WalReport {
  struct Op {
    bool put = true;
    uint64_t sequence = 0;
    std::string key;
    uint64_t value_bytes = 0;
    std::optional<std::string> value;
  };
  struct Batch {
    uint64_t offset = 0;
    uint64_t end_offset = 0;
    uint64_t bytes = 0;  // the WriteBatch representation
    uint64_t sequence = 0;
    uint64_t count = 0;
    uint64_t puts = 0;
    uint64_t deletes = 0;
    std::vector<Op> ops;
  };

  std::string path;
  uint64_t log_number = 0;
  uint64_t file_size = 0;
  uint64_t records = 0;
  uint64_t puts = 0;
  uint64_t deletes = 0;
  uint64_t first_sequence = 0;  // 0 when no operation was read
  uint64_t last_sequence = 0;
  std::vector<Batch> listed;
  std::optional<LogEnd> end;
  std::vector<Finding> findings;  // a corruption stops the scan; a torn tail is a warning

  bool corrupt() const;
};

asio::awaitable<WalReport> inspect_wal(io::FileSystem& fs, std::string path, uint64_t log_number,
                                       WalScanOptions options);
boost::json::object wal_report_json(const WalReport& r);
void print_wal_report(const WalReport& r);

int run_wal_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags);

}  // namespace strata::tool
