// MergingIterator: one sorted InternalIterator over several (memtables, SSTables), in internal
// key order, forward and backward (the scheme of LevelDB's table/merger.cc: the current child is
// the smallest (forward) or largest (backward) key; a direction change re-seeks the other
// children around the current key).
//
// Duplicate internal keys cannot occur (every version has its own sequence number), so ties are
// impossible and the output is strictly increasing.
// Thread-safety: none; one coroutine at a time.
#pragma once

#include <memory>
#include <vector>

#include "lib/util/internal_iterator.h"

namespace strata {

std::unique_ptr<InternalIterator> new_merging_iterator(std::vector<std::unique_ptr<InternalIterator>> children);

}  // namespace strata
