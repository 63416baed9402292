// Fuzz target: TableReader::open and a full scan on arbitrary bytes as one SSTable file.
// Each input runs twice: as given (checksum checks), and with its footer and block checksums
// recomputed (checksum_fixup.h) so that the parsers behind the checksums see mutated bytes too.
// Opens the table (footer, index, filter, properties), scans forward through every data block,
// scans backward a bounded distance, and looks up (get) each key it met and a missing one.
// Checks: no crash or out-of-bounds read (ASan/UBSan); a scan ends (error or end) within one step
// per input byte; an iterator that failed is !valid().
#include <memory>
#include <string>
#include <vector>

#include "lib/io/mem_file_system.h"
#include "lib/sstable/table_reader.h"
#include "lib/util/internal_key.h"
#include "tests/fuzz/checksum_fixup.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::sstable;
namespace asio = boost::asio;

namespace {

asio::awaitable<void> open_and_scan(std::string bytes) {
  io::MemFileSystem fs;
  const std::string path = "/000009.sst";
  auto f = co_await fs.open(path, io::OpenOptions{.create = true});
  FUZZ_CHECK(f.has_value());
  FUZZ_CHECK(fs.set_contents(path, bytes).has_value());
  std::shared_ptr<io::File> file = std::move(*f);
  auto opened = co_await TableReader::open(file, bytes.size(), TableReadOptions{});
  if (!opened) co_return;
  std::shared_ptr<TableReader> table = std::move(*opened);

  const size_t limit = bytes.size() + 1;
  std::vector<std::string> keys;
  auto it = table->new_iterator();
  size_t steps = 0;
  auto moved = co_await it->seek_to_first();
  while (moved && it->valid()) {
    FUZZ_CHECK(++steps <= limit);
    if (keys.size() < 32) keys.emplace_back(it->key());
    FUZZ_CHECK(it->value().size() <= bytes.size());
    moved = co_await it->next();
  }
  if (!moved) FUZZ_CHECK(!it->valid());

  auto back = table->new_iterator();
  steps = 0;
  auto back_moved = co_await back->seek_to_last();
  while (back_moved && back->valid() && ++steps < 256) back_moved = co_await back->prev();

  keys.push_back(make_internal_key("zz-missing", kMaxSequenceNumber, ValueType::value));
  for (const auto& k : keys) {
    if (k.size() < 8) continue;  // not an internal key: get() REQUIRES one
    auto got = co_await table->get(k);
    (void)got;
    (void)table->may_contain(extract_user_key(k));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string raw(fuzz::as_view(data, size));
  std::string fixed = raw;
  fuzz::fix_sstable_crcs(&fixed);
  strata::testing::run(open_and_scan(std::move(raw)));
  if (fixed != std::string_view(fuzz::as_view(data, size))) strata::testing::run(open_and_scan(std::move(fixed)));
  return 0;
}
