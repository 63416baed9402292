#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tests/unit/wal/wal_test_util.h"

using namespace strata;
using namespace strata::wal;
using namespace strata::wal::testing;
using Stop = WalReader::Stop;

namespace {

ReadResult read_bytes(const std::string& bytes, uint64_t log_number = 7) {
  io::MemFileSystem fs;
  write_log(fs, {});
  REQUIRE(fs.set_contents(kPath, bytes));
  return read_log(fs, log_number, true);
}

constexpr uint8_t kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4;

}  // namespace

TEST_CASE("a record from log number 7 read as log 8 is rejected") {
  io::MemFileSystem fs;
  write_log(fs, {"from log seven", "another"}, 7);
  ReadResult r = read_log(fs, 8, true);
  CHECK(r.records.empty());
  CHECK(r.stop.reason == Stop::wrong_log_number);
  CHECK(r.stop.offset == 0);
  CHECK(r.last_record_end_offset == 0);
  // Fragments of another log are not valid data of this one.
  CHECK_FALSE(r.valid_fragment_after_stop.has_value());
}

TEST_CASE("log numbers are compared on their low 32 bits") {
  io::MemFileSystem fs;
  write_log(fs, {"x"}, (uint64_t{1} << 32) + 9);
  CHECK(read_log(fs, 9).records.size() == 1);
  CHECK(read_log(fs, (uint64_t{5} << 32) + 9).records.size() == 1);
}

TEST_CASE("a block of log 7 left after the records of log 8 stops reading at that block") {
  io::MemFileSystem fs7, fs8;
  write_log(fs7, {payload_for(0, kMaxFragmentPayload)}, 7);  // one full block
  write_log(fs8, {payload_for(1, kMaxFragmentPayload)}, 8);
  std::string bytes = *fs8.contents(kPath) + *fs7.contents(kPath);
  ReadResult r = read_bytes(bytes, 8);
  REQUIRE(r.records.size() == 1);
  CHECK(r.records[0] == payload_for(1, kMaxFragmentPayload));
  CHECK(r.stop.reason == Stop::wrong_log_number);
  CHECK(r.stop.offset == kBlockSize);
  CHECK(r.last_record_end_offset == kBlockSize);
}

