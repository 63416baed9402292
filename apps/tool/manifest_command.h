// `strata-tool manifest PATH`: every version edit of a MANIFEST in order (read with lib/wal's
// WalReader, decoded with VersionEdit::decode, applied with Version::apply exactly as
// VersionSet::recover replays it), and the resulting files per level and counters. PATH is a
// MANIFEST-NNNNNN file or a DB directory (then the manifest CURRENT names).
// Thread-safety: none needed.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/tool/log_records.h"
#include "apps/tool/tool_common.h"
#include "lib/version/version.h"

namespace strata::tool {

struct ManifestReport {
  struct Edit {
    uint64_t offset = 0;
    uint64_t end_offset = 0;
    VersionEdit edit;
  };
  std::string path;     // the manifest
  std::string current;  // CURRENT's path when PATH was a directory; empty otherwise
  uint64_t manifest_number = 0;
  std::vector<Edit> edits;
  std::shared_ptr<const Version> version;  // after the last edit that applied
  uint64_t log_number = 0;
  uint64_t next_file_number = 0;
  uint64_t last_sequence = 0;
  std::optional<LogEnd> end;
  std::vector<Finding> findings;

  bool corrupt() const;
};

// Reads CURRENT in `db_dir` and returns the manifest path it names, or a finding.
asio::awaitable<Result<std::string>> read_current(io::FileSystem& fs, std::string db_dir,
                                                  std::optional<Finding>* problem);

// Replays the manifest at `path` with file number `number`.
asio::awaitable<ManifestReport> inspect_manifest(io::FileSystem& fs, std::string path, uint64_t number);

boost::json::object manifest_report_json(const ManifestReport& r);
void print_manifest_report(const ManifestReport& r);
// {"level": [{"number","file_size","num_entries","smallest","largest",...}]}-style JSON of a version.
boost::json::array levels_json(const Version& v);

int run_manifest_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags);

}  // namespace strata::tool
