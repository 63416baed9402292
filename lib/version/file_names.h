// The names of the files in a DB directory (docs/format/layout.md):
//
//   LOCK                 flock'd by the process that has the DB open
//   CURRENT              one line: the name of the live manifest, replaced atomically
//   MANIFEST-NNNNNN      the log of version edits
//   wal/NNNNNN.log       WAL segments
//   NNNNNN.sst           SSTables
//   *.tmp                half-written files, deleted on open
//
// Every file number comes from one counter (VersionSet::new_file_number), so numbers never
// repeat across file kinds.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata {

enum class FileKind { wal, table, manifest, current, lock, temp };

std::string wal_dir_name(std::string_view db);
std::string wal_file_name(std::string_view db, uint64_t number);
std::string table_file_name(std::string_view db, uint64_t number);
std::string manifest_file_name(std::string_view db, uint64_t number);
std::string current_file_name(std::string_view db);
std::string lock_file_name(std::string_view db);

struct ParsedFileName {
  FileKind kind;
  uint64_t number = 0;  // 0 for CURRENT, LOCK, temp
};
// Parses a bare name found in the DB directory or its wal/ subdirectory; nullopt if foreign.
std::optional<ParsedFileName> parse_file_name(std::string_view name);

}  // namespace strata
