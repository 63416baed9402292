// The WAL torn-tail test of shared/RELIABILITY.md: write N acknowledged (synced) records, then cut
// the file at every byte offset of its last two blocks and check that recovery returns exactly
// the records wholly before the cut. Three ways of ending the file at the cut:
//   cut      the file simply ends there (a torn append);
//   zeros    zeros follow up to past the old end (a torn append into preallocated space);
//   garbage  random bytes follow up to the old end (unsynced pages garbled by a power loss).
// In every mode the reader must also judge the tail correctly: no valid fragment after the stop,
// so the DB truncates instead of reporting corruption.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/unit/wal/wal_test_util.h"

using namespace strata;
using namespace strata::wal;
using namespace strata::wal::testing;
using Stop = WalReader::Stop;

TEST_CASE("a torn tail at every byte offset of the last two blocks loses no synced record and invents none") {
  uint64_t seed = 20240611;
  if (const char* env = std::getenv("STRATA_SEED")) seed = std::strtoull(env, nullptr, 10);
  Random rnd(seed);
  QuietLogs quiet;

  // Records of mixed sizes, including multi-block ones and ones that end near block boundaries,
  // until the log is a little over four blocks long.
  std::vector<std::string> records;
  size_t total = 0;
  while (total < 4 * kBlockSize + 5000) {
    size_t size = 0;
    switch (rnd.uniform(6)) {
      case 0: size = 0; break;
      case 1: size = rnd.uniform(20); break;
      case 2: size = rnd.uniform(300); break;
      case 3: size = rnd.uniform(5000); break;
      case 4: size = kMaxFragmentPayload - rnd.uniform(2 * kHeaderSize); break;
      case 5: size = kBlockSize + rnd.uniform(kBlockSize); break;
    }
    records.push_back(payload_for(records.size(), size));
    total += size + kHeaderSize;
  }
  io::MemFileSystem fs;
  const std::vector<uint64_t> ends = write_log(fs, records);
  const std::string full = *fs.contents(kPath);
  REQUIRE(full.size() == ends.back());

  const uint64_t last_block_start = (full.size() - 1) / kBlockSize * kBlockSize;
  const uint64_t first_cut = last_block_start - kBlockSize;
  const uint64_t padded_size = (full.size() / kBlockSize + 2) * kBlockSize;

  long cuts = 0, silent_bad_records = 0, synced_records_lost = 0, wrong_truncation_offset = 0;
  long tail_judged_as_corruption = 0, intact_past_cut = 0;
  long reasons[6] = {};
  for (int mode = 0; mode < 3; ++mode) {
    for (uint64_t cut = first_cut; cut <= full.size(); ++cut) {
      std::string bytes = full.substr(0, cut);
      if (mode == 1) bytes.resize(padded_size, '\0');
      if (mode == 2) bytes += random_bytes(rnd, full.size() - cut);
      // The image may still hold a record whole past the cut when the filler happens to repeat
      // its bytes (the zero high bytes of an empty record's log number, say): returning it is
      // correct. `intact` counts records whose bytes all survived.
      uint64_t same = cut;
      while (same < bytes.size() && same < full.size() && bytes[same] == full[same]) ++same;
      REQUIRE(fs.set_contents(kPath, std::move(bytes)));
      ReadResult r = read_log(fs, 7, /*find_after=*/mode != 0);
      ++cuts;
      ++reasons[r.stop.reason];

      size_t whole = 0;  // records wholly before the cut: synced, they must come back
      while (whole < records.size() && ends[whole] <= cut) ++whole;
      size_t intact = whole;
      while (intact < records.size() && ends[intact] <= same) ++intact;
      for (size_t i = 0; i < r.records.size(); ++i) {
        if (i >= intact || r.records[i] != records[i]) ++silent_bad_records;
      }
      if (r.records.size() < whole) synced_records_lost += static_cast<long>(whole - r.records.size());
      const uint64_t expected_end = r.records.empty() ? 0 : ends[std::min(r.records.size(), records.size()) - 1];
      if (r.last_record_end_offset != expected_end) ++wrong_truncation_offset;
      if (r.records.size() > whole) ++intact_past_cut;
      if (r.valid_fragment_after_stop) ++tail_judged_as_corruption;
      if (mode == 0) {
        CHECK((r.stop.reason == Stop::clean_end || r.stop.reason == Stop::torn_tail));
      }
    }
  }
  std::printf(
      "# cuts=%ld silent_bad_records=%ld synced_records_lost=%ld wrong_truncation_offset=%ld "
      "tail_judged_as_corruption=%ld intact_past_cut=%ld records=%zu log_bytes=%zu seed=%llu\n",
      cuts, silent_bad_records, synced_records_lost, wrong_truncation_offset, tail_judged_as_corruption,
      intact_past_cut, records.size(), full.size(), static_cast<unsigned long long>(seed));
  std::printf("# stops clean_end=%ld zeros=%ld torn_tail=%ld checksum_mismatch=%ld bad_record=%ld wrong_log_number=%ld\n",
              reasons[0], reasons[1], reasons[2], reasons[3], reasons[4], reasons[5]);
  CHECK(cuts > 3 * static_cast<long>(kBlockSize));  // fails when nothing was exercised
  CHECK(silent_bad_records == 0);
  CHECK(synced_records_lost == 0);
  CHECK(wrong_truncation_offset == 0);
  CHECK(tail_judged_as_corruption == 0);
}
