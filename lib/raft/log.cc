#include "lib/raft/log.h"

#include <algorithm>

#include "lib/util/assert.h"

namespace strata::raft {

// ---- Unstable ----

std::optional<uint64_t> Unstable::maybe_first_index() const {
  if (snapshot_) return snapshot_->metadata.index + 1;
  return std::nullopt;
}

std::optional<uint64_t> Unstable::maybe_last_index() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_) return snapshot_->metadata.index;
  return std::nullopt;
}

std::optional<uint64_t> Unstable::maybe_term(uint64_t i) const {
  if (i < offset_) {
    if (snapshot_ && snapshot_->metadata.index == i) return snapshot_->metadata.term;
    return std::nullopt;
  }
  if (i - offset_ >= entries_.size()) return std::nullopt;
  return entries_[i - offset_].term;
}

void Unstable::stable_to(uint64_t i, uint64_t t) {
  auto gt = maybe_term(i);
  // Only drop entries if the persisted one is still ours: entries may have been replaced by a
  // new leader's after the Ready was taken.
  if (!gt || *gt != t || i < offset_) return;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(i + 1 - offset_));
  offset_ = i + 1;
}

void Unstable::stable_snap_to(uint64_t i) {
  if (snapshot_ && snapshot_->metadata.index == i) snapshot_.reset();
}

void Unstable::restore(Snapshot snap) {
  offset_ = snap.metadata.index + 1;
  entries_.clear();
  snapshot_ = std::move(snap);
}

void Unstable::truncate_and_append(const std::vector<Entry>& ents) {
  if (ents.empty()) return;
  uint64_t after = ents.front().index;
  if (after == offset_ + entries_.size()) {
    // Directly after the current entries.
  } else if (after <= offset_) {
    // Replaces all unstable entries (and some stable ones, which Storage::append truncates).
    offset_ = after;
    entries_.clear();
  } else {
    entries_.resize(after - offset_);
  }
  entries_.insert(entries_.end(), ents.begin(), ents.end());
}

void Unstable::slice(uint64_t lo, uint64_t hi, std::vector<Entry>* out) const {
  STRATA_ASSERT(offset_ <= lo && lo <= hi && hi <= offset_ + entries_.size());
  out->insert(out->end(), entries_.begin() + static_cast<std::ptrdiff_t>(lo - offset_),
              entries_.begin() + static_cast<std::ptrdiff_t>(hi - offset_));
}

// ---- RaftLog ----

RaftLog::RaftLog(const Storage* storage)
    : storage_(storage),
      unstable_(storage->last_index() + 1),
      committed_(storage->first_index() - 1),
      applied_(storage->first_index() - 1),
      applying_(applied_) {}

uint64_t RaftLog::first_index() const {
  if (auto i = unstable_.maybe_first_index()) return *i;
  return storage_->first_index();
}

uint64_t RaftLog::last_index() const {
  if (auto i = unstable_.maybe_last_index()) return *i;
  return storage_->last_index();
}

uint64_t RaftLog::last_term() const {
  auto t = term(last_index());
  STRATA_ASSERT_MSG(t.has_value(), "the term of the last entry must be known");
  return *t;
}

Result<uint64_t> RaftLog::term(uint64_t i) const {
  uint64_t dummy = first_index() - 1;
  if (i < dummy) return err_compacted();
  if (i > last_index()) return err_unavailable();
  if (auto t = unstable_.maybe_term(i)) return *t;
  auto t = storage_->term(i);
  STRATA_ASSERT_MSG(t || is_compacted(t.error()) || is_unavailable(t.error()), "unexpected storage error");
  return t;
}

uint64_t RaftLog::term_or_zero(uint64_t i) const {
  auto t = term(i);
  return t ? *t : 0;
}

bool RaftLog::match_term(uint64_t i, uint64_t t) const {
  auto got = term(i);
  return got && *got == t;
}

std::optional<uint64_t> RaftLog::maybe_append(uint64_t index, uint64_t log_term, uint64_t committed,
                                              const std::vector<Entry>& ents) {
  if (!match_term(index, log_term)) return std::nullopt;
  uint64_t last_new = index + ents.size();
  uint64_t ci = find_conflict(ents);
  if (ci != 0) {
    // Raft §5.3: a conflicting entry is deleted with all that follow it. A committed entry can
    // never conflict (Log Matching + Leader Completeness); if one does, the log is corrupt.
    STRATA_ASSERT_MSG(ci > committed_, "entry conflicts with a committed entry");
    std::vector<Entry> tail(ents.begin() + static_cast<std::ptrdiff_t>(ci - (index + 1)), ents.end());
    append(tail);
  }
  commit_to(std::min(committed, last_new));
  return last_new;
}

