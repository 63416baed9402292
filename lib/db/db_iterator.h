// DBIter: turns an InternalIterator over every version of every key (the merging iterator over
// memtables and levels) into the user-visible Iterator at one sequence number: entries newer than
// it are invisible, the newest visible entry of each user key decides it, and a tombstone hides
// the key. The algorithm is LevelDB's db/db_iter.cc: going forward the internal iterator sits on
// the current entry; going backward it sits before every entry of the current key, whose newest
// visible value is saved while stepping back over the key's versions (oldest first).
// Bounds: [lower, upper) on user keys, empty = unbounded.
// Thread-safety: none.
#pragma once

#include <memory>
#include <string>

#include "strata/iterator.h"
#include "lib/util/internal_iterator.h"
#include "lib/util/internal_key.h"

namespace strata {

// `pin` is held for the iterator's lifetime (the SuperVersion that keeps its sources alive).
std::unique_ptr<Iterator> new_db_iterator(std::unique_ptr<InternalIterator> internal, SequenceNumber sequence,
                                          std::string lower_bound, std::string upper_bound,
                                          std::shared_ptr<const void> pin);

// An iterator that is never valid and whose every move fails with `error`.
std::unique_ptr<Iterator> new_error_iterator(ErrorCode error);

}  // namespace strata
