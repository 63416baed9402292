// LevelIterator: one InternalIterator over a list of SSTables whose key ranges are disjoint and
// sorted (a level >= 1, or a single L0 file), opening each table only when the iteration reaches
// it (LevelDB's two-level "concatenating iterator" over a level's file list). A long scan thus
// opens tables one at a time, and an iterator over the whole tree opens nothing up front.
//
// REQUIRES: no user key spans two files of the list (compaction cuts outputs at user-key
// boundaries), and the list and its files outlive the iterator (the caller pins the Version whose
// file list `files` views: no per-iterator copy of the list).
// Thread-safety: none; one coroutine at a time.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <span>

#include "lib/util/internal_iterator.h"
#include "lib/version/version.h"

namespace strata {

// Opens an iterator over one table, reading what it must.
using TableIteratorFactory =
    std::function<boost::asio::awaitable<Result<std::unique_ptr<InternalIterator>>>(const FileMetaData&)>;
// Opens an iterator over one table if that needs no I/O (the reader is already open); else nullptr.
using TableIteratorOpener = std::function<std::unique_ptr<InternalIterator>(const FileMetaData&)>;

// open_in_memory (may be empty) lets try_seek() enter a table without suspending.
std::unique_ptr<InternalIterator> new_level_iterator(std::span<const std::shared_ptr<const FileMetaData>> files,
                                                     TableIteratorFactory open,
                                                     TableIteratorOpener open_in_memory = {});

}  // namespace strata
