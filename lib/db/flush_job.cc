#include "lib/db/flush_job.h"

#include <algorithm>

#include "lib/sstable/table_builder.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"

namespace strata {

boost::asio::awaitable<Result<BuildTableOutput>> build_table(io::FileSystem& fs, std::string db_dir, uint64_t number,
                                                             std::shared_ptr<const MemTable> mem,
                                                             sstable::TableOptions options,
                                                             std::vector<SequenceNumber> snapshots) {
  BuildTableOutput out;
  out.meta.number = number;
  if (mem->empty()) co_return out;

  std::string path = table_file_name(db_dir, number);
  auto opened = co_await fs.open(path, io::OpenOptions{.create = true, .truncate = true});
  if (!opened) co_return opened.error();
  std::unique_ptr<io::File> file = std::move(*opened);
  sstable::TableBuilder builder(options, file.get());

  std::string current_user_key;
  bool has_current = false;
  size_t last_stripe = 0;
  SequenceNumber smallest_seq = kMaxSequenceNumber, largest_seq = 0;
  MemTable::Iterator it(mem.get());
  for (it.seek_to_first(); it.valid(); it.next()) {
    ParsedInternalKey k;
    STRATA_ASSERT(parse_internal_key(it.key(), &k));
    size_t stripe = std::lower_bound(snapshots.begin(), snapshots.end(), k.sequence) - snapshots.begin();
    if (has_current && k.user_key == current_user_key) {
      if (stripe == last_stripe) {  // a newer entry of this key is visible to every reader of the stripe
        ++out.entries_dropped;
        continue;
      }
    } else {
      current_user_key.assign(k.user_key);
      has_current = true;
    }
    last_stripe = stripe;
    smallest_seq = std::min(smallest_seq, k.sequence);
    largest_seq = std::max(largest_seq, k.sequence);
    builder.add(it.key(), it.value());
    if (builder.should_write()) {
      auto w = co_await builder.write_pending();
      if (!w) co_return w.error();
    }
  }
  auto finished = co_await builder.finish();
  if (!finished) co_return finished.error();
  auto synced = co_await file->sync();
  if (!synced) co_return synced.error();
  auto dir_synced = co_await fs.sync_dir(db_dir);
  if (!dir_synced) co_return dir_synced.error();

  out.meta.file_size = builder.file_size();
  out.meta.smallest = builder.smallest_key();
  out.meta.largest = builder.largest_key();
  out.meta.smallest_seq = smallest_seq;
  out.meta.largest_seq = largest_seq;
  out.meta.num_entries = builder.num_entries();
  STRATA_LOG(info, "flushed %llu entries (%llu dropped) to %s (%llu bytes)",
             static_cast<unsigned long long>(out.meta.num_entries),
             static_cast<unsigned long long>(out.entries_dropped), path.c_str(),
             static_cast<unsigned long long>(out.meta.file_size));
  co_return out;
}

}  // namespace strata
