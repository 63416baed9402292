#include "lib/raft/storage.h"

#include "lib/util/assert.h"

namespace strata::raft {

MemoryStorage::MemoryStorage() : ents_(1) {}

Result<InitialState> MemoryStorage::initial_state() const {
  return InitialState{hard_state_, snapshot_.metadata.conf_state};
}

Result<std::vector<Entry>> MemoryStorage::entries(uint64_t lo, uint64_t hi, uint64_t max_size_bytes) const {
  if (lo <= offset()) return err_compacted();
  if (hi > last_index() + 1) return err_unavailable();
  std::vector<Entry> out;
  uint64_t size = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = ents_[i - offset()];
    size += entry_size_bytes(e);
    if (!out.empty() && size > max_size_bytes) break;
    out.push_back(e);
  }
  return out;
}

Result<uint64_t> MemoryStorage::term(uint64_t i) const {
  if (i < offset()) return err_compacted();
  if (i > last_index()) return err_unavailable();
  return ents_[i - offset()].term;
}

uint64_t MemoryStorage::first_index() const { return offset() + 1; }
uint64_t MemoryStorage::last_index() const { return offset() + ents_.size() - 1; }
Result<Snapshot> MemoryStorage::snapshot() const { return snapshot_; }

Result<void> MemoryStorage::apply_snapshot(Snapshot snap) {
  if (snap.metadata.index <= snapshot_.metadata.index) {
    return make_error_code(Errc::invalid_argument);
  }
  ents_.assign(1, Entry{snap.metadata.term, snap.metadata.index, EntryType::normal, {}});
  snapshot_ = std::move(snap);
  return ok();
}

Result<void> MemoryStorage::create_snapshot(uint64_t i, const ConfState& cs, std::string data) {
  if (i <= snapshot_.metadata.index) return make_error_code(Errc::invalid_argument);
  STRATA_ASSERT_MSG(i <= last_index(), "snapshot index past the last log index");
  STRATA_ASSERT(i >= offset());
  snapshot_.metadata.index = i;
  snapshot_.metadata.term = ents_[i - offset()].term;
  snapshot_.metadata.conf_state = cs;
  snapshot_.data = std::move(data);
  return ok();
}

Result<void> MemoryStorage::compact(uint64_t compact_index) {
  if (compact_index <= offset()) return err_compacted();
  STRATA_ASSERT_MSG(compact_index <= last_index(), "compaction past the last log index");
  uint64_t drop = compact_index - offset();
  ents_.erase(ents_.begin(), ents_.begin() + static_cast<std::ptrdiff_t>(drop));
  ents_.front().data.clear();  // the dummy keeps only index and term
  ents_.front().type = EntryType::normal;
  return ok();
}

void MemoryStorage::append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  uint64_t first = first_index();
  uint64_t last = entries.back().index;
  if (last < first) return;  // everything is already compacted
  size_t skip = entries.front().index < first ? first - entries.front().index : 0;
  uint64_t start = entries[skip].index;
  STRATA_ASSERT_MSG(start <= last_index() + 1, "gap between stored log and appended entries");
  ents_.resize(start - offset());  // truncates entries that the new ones replace
  ents_.insert(ents_.end(), entries.begin() + static_cast<std::ptrdiff_t>(skip), entries.end());
}

}  // namespace strata::raft
