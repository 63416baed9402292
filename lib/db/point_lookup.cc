#include "lib/db/point_lookup.h"

#include <cstdio>

#include "lib/util/assert.h"
#include "lib/util/logging.h"

namespace strata {

namespace asio = boost::asio;

PointLookup::PointLookup(std::string_view key, SequenceNumber seq, Sources sources, LookupTrace* trace,
                         std::string* value_buffer)
    : seq_(seq),
      sources_(sources),
      trace_(trace),
      lookup_key_(key, seq),
      key_(extract_user_key(lookup_key_.internal_key())),
      value_(value_buffer != nullptr ? value_buffer : &own_value_) {
  STRATA_ASSERT(sources_.mem != nullptr && sources_.version != nullptr && sources_.tables != nullptr);
  if (trace_ != nullptr) trace_->read_sequence = seq_;
  table_get_.value = value_;
}

void PointLookup::trace_memtable(std::string source, const std::optional<MemTable::LookupResult>& r) {
  trace_->steps.push_back(
      LookupTrace::Step{.source = std::move(source), .outcome = !r ? "absent" : (r->deleted ? "tombstone" : "found")});
}

bool PointLookup::next_file() {
  const Version& v = *sources_.version;
  while (level_ < kNumLevels) {
    const auto& files = v.files(level_);
    if (!level_started_) {
      level_started_ = true;
      index_ = 0;
      end_ = files.size();
      if (level_ > 0) {  // disjoint files: only the one whose range may hold the key
        index_ = v.find_file(level_, key_);
        end_ = std::min(end_, index_ + 1);
      }
    }
    while (index_ < end_) {
      const FileMetaData& f = *files[index_++];
      if (key_ < extract_user_key(f.smallest) || key_ > extract_user_key(f.largest)) continue;
      file_ = &f;
      file_level_ = level_;
      if (files_probed_++ == 0) {
        first_file_ = &f;
        first_file_level_ = level_;
      }
      return true;
    }
    ++level_;
    level_started_ = false;
  }
  file_ = nullptr;
  return false;
}

void PointLookup::prefetch(int stage) const {
  const Version& v = *sources_.version;
  for (int level = 0; level < kNumLevels; ++level) {
    const auto& files = v.files(level);
    if (files.empty()) continue;
    size_t begin = 0, end = files.size();
    if (level > 0) {
      begin = v.find_file(level, key_);
      end = std::min(end, begin + 1);
    }
    for (size_t i = begin; i < end; ++i) {
      const FileMetaData& f = *files[i];
      if (key_ < extract_user_key(f.smallest) || key_ > extract_user_key(f.largest)) continue;
      if (const void* pinned = f.table.get()) {
        static_cast<const sstable::TableReader*>(pinned)->prefetch_get(lookup_key_.internal_key(), stage);
      }
    }
  }
}

Result<sstable::GetStep> PointLookup::take_table_answer() {
  using Kind = sstable::TableGet::Kind;
  if (trace_ != nullptr) {
    char name[32];
    snprintf(name, sizeof name, "L%d %06llu.sst", file_level_, static_cast<unsigned long long>(file_->number));
    std::string outcome = get_trace_.bloom_negative           ? "bloom_negative"
                          : table_get_.kind == Kind::absent   ? "absent"
                          : table_get_.kind == Kind::deletion ? "tombstone"
                                                              : "found";
    trace_->steps.push_back(LookupTrace::Step{.source = name,
                                              .level = file_level_,
                                              .file_number = file_->number,
                                              .outcome = std::move(outcome),
                                              .bloom_checked = get_trace_.bloom_checked,
                                              .block_cache_hits = get_trace_.cache_hits(),
                                              .blocks_read = get_trace_.blocks_read(),
                                              .bytes_read = get_trace_.bytes_read()});
    if (table_get_.kind != Kind::absent) trace_->found_sequence = table_get_.sequence;
  }
  if (table_get_.kind != Kind::absent && table_get_.sequence > seq_) {
    // The table returned a version the lookup key sorts after: it cannot be, unless the file is bad.
    STRATA_LOG(error, "SSTable %06llu: lookup at sequence %llu returned sequence %llu",
               static_cast<unsigned long long>(file_->number), static_cast<unsigned long long>(seq_),
               static_cast<unsigned long long>(table_get_.sequence));
    return make_error_code(Errc::corruption);
  }
  switch (table_get_.kind) {
    case Kind::absent: return sstable::GetStep::next_block;
    case Kind::deletion: decide(false); return sstable::GetStep::done;
    case Kind::value: decide(true); return sstable::GetStep::done;  // in *value_ already
  }
  return sstable::GetStep::next_block;
}

Result<sstable::GetStep> PointLookup::run_cached() {
  STRATA_ASSERT(!decided_ && !table_pending_);
  if (!memtables_done_) {
    memtables_done_ = true;
    auto r = sources_.mem->get(key_, seq_);
    if (trace_ != nullptr) trace_memtable("memtable", r);
    for (size_t i = 0; !r && i < sources_.imms.size(); ++i) {
      r = sources_.imms[i]->get(key_, seq_);
      if (trace_ != nullptr) trace_memtable("immutable memtable " + std::to_string(i + 1), r);
    }
    if (r) {
      if (!r->deleted) *value_ = std::move(r->value);
      decide(!r->deleted);
      return sstable::GetStep::done;
    }
  }
  while (next_file()) {
    if (sources_.table_probes != nullptr) sources_.table_probes->add();
    reader_ = sources_.tables->find_open(*file_, &hold_);
    if (reader_ == nullptr) {
      table_pending_ = reader_missing_ = true;
      return sstable::GetStep::needs_io;
    }
    STRATA_TRY_ASSIGN(sstable::GetStep got, reader_->get_cached(lookup_key_.internal_key(), &table_get_, &pending_,
                                                                trace_ != nullptr ? &get_trace_ : nullptr));
    if (got == sstable::GetStep::needs_io) {
      table_pending_ = true;  // reader_ (pinned, or held by hold_) stays for finish()
      return sstable::GetStep::needs_io;
    }
    reader_ = nullptr;
    hold_.reset();
    STRATA_TRY_ASSIGN(sstable::GetStep step, take_table_answer());
    if (step == sstable::GetStep::done) return step;
  }
  decide(false);
  return sstable::GetStep::done;
}

asio::awaitable<Result<void>> PointLookup::finish() {
  STRATA_ASSERT(!decided_ && table_pending_);
  while (true) {
    sstable::GetTrace* gt = trace_ != nullptr ? &get_trace_ : nullptr;
    sstable::GetStep got = sstable::GetStep::needs_io;
    if (reader_missing_) {
      // Open the reader, then start this table's lookup from the top.
      auto found = co_await sources_.tables->find(*file_, /*counted=*/true);
      if (!found) co_return found.error();
      reader_ = found->get();
      hold_ = std::move(*found);
      reader_missing_ = false;
      STRATA_CO_TRY_ASSIGN(got, reader_->get_cached(lookup_key_.internal_key(), &table_get_, &pending_, gt));
    }
    if (got == sstable::GetStep::needs_io) {
      auto finishing =
          reader_->finish_get(std::string(lookup_key_.internal_key()), std::move(pending_), &table_get_, gt);
      STRATA_CO_TRY(co_await std::move(finishing));
    }
    table_pending_ = false;
    reader_ = nullptr;
    hold_.reset();
    STRATA_CO_TRY_ASSIGN(sstable::GetStep step, take_table_answer());
    if (step == sstable::GetStep::done) co_return ok();
    STRATA_CO_TRY_ASSIGN(sstable::GetStep next, run_cached());
    if (next == sstable::GetStep::done) co_return ok();
  }
}

}  // namespace strata
