// The WAL torn-tail test of shared/RELIABILITY.md (suite reliability, `wal_torn_tail`): write N
// acknowledged (synced) records, then damage the file at every byte offset of its last two blocks
// and check that recovery returns exactly the records wholly before the damage. Four ways:
//   cut      the file simply ends there (a torn append);
//   zeros    zeros follow up to past the old end (a torn append into preallocated space);
//   garbage  random bytes follow up to the old end (unsynced pages garbled by a power loss);
//   flip     the whole file, with one bit flipped at that offset (media corruption).
// In the first three modes the reader must also judge the tail correctly: no valid fragment after
// the stop, so the DB truncates instead of reporting corruption. In flip mode, a stop with whole
// records after the damaged one must be reported (a valid fragment after the stop), never
// truncated silently.
//
// One round = one random set of records (mixed sizes, multi-block ones, ones ending near block
// boundaries) swept in all four modes. Rounds repeat with seeds drawn from the run's seed until
// STRATA_SOAK_SECONDS (default 0: one round) have passed. STRATA_SEED replays a run.
// Prints: cuts=... silent_bad_records=0 synced_records_lost=0 ... seed=...
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "tests/unit/wal/wal_test_util.h"

using namespace strata;
using namespace strata::wal;
using namespace strata::wal::testing;
using strata::testing::env_u64;
using Stop = WalReader::Stop;

namespace {

struct Totals {
  uint64_t rounds = 0, cuts = 0, records = 0;
  uint64_t silent_bad_records = 0, synced_records_lost = 0, wrong_truncation_offset = 0;
  uint64_t tail_judged_as_corruption = 0, intact_past_cut = 0, flip_not_reported = 0, bad_stop_reason = 0;
  uint64_t reasons[6] = {};
};

void one_round(uint64_t seed, Totals& t) {
  Random rnd(seed);
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

  for (int mode = 0; mode < 4; ++mode) {
    const bool flip = mode == 3;
    for (uint64_t cut = first_cut; cut < full.size() + (flip ? 0 : 1); ++cut) {
      std::string bytes = full.substr(0, cut);
      if (mode == 1) bytes.resize(padded_size, '\0');
      if (mode == 2) bytes += random_bytes(rnd, full.size() - cut);
      if (flip) {
        bytes = full;
        bytes[cut] = static_cast<char>(bytes[cut] ^ (1u << rnd.uniform(8)));
      }
      // The image may still hold a record whole past the cut when the filler happens to repeat
      // its bytes (the zero high bytes of an empty record's log number, say): returning it is
      // correct. `intact` counts records whose bytes all survived.
      uint64_t same = cut;
      while (same < bytes.size() && same < full.size() && bytes[same] == full[same]) ++same;
      REQUIRE(fs.set_contents(kPath, std::move(bytes)));
      ReadResult r = read_log(fs, 7, /*find_after=*/mode != 0);
      ++t.cuts;
      ++t.reasons[r.stop.reason];

      size_t whole = 0;  // records wholly before the cut: synced, they must come back
      while (whole < records.size() && ends[whole] <= cut) ++whole;
      size_t intact = whole;
      while (intact < records.size() && ends[intact] <= same) ++intact;
      // A flip damages one record (or a block's zero trailer, touching none): any record may come
      // back as long as its bytes are the original ones, which the comparison below checks.
      if (flip) intact = records.size();
      for (size_t i = 0; i < r.records.size(); ++i) {
        if (i >= intact || r.records[i] != records[i]) ++t.silent_bad_records;
      }
      if (r.records.size() < whole) t.synced_records_lost += whole - r.records.size();
      const uint64_t expected_end = r.records.empty() ? 0 : ends[std::min(r.records.size(), records.size()) - 1];
      if (r.last_record_end_offset != expected_end) ++t.wrong_truncation_offset;
      if (!flip) {
        if (r.records.size() > whole) ++t.intact_past_cut;
        if (r.valid_fragment_after_stop) ++t.tail_judged_as_corruption;
      } else if (r.records.size() + 1 < records.size() && !r.valid_fragment_after_stop) {
        // The reader stopped at a damaged record with at least one whole record after it:
        // truncating there would silently drop synced records.
        ++t.flip_not_reported;
        MESSAGE("flip at " << cut << " (seed " << seed << "): stopped after " << r.records.size() << " of "
                           << records.size() << " records with nothing found after the stop");
      }
      if (mode == 0 && r.stop.reason != Stop::clean_end && r.stop.reason != Stop::torn_tail) ++t.bad_stop_reason;
    }
  }
  ++t.rounds;
  t.records += records.size();
}

}  // namespace

TEST_CASE("a torn tail at every byte offset of the last two blocks loses no synced record and invents none") {
  const uint64_t seed = env_u64("STRATA_SEED", Random::os_seed());
  const uint64_t soak_seconds = env_u64("STRATA_SOAK_SECONDS", 0);
  std::printf("# seed=%" PRIu64 " (replay: STRATA_SEED=%" PRIu64 ")\n", seed, seed);
  std::fflush(stdout);
  QuietLogs quiet;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(soak_seconds);
  Random seeds(seed);
  Totals t;
  for (uint64_t round = 0; round == 0 || std::chrono::steady_clock::now() < deadline; ++round) {
    const uint64_t round_seed = round == 0 ? seed : seeds.next();
    CAPTURE(round_seed);
    one_round(round_seed, t);
    if (t.silent_bad_records + t.synced_records_lost + t.wrong_truncation_offset + t.tail_judged_as_corruption +
            t.flip_not_reported + t.bad_stop_reason >
        0) {
      std::printf("# round %" PRIu64 " failed: round seed %" PRIu64 "\n", round, round_seed);
      break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("# cuts=%" PRIu64 " silent_bad_records=%" PRIu64 " synced_records_lost=%" PRIu64
              " wrong_truncation_offset=%" PRIu64 " tail_judged_as_corruption=%" PRIu64 " flip_not_reported=%" PRIu64
              " intact_past_cut=%" PRIu64 " rounds=%" PRIu64 " records=%" PRIu64 " seconds=%.0f seed=%" PRIu64 "\n",
              t.cuts, t.silent_bad_records, t.synced_records_lost, t.wrong_truncation_offset,
              t.tail_judged_as_corruption, t.flip_not_reported, t.intact_past_cut, t.rounds, t.records, secs, seed);
  std::printf("# stops clean_end=%" PRIu64 " zeros=%" PRIu64 " torn_tail=%" PRIu64 " checksum_mismatch=%" PRIu64
              " bad_record=%" PRIu64 " wrong_log_number=%" PRIu64 "\n",
              t.reasons[0], t.reasons[1], t.reasons[2], t.reasons[3], t.reasons[4], t.reasons[5]);
  CHECK(t.cuts > 4 * static_cast<uint64_t>(kBlockSize) * t.rounds);  // fails when nothing was exercised
  CHECK(t.silent_bad_records == 0);
  CHECK(t.synced_records_lost == 0);
  CHECK(t.wrong_truncation_offset == 0);
  CHECK(t.tail_judged_as_corruption == 0);
  CHECK(t.flip_not_reported == 0);
  CHECK(t.bad_stop_reason == 0);
}
