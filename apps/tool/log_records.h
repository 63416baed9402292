// Reading a file in the WAL framing (a WAL segment, a MANIFEST, a Raft log segment) record by
// record with lib/wal's WalReader, with each record's offset, and classifying how it ends:
//   clean      the reader stopped at the end of the data (clean_end) or at preallocated zeros;
//   torn tail  it stopped at a bad or incomplete fragment and no valid fragment of this log
//              follows: what a crash during the last append leaves, and what recovery drops;
//   corrupt    it stopped at a bad fragment and a valid fragment of this log follows
//              (WalReader::find_valid_fragment_after_stop): bytes that were written and synced
//              before later ones are damaged.
// The MANIFEST and the Raft log are recovered by exactly this rule. WAL recovery is more lenient
// (DBImpl::replay_wal accepts valid fragments within one write's extent past a torn tail, which
// a power loss can leave with sync policy none or batch); the tool reports those as corrupt.
// Thread-safety: none needed.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "apps/tool/tool_common.h"
#include "lib/wal/wal_reader.h"

namespace strata::tool {

struct LogRecord {
  uint64_t offset = 0;      // the first fragment's header
  uint64_t end_offset = 0;  // just past the last fragment
  std::string payload;
};

struct LogEnd {
  wal::WalReader::Stop stop{wal::WalReader::Stop::clean_end, 0};
  std::optional<uint64_t> valid_after;  // a valid fragment past a bad stop: corruption
  uint64_t records = 0;
  uint64_t last_record_end_offset = 0;

  bool clean() const {
    return stop.reason == wal::WalReader::Stop::clean_end || stop.reason == wal::WalReader::Stop::zeros;
  }
  bool corrupt() const { return !clean() && valid_after.has_value(); }
  bool torn() const { return !clean() && !valid_after.has_value(); }
  // "clean" | "torn_tail" | "corrupt".
  const char* verdict() const;
  // {"reason","offset","verdict","valid_fragment_at","records","last_record_end"}.
  boost::json::object to_json() const;
  // "stopped at offset N: REASON (VERDICT ...)".
  std::string to_text() const;
  // The finding this end is, if any: corruption or a torn-tail warning; none when clean.
  std::optional<Finding> finding(const std::string& path) const;
};

// Reads every record of `file` (stamped with the low 32 bits of `log_number`), calling
// on_record for each in order; on_record returns false to stop early (it found the record bad),
// and then the returned LogEnd says clean_end at that record. Errors: the file's read errors.
asio::awaitable<Result<LogEnd>> read_log(io::File& file, uint64_t log_number,
                                         const std::function<bool(LogRecord&)>& on_record);

// The file number in a log file's name: NNNNNN.log (a WAL or Raft log segment) or
// MANIFEST-NNNNNN, after the last '/'. nullopt for another name.
std::optional<uint64_t> log_number_from_path(std::string_view path);

}  // namespace strata::tool