TEST_CASE("fragments out of order stop reading with bad_record") {
  struct Case {
    const char* name;
    std::vector<std::pair<uint8_t, std::string>> fragments;
    size_t whole_records;  // returned before the stop
  };
  std::vector<Case> cases = {
      {"MIDDLE without FIRST", {{kMiddle, "m"}, {kFull, "f"}}, 0},
      {"LAST without FIRST", {{kFull, "a"}, {kLast, "l"}}, 1},
      {"FULL inside a FIRST..LAST record", {{kFirst, "f"}, {kFull, "x"}, {kLast, "l"}}, 0},
      {"FIRST inside a FIRST..LAST record", {{kFull, "a"}, {kFirst, "f"}, {kFirst, "g"}, {kLast, "l"}}, 1},
      {"type 5 with a valid CRC", {{kFull, "a"}, {5, "five"}}, 1},
      {"type 0 with a valid CRC and a nonzero header", {{kFull, "a"}, {0, "zero"}}, 1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    std::string bytes;
    std::vector<uint64_t> starts;
    for (const auto& [type, payload] : c.fragments) {
      starts.push_back(bytes.size());
      bytes += make_fragment(type, 7, payload);
    }
    ReadResult r = read_bytes(bytes);
    CHECK(r.records.size() == c.whole_records);
    CHECK(r.stop.reason == Stop::bad_record);
  }
}

TEST_CASE("a FIRST fragment cut by the end of the file is a torn tail at the record start") {
  std::string bytes =
      make_fragment(kFull, 7, "whole") + make_fragment(kFirst, 7, "begin") + make_fragment(kMiddle, 7, "more");
  ReadResult r = read_bytes(bytes);
  CHECK(r.records == std::vector<std::string>{"whole"});
  CHECK(r.stop.reason == Stop::torn_tail);
  CHECK(r.stop.offset == kHeaderSize + 5);
  CHECK(r.last_record_end_offset == kHeaderSize + 5);
}

TEST_CASE("a length that runs past the end of its block is bad_record, never an out-of-bounds read") {
  // A header 20 bytes before the end of a block claiming 100 bytes of payload.
  std::string bytes = make_fragment(kFull, 7, payload_for(0, kBlockSize - 20 - kHeaderSize));
  bytes += make_fragment(kFull, 7, payload_for(1, 100));
  bytes.resize(kBlockSize + 200, 'z');
  ReadResult r = read_bytes(bytes);
  CHECK(r.records.size() == 1);
  CHECK(r.stop.reason == Stop::bad_record);
  CHECK(r.stop.offset == kBlockSize - 20);
}

TEST_CASE("appended garbage after valid records never yields a record") {
  io::MemFileSystem fs;
  std::vector<std::string> records = {"a", payload_for(1, 40000), payload_for(2, 300)};
  auto ends = write_log(fs, records);
  const std::string valid = *fs.contents(kPath);
  QuietLogs quiet;
  const uint64_t seed = 0x5eed0001;
  Random rnd(seed);
  int runs = 0, silent_bad_records = 0, synced_records_lost = 0;
  std::vector<size_t> lengths = {1, 5, 10, 11, 12, 100, 4096, 40000};
  for (size_t len : lengths) {
    for (int fill = 0; fill < 3; ++fill) {
      std::string garbage;
      if (fill == 0) garbage = random_bytes(rnd, len);
      if (fill == 1) garbage = std::string(len, '\xff');
      if (fill == 2) {
        // Plausible headers of this log with wrong CRCs.
        while (garbage.size() < len) {
          std::string f = make_fragment(kFull, 7, "fake");
          f[0] ^= 1;
          garbage += f;
        }
        garbage.resize(len);
      }
      ReadResult r = read_bytes(valid + garbage);
      ++runs;
      for (size_t i = 0; i < r.records.size(); ++i) {
        if (i >= records.size() || r.records[i] != records[i]) ++silent_bad_records;
      }
      if (r.records.size() < records.size()) synced_records_lost += static_cast<int>(records.size() - r.records.size());
      CHECK(r.last_record_end_offset == ends.back());
      CHECK(r.stop.reason != Stop::clean_end);
      CHECK(r.stop.offset == ends.back());
    }
  }
  std::printf("# garbage_runs=%d silent_bad_records=%d synced_records_lost=%d seed=%llu\n", runs, silent_bad_records,
              synced_records_lost, static_cast<unsigned long long>(seed));
  CHECK(runs > 0);
  CHECK(silent_bad_records == 0);
  CHECK(synced_records_lost == 0);
}

TEST_CASE("a single bit flip at every bit of a small log never yields a wrong payload") {
  io::MemFileSystem fs;
  std::vector<std::string> records = {"alpha", "", payload_for(2, 60), "delta-delta", payload_for(4, 33)};
  auto ends = write_log(fs, records);
  const std::string valid = *fs.contents(kPath);
  QuietLogs quiet;
  int flips = 0, silent_bad_records = 0, undetected = 0, mid_log_corruption_missed = 0;
  for (size_t byte = 0; byte < valid.size(); ++byte) {
    // The record that holds this byte.
    size_t hit = 0;
    while (ends[hit] <= byte) ++hit;
    for (int bit = 0; bit < 8; ++bit) {
      std::string bytes = valid;
      bytes[byte] = static_cast<char>(bytes[byte] ^ (1 << bit));
      ReadResult r = read_bytes(bytes);
      ++flips;
      for (size_t i = 0; i < r.records.size(); ++i) {
        if (i >= hit || r.records[i] != records[i]) ++silent_bad_records;
      }
      if (r.stop.reason == Stop::clean_end || r.stop.reason == Stop::zeros) ++undetected;
      // Whole records follow the flipped one: the DB must be able to tell it is not a tail.
      if (hit + 1 < records.size() && !r.valid_fragment_after_stop) ++mid_log_corruption_missed;
      if (hit + 1 == records.size() && r.valid_fragment_after_stop) ++mid_log_corruption_missed;
    }
  }
  std::printf("# flips=%d silent_bad_records=%d undetected=%d mid_log_corruption_missed=%d\n", flips,
              silent_bad_records, undetected, mid_log_corruption_missed);
  CHECK(flips == static_cast<int>(valid.size() * 8));
  CHECK(silent_bad_records == 0);
  CHECK(undetected == 0);
  CHECK(mid_log_corruption_missed == 0);
}
