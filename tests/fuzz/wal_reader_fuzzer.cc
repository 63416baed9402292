// Fuzz target: the WAL reader on arbitrary bytes as one log segment (log number 7, as the corpus
// generator writes it). Each input runs twice: as given, and with every fragment CRC it can find
// recomputed (checksum_fixup.h), so that record assembly sees mutated headers and payloads. Reads every record, then,
// after the stop, looks for a valid fragment past it (what recovery does to tell a torn tail from corruption). Checks:
// no crash or out-of-bounds read (ASan); returned payloads fit in the input; the stop and the truncation offset lie
// inside the file; a valid fragment found after the stop lies past it.
#include "lib/io/mem_file_system.h"
#include "lib/wal/wal_reader.h"
#include "tests/fuzz/checksum_fixup.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/test_util.h"

using namespace strata;
namespace asio = boost::asio;

namespace {

asio::awaitable<void> read_log(std::string bytes) {
  io::MemFileSystem fs;
  const std::string path = "/000007.log";
  auto f = co_await fs.open(path, io::OpenOptions{.create = true});
  FUZZ_CHECK(f.has_value());
  FUZZ_CHECK(fs.set_contents(path, bytes).has_value());
  wal::WalReader reader(**f, 7);
  uint64_t payload_bytes = 0;
  while (true) {
    auto rec = co_await reader.read_record();
    FUZZ_CHECK(rec.has_value());  // MemFileSystem reads never fail
    if (!rec->has_value()) break;
    payload_bytes += (*rec)->size();
    FUZZ_CHECK(payload_bytes <= bytes.size());
  }
  auto stop = reader.stop();
  FUZZ_CHECK(stop.has_value());
  FUZZ_CHECK(stop->offset <= bytes.size());
  FUZZ_CHECK(reader.last_record_end_offset() <= bytes.size());
  auto next = co_await reader.find_valid_fragment_after_stop();
  FUZZ_CHECK(next.has_value());
  if (next->has_value()) {
    FUZZ_CHECK(**next >= stop->offset);
    FUZZ_CHECK(**next < bytes.size());
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
  fuzz::fix_wal_crcs(&fixed);
  strata::testing::run(read_log(std::move(raw)));
  if (fixed != std::string_view(fuzz::as_view(data, size))) strata::testing::run(read_log(std::move(fixed)));
  return 0;
}
