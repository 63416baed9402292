#include "lib/compaction/compaction_job.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

#include "lib/compaction/merging_iterator.h"
#include "lib/sstable/table_builder.h"
#include "lib/util/clock.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"

namespace strata {

namespace asio = boost::asio;

namespace {

// Answers "may a level below the output level hold this user key?" for increasing keys, with one
// cursor per level (LevelDB's Compaction::IsBaseLevelForKey).
class DeeperLevels {
 public:
  DeeperLevels(const Version& v, int output_level) : v_(v), first_(output_level + 1) { cursor_.fill(0); }

  bool may_hold(std::string_view user_key) {
    for (int level = first_; level < kNumLevels; ++level) {
      const auto& files = v_.files(level);
      size_t& i = cursor_[level];
      while (i < files.size() && extract_user_key(files[i]->largest) < user_key) ++i;
      if (i < files.size() && extract_user_key(files[i]->smallest) <= user_key) return true;
    }
    return false;
  }

 private:
  const Version& v_;
  int first_;
  std::array<size_t, kNumLevels> cursor_{};
};

// One output file being written.
struct Output {
  std::unique_ptr<io::File> file;
  std::unique_ptr<sstable::TableBuilder> builder;
  FileMetaData meta;
};

}  // namespace

asio::awaitable<Result<CompactionJobOutput>> run_compaction(const Compaction& c, CompactionJobContext ctx) {
  uint64_t start_micros = SystemClock::instance().now_micros();
  CompactionJobOutput out;
  std::vector<std::unique_ptr<InternalIterator>> children;
  Result<void> status = ok();
  c.for_each_input([&](const FileMetaData& f) {
    ++out.stats.input_files;
    out.stats.input_bytes += f.file_size;
  });
  for (const auto& list : c.inputs) {
    for (const auto& f : list) {
      auto it = co_await ctx.open(*f);
      if (!it) co_return it.error();
      children.push_back(std::move(*it));
    }
  }
  auto input = new_merging_iterator(std::move(children));

  std::unique_ptr<Output> current;
  std::vector<uint64_t> created;  // numbers of every output file, removed on error
  DeeperLevels deeper(*c.version, c.output_level());
  const uint64_t max_grandparent_overlap = kMaxGrandparentOverlapFactor * c.target_file_size_bytes;
  size_t grandparent_index = 0;
  uint64_t grandparent_overlap = 0;
  bool seen_key = false;

  auto finish_output = [&]() -> asio::awaitable<Result<void>> {
    auto done = std::move(current);
    STRATA_CO_TRY(co_await done->builder->finish());
    STRATA_CO_TRY(co_await done->file->sync());
    done->meta.file_size = done->builder->file_size();
    done->meta.smallest = done->builder->smallest_key();
    done->meta.largest = done->builder->largest_key();
    done->meta.num_entries = done->builder->num_entries();
    out.stats.output_bytes += done->meta.file_size;
    out.files.push_back(std::move(done->meta));
    co_return ok();
  };

  std::string current_user_key;
  bool has_current_key = false;
  size_t last_stripe = 0;
  auto& snapshots = ctx.snapshots;

  // Pacing: sleep while the output is ahead of ctx.max_bytes_per_second (at most 100 ms at a time,
  // so that a lifted limit or a cancel is seen soon).
  bool pacing = static_cast<bool>(ctx.max_bytes_per_second);
  auto pace = [&](uint64_t written) -> asio::awaitable<Result<void>> {
    const uint64_t rate = ctx.max_bytes_per_second();
    if (rate == 0) {
      pacing = false;
      co_return ok();
    }
    const uint64_t due_micros = written * 1000000 / rate;
    const uint64_t elapsed = SystemClock::instance().now_micros() - start_micros;
    if (due_micros <= elapsed) co_return ok();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(std::chrono::microseconds(std::min<uint64_t>(due_micros - elapsed, 100000)));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    co_return ok();
  };

  auto run = [&]() -> asio::awaitable<Result<void>> {
    STRATA_CO_TRY(co_await input->seek_to_first());
    while (input->valid()) {
      std::string_view ikey = input->key();
      ParsedInternalKey k;
      if (!parse_internal_key(ikey, &k)) {
        STRATA_LOG(error, "compaction: malformed internal key in an input of L%d", c.level);
        co_return make_error_code(Errc::corruption);
      }
      ++out.stats.input_entries;
      if ((out.stats.input_entries & 1023) == 0) {
        if (ctx.cancel != nullptr && ctx.cancel->load(std::memory_order_relaxed)) {
          co_return make_error_code(Errc::shutting_down);
        }
        if (ctx.preempted && ctx.preempted()) co_return make_error_code(Errc::busy);
        if (pacing) {
          const uint64_t written = out.stats.output_bytes + (current != nullptr ? current->builder->file_size() : 0);
          STRATA_CO_TRY(co_await pace(written));
        }
      }
      bool new_user_key = !has_current_key || k.user_key != current_user_key;
      if (new_user_key) {
        // Between user keys: the place to cut an output file.
        if (current != nullptr) {
          std::string_view uk = k.user_key;
          while (grandparent_index < c.grandparents.size() &&
                 extract_user_key(c.grandparents[grandparent_index]->largest) < uk) {
            if (seen_key) grandparent_overlap += c.grandparents[grandparent_index]->file_size;
            ++grandparent_index;
          }
          if (current->builder->file_size() >= c.target_file_size_bytes ||
              grandparent_overlap > max_grandparent_overlap) {
            STRATA_CO_TRY(co_await finish_output());
            grandparent_overlap = 0;
          }
        }
        seen_key = true;
        current_user_key.assign(k.user_key);
        has_current_key = true;
      }
      size_t stripe = std::lower_bound(snapshots.begin(), snapshots.end(), k.sequence) - snapshots.begin();
      bool drop = false;
      if (!new_user_key && stripe == last_stripe) {
        ++out.stats.dropped_hidden;  // a newer entry of this key is visible to all this stripe's readers
        drop = true;
      } else if (k.type == ValueType::deletion && stripe == 0 && !deeper.may_hold(k.user_key)) {
        ++out.stats.dropped_tombstones;  // nothing older anywhere for it to hide
        drop = true;
      }
      last_stripe = stripe;
      if (!drop) {
        if (current == nullptr) {
          current = std::make_unique<Output>();
          current->meta.number = ctx.new_file_number();
          created.push_back(current->meta.number);
          auto opened = co_await ctx.fs->open(table_file_name(ctx.db_dir, current->meta.number),
                                              io::OpenOptions{.create = true, .truncate = true});
          if (!opened) co_return opened.error();
          current->file = std::move(*opened);
          current->builder = std::make_unique<sstable::TableBuilder>(ctx.table_options, current->file.get());
          current->meta.smallest_seq = kMaxSequenceNumber;
        }
        current->builder->add(ikey, input->value());
        current->meta.smallest_seq = std::min(current->meta.smallest_seq, k.sequence);
        current->meta.largest_seq = std::max(current->meta.largest_seq, k.sequence);
        ++out.stats.output_entries;
        if (current->builder->should_write()) STRATA_CO_TRY(co_await current->builder->write_pending());
      }
      // A plain call while the inputs' blocks are in memory; a coroutine only for a block read.
      Result<void> stepped;
      if (!input->try_next(&stepped)) stepped = co_await input->next();
      STRATA_CO_TRY(stepped);
    }
    if (current != nullptr) STRATA_CO_TRY(co_await finish_output());
    if (!created.empty()) STRATA_CO_TRY(co_await ctx.fs->sync_dir(ctx.db_dir));
    co_return ok();
  };

  status = co_await run();
  if (!status) {
    current.reset();
    for (uint64_t number : created) {
      auto removed = co_await ctx.fs->remove(table_file_name(ctx.db_dir, number));
      (void)removed;  // best effort: a leftover is removed as obsolete later
    }
    co_return status.error();
  }
  out.stats.micros = SystemClock::instance().now_micros() - start_micros;
  co_return out;
}

}  // namespace strata
