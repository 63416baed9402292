// Fuzz target: manifest replay on arbitrary bytes.
//   1. VersionEdit::decode(bytes) as one edit; when it succeeds, decode(encode(edit)) == edit.
//   2. The bytes as the whole MANIFEST-000001 of a DB directory on a MemFileSystem (CURRENT names
//      it), replayed by VersionSet::recover (WAL-framed records, each a VersionEdit, applied to
//      the levels); when recovery succeeds there is a current Version.
// Step 2 runs twice: as given, and with the fragment CRCs recomputed (checksum_fixup.h), so that
// VersionEdit decoding and application inside recovery see mutated records.
// Checks: no crash, leak or out-of-bounds read (ASan/UBSan); the round trip above.
#include <string>

#include "lib/io/mem_file_system.h"
#include "lib/version/file_names.h"
#include "lib/version/version_edit.h"
#include "lib/version/version_set.h"
#include "tests/fuzz/checksum_fixup.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/test_util.h"

using namespace strata;
namespace asio = boost::asio;

namespace {

asio::awaitable<void> recover(std::string bytes) {
  io::MemFileSystem fs;
  FUZZ_CHECK((co_await fs.create_dir("/db")).has_value());
  FUZZ_CHECK((co_await io::write_file_atomic(fs, current_file_name("/db"), "MANIFEST-000001\n")).has_value());
  FUZZ_CHECK((co_await io::write_file_atomic(fs, manifest_file_name("/db", 1), bytes)).has_value());
  VersionSet versions(fs, "/db");
  auto r = co_await versions.recover();
  if (r) FUZZ_CHECK(versions.current() != nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::as_view(data, size);
  auto edit = VersionEdit::decode(in);
  if (edit) {
    auto again = VersionEdit::decode(edit->encode());
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *edit);
  }
  std::string fixed(in);
  fuzz::fix_wal_crcs(&fixed);
  strata::testing::run(recover(std::string(in)));
  if (fixed != in) strata::testing::run(recover(std::move(fixed)));
  return 0;
}
