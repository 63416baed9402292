// LevelIterator: one InternalIterator over a list of SSTables whose key ranges are disjoint and
// sorted (a level >= 1, or a single L0 file), opening each table only when the iteration reaches
// it (LevelDB's two-level "concatenating iterator" over a level's file list). A long scan thus
// opens tables one at a time, and an iterator over the whole tree opens nothing up front.
//
// REQUIRES: no user key spans two files of the list (compaction cuts outputs at user-key
// boundaries), and the files stay on disk while the iterator lives (the caller pins the Version).
// Thread-safety: none; one coroutine at a time.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>

#include "lib/util/internal_iterator.h"
#include "lib/version/version.h"

namespace strata {

using TableIteratorFactory =
    std::function<boost::asio::awaitable<Result<std::unique_ptr<InternalIterator>>>(const FileMetaData&)>;

std::unique_ptr<InternalIterator> new_level_iterator(Version::FileList files, TableIteratorFactory open);

}  // namespace strata