uint64_t RaftLog::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return last_index();
  STRATA_ASSERT_MSG(ents.front().index > committed_, "append would overwrite committed entries");
  unstable_.truncate_and_append(ents);
  return last_index();
}

uint64_t RaftLog::find_conflict(const std::vector<Entry>& ents) const {
  for (const Entry& e : ents) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return 0;
}

uint64_t RaftLog::find_conflict_by_term(uint64_t index, uint64_t t) const {
  if (index > last_index()) return index;
  for (; index > 0; --index) {
    auto got = term(index);
    if (!got || *got <= t) break;  // compacted: we cannot look further back
  }
  return index;
}

Result<std::vector<Entry>> RaftLog::entries(uint64_t lo, uint64_t max_size_bytes) const {
  if (lo > last_index()) return std::vector<Entry>{};
  return slice(lo, last_index() + 1, max_size_bytes);
}

Result<std::vector<Entry>> RaftLog::slice(uint64_t lo, uint64_t hi, uint64_t max_size_bytes) const {
  STRATA_ASSERT(lo <= hi && hi <= last_index() + 1);
  if (lo < first_index()) return err_compacted();
  std::vector<Entry> out;
  if (lo == hi) return out;
  uint64_t off = unstable_.offset();
  if (lo < off) {
    auto stored = storage_->entries(lo, std::min(hi, off), max_size_bytes);
    if (!stored) return stored.error();
    out = std::move(*stored);
    if (out.size() < std::min(hi, off) - lo) return out;  // hit the size limit
  }
  if (hi > off) {
    size_t before = out.size();
    unstable_.slice(std::max(lo, off), hi, &out);
    uint64_t size = 0;
    for (size_t i = 0; i < out.size(); ++i) {
      size += entry_size_bytes(out[i]);
      if (i > 0 && i >= before && size > max_size_bytes) {
        out.resize(i);
        break;
      }
    }
  }
  return out;
}

std::vector<Entry> RaftLog::all_entries() const {
  auto ents = entries(first_index(), kNoLimit);
  STRATA_ASSERT(ents.has_value());
  return std::move(*ents);
}

std::vector<Entry> RaftLog::next_committed_entries() const {
  uint64_t lo = std::max(applying_ + 1, first_index());
  if (committed_ + 1 <= lo) return {};
  auto ents = slice(lo, committed_ + 1, kNoLimit);
  STRATA_ASSERT_MSG(ents.has_value(), "committed entries must be readable");
  return std::move(*ents);
}

bool RaftLog::has_next_committed_entries() const { return committed_ + 1 > std::max(applying_ + 1, first_index()); }

Result<Snapshot> RaftLog::snapshot() const {
  if (unstable_.snapshot()) return *unstable_.snapshot();
  return storage_->snapshot();
}

bool RaftLog::is_up_to_date(uint64_t lasti, uint64_t t) const {
  return t > last_term() || (t == last_term() && lasti >= last_index());
}

bool RaftLog::maybe_commit(uint64_t max_index, uint64_t t) {
  if (max_index > committed_ && term_or_zero(max_index) == t) {
    commit_to(max_index);
    return true;
  }
  return false;
}

void RaftLog::commit_to(uint64_t index) {
  if (index <= committed_) return;  // the commit index never decreases
  STRATA_ASSERT_MSG(index <= last_index(), "commit index past the last log index");
  committed_ = index;
}

void RaftLog::applied_to(uint64_t index) {
  if (index == 0) return;
  STRATA_ASSERT_MSG(index <= committed_ && index >= applied_, "applied index out of range");
  applied_ = index;
  applying_ = std::max(applying_, index);
}

void RaftLog::applying_to(uint64_t index) {
  STRATA_ASSERT_MSG(index <= committed_ && index >= applying_, "applying index out of range");
  applying_ = index;
}

void RaftLog::restore(Snapshot snap) {
  committed_ = snap.metadata.index;
  unstable_.restore(std::move(snap));
}

}  // namespace strata::raft
