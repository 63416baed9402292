// `strata-tool sst FILE`: reads one SSTable the way the engine does (lib/sstable: Footer::decode,
// read_block with its checksum check, Block and BlockIterator, TableProperties, the bloom filter,
// then TableReader::open) and checks every block, every entry's order, the index separators, the
// filter (no false negative for any key) and the properties against what the entries add up to.
// The first problem stops the scan and names the file offset of the block where it was found.
// Thread-safety: none needed; one call per file.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/tool/tool_common.h"
#include "lib/sstable/format.h"
#include "lib/sstable/table_properties.h"

namespace strata::tool {

struct SstScanOptions {
  bool collect_entries = false;  // keep entries (up to limit) for the listing
  bool collect_values = false;   // ... with their values
  WatchedKey* watch = nullptr;   // if set: offered every version of its user key
  uint64_t limit = UINT64_MAX;
};

struct SstReport {
  struct Entry {
    std::string internal_key;
    uint64_t value_bytes = 0;
    std::optional<std::string> value;
  };
  struct Bloom {
    std::string encoding = "none";  // none | cache_local | standard | unknown
    uint64_t bytes = 0;             // contents, without the trailer
    int probes = 0;
    uint64_t bits = 0;
    double bits_per_key = 0;  // bits / distinct user keys
  };

  std::string path;
  uint64_t file_size = 0;
  std::optional<sstable::Footer> footer;
  std::optional<sstable::TableProperties> properties;
  uint64_t index_entries = 0;
  uint64_t data_blocks = 0;        // data blocks read and verified
  uint64_t data_block_bytes = 0;   // as stored, trailers included
  uint64_t compressed_blocks = 0;  // stored with LZ4 or zstd
  uint64_t largest_block_bytes = 0;
  uint64_t blocks_verified = 0;  // every block whose checksum passed (data, index, filter, properties)
  Bloom bloom;
  uint64_t entries = 0;  // read from the data blocks
  uint64_t deletions = 0;
  uint64_t user_keys = 0;  // distinct
  uint64_t raw_key_bytes = 0;
  uint64_t raw_value_bytes = 0;
  std::string smallest_key;  // internal keys; empty when the table holds none
  std::string largest_key;
  uint64_t smallest_seq = 0;
  uint64_t largest_seq = 0;
  bool engine_open_ok = false;  // TableReader::open accepted the file
  std::vector<Entry> listed;    // SstScanOptions::collect_entries
  std::optional<Finding> problem;

  bool ok() const { return !problem; }
};

// Reads and checks the table at `path`. Never fails: an unreadable or corrupt file is a report
// with a problem.
asio::awaitable<SstReport> inspect_sst(io::FileSystem& fs, std::string path, SstScanOptions options);

boost::json::object sst_report_json(const SstReport& r, bool with_entries);
void print_sst_report(const SstReport& r, bool with_entries);

// The command: exit 0 (clean), 1 (corrupt or unreadable), 2 (usage).
int run_sst_command(io::FileSystem& fs, const std::vector<std::string>& args, const ToolFlags& flags);

}  // namespace strata::tool
