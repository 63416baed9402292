// build_table: writes the entries of a memtable to a new L0 SSTable (the flush of DESIGN.md's
// write path, also used for the memtable rebuilt by WAL replay on open).
//
// Versions that no reader can see are dropped: within one user key, entries are kept only if they
// are the newest in their snapshot stripe (the stripe of sequence s is the first live snapshot
// >= s, or "latest"). Tombstones are kept (L0 is never the bottom level).
// The file is synced and its directory entry made durable before this returns, so a manifest
// edit may name it.
//
// Runs on: the caller's executor (the DB's background pool). Thread-safety: reads `mem`, which
// must be immutable.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/io/file_system.h"
#include "lib/memtable/memtable.h"
#include "lib/sstable/table_options.h"
#include "lib/version/version_edit.h"

namespace strata {

struct BuildTableOutput {
  FileMetaData meta;  // meta.num_entries == 0: nothing written, no file left behind
  uint64_t entries_dropped = 0;
};

// snapshots: live snapshot sequence numbers, ascending.
boost::asio::awaitable<Result<BuildTableOutput>> build_table(io::FileSystem& fs, std::string db_dir, uint64_t number,
                                                             std::shared_ptr<const MemTable> mem,
                                                             sstable::TableOptions options,
                                                             std::vector<SequenceNumber> snapshots);

}  // namespace strata
