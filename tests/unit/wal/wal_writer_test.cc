#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/unit/wal/wal_test_util.h"

using namespace strata;
using namespace strata::wal;
using namespace strata::wal::testing;

TEST_CASE("a small record is framed as crc | length | type FULL | log number | payload") {
  io::MemFileSystem fs;
  write_log(fs, {"hello"}, 7);
  std::string bytes = *fs.contents(kPath);
  REQUIRE(bytes.size() == kHeaderSize + 5);
  CHECK(static_cast<uint8_t>(bytes[kLengthOffset]) == 5);
  CHECK(static_cast<uint8_t>(bytes[kLengthOffset + 1]) == 0);
  CHECK(static_cast<uint8_t>(bytes[kTypeOffset]) == static_cast<uint8_t>(RecordType::full));
  CHECK(decode_fixed32(bytes.data() + kLogNumberOffset) == 7);
  CHECK(bytes.substr(kHeaderSize) == "hello");
  // The masked CRC covers type | log number | payload.
  CHECK(crc32c::unmask(decode_fixed32(bytes.data())) == crc32c::value(bytes.data() + kTypeOffset, 5 + 5));
  CHECK(bytes == make_fragment(1, 7, "hello"));
}

TEST_CASE("round trip of empty, small, block-sized and multi-block records") {
  io::MemFileSystem fs;
  std::vector<std::string> records = {
      "",
      "x",
      payload_for(2, 100),
      payload_for(3, kMaxFragmentPayload),  // fills a block exactly
      payload_for(4, kBlockSize),           // spans two blocks
      "",
      payload_for(6, 3 << 20),                  // 3 MiB, ~97 blocks
      payload_for(7, 2 * kMaxFragmentPayload),  // exactly FIRST + LAST filling two blocks
      "tail",
  };
  auto ends = write_log(fs, records);
  ReadResult r = read_log(fs, 7, true);
  CHECK(r.records == records);
  CHECK(r.stop.reason == WalReader::Stop::clean_end);
  CHECK(r.stop.offset == ends.back());
  CHECK(r.last_record_end_offset == ends.back());
  CHECK(r.last_record_end_offset == fs.contents(kPath)->size());
  CHECK_FALSE(r.valid_fragment_after_stop.has_value());
}

TEST_CASE("an empty file reads as a clean end with no records") {
  io::MemFileSystem fs;
  write_log(fs, {});
  ReadResult r = read_log(fs);
  CHECK(r.records.empty());
  CHECK(r.stop.reason == WalReader::Stop::clean_end);
  CHECK(r.stop.offset == 0);
  CHECK(r.last_record_end_offset == 0);
}

TEST_CASE("records ending exactly at a block boundary and within the last header-size bytes of a block") {
  // gap = bytes left in the block after the first record: 0 (exact boundary), 1..10 (trailer,
  // zero-padded), 11 (room for exactly one empty FIRST fragment).
  for (size_t gap = 0; gap <= kHeaderSize; ++gap) {
    CAPTURE(gap);
    io::MemFileSystem fs;
    std::vector<std::string> records = {payload_for(0, kMaxFragmentPayload - gap), "next", payload_for(2, 50)};
    auto ends = write_log(fs, records);
    CHECK(ends[0] == kBlockSize - gap);
    std::string bytes = *fs.contents(kPath);
    if (gap < kHeaderSize) {
      // The trailer is zeros and the second record starts the next block as a FULL fragment.
      CHECK(bytes.substr(kBlockSize - gap, gap) == std::string(gap, '\0'));
      CHECK(ends[1] == kBlockSize + kHeaderSize + 4);
      CHECK(static_cast<uint8_t>(bytes[kBlockSize + kTypeOffset]) == static_cast<uint8_t>(RecordType::full));
    } else {
      // An empty FIRST fragment ends the block, the LAST fragment starts the next one.
      CHECK(static_cast<uint8_t>(bytes[kBlockSize - gap + kTypeOffset]) == static_cast<uint8_t>(RecordType::first));
      CHECK(static_cast<uint8_t>(bytes[kBlockSize + kTypeOffset]) == static_cast<uint8_t>(RecordType::last));
    }
    ReadResult r = read_log(fs);
    CHECK(r.records == records);
    CHECK(r.stop.reason == WalReader::Stop::clean_end);
    CHECK(r.last_record_end_offset == ends.back());
  }
}

TEST_CASE("a file that ends exactly after a record that leaves trailer bytes is a clean end") {
  for (size_t gap = 1; gap < kHeaderSize; ++gap) {
    CAPTURE(gap);
    io::MemFileSystem fs;
    std::vector<std::string> records = {payload_for(0, kMaxFragmentPayload - gap)};
    write_log(fs, records);
    ReadResult r = read_log(fs);
    CHECK(r.records == records);
    CHECK(r.stop.reason == WalReader::Stop::clean_end);
    CHECK(r.last_record_end_offset == kBlockSize - gap);
  }
}

asio::awaitable<Result<uint64_t>> write_preallocated(io::FileSystem& fs, std::vector<std::string> records,
                                                     uint64_t preallocate_bytes) {
  auto opened = co_await fs.open(kPath, io::OpenOptions{.create = true});
  if (!opened) co_return opened.error();
  WalWriter writer(std::move(*opened), 7);
  Result<void> p = co_await writer.preallocate(preallocate_bytes);
  if (!p) co_return p.error();
  for (const auto& r : records) writer.add_record(r);
  Result<void> f = co_await writer.flush(true);
  if (!f) co_return f.error();
  co_return writer.offset();
}

TEST_CASE("a preallocated zero tail reads as the end of the log, not as corruption") {
  io::MemFileSystem fs;
  std::vector<std::string> records = {"a", payload_for(1, 40000), "c"};
  auto end = run(write_preallocated(fs, records, 1 << 20));
  REQUIRE(end);
  CHECK(fs.contents(kPath)->size() == (1u << 20));
  ReadResult r = read_log(fs, 7, true);
  CHECK(r.records == records);
  CHECK(r.stop.reason == WalReader::Stop::zeros);
  CHECK(r.stop.offset == *end);
  CHECK(r.last_record_end_offset == *end);
  CHECK_FALSE(r.valid_fragment_after_stop.has_value());
}

TEST_CASE("write_zeros ahead of the log: later records overwrite the zeros, which still read as the end") {
  io::MemFileSystem fs;
  std::string garbage(700000, 'g');  // what a reused file could hold past the end
  REQUIRE(run([&]() -> asio::awaitable<Result<void>> {
    auto opened = co_await fs.open(kPath, io::OpenOptions{.create = true});
    if (!opened) co_return opened.error();
    WalWriter writer(std::move(*opened), 7);
    STRATA_CO_TRY(co_await writer.file().write_at(0, garbage));
    writer.add_record("a");
    uint64_t end = writer.offset() + writer.pending_bytes();
    STRATA_CO_TRY(co_await writer.write_zeros(end, end + 600000));  // several write chunks
    STRATA_CO_TRY(co_await writer.flush(true));
    writer.add_record(payload_for(2, 40000));
    STRATA_CO_TRY(co_await writer.flush(true));
    co_return ok();
  }()));
  std::string f = *fs.contents(kPath);
  REQUIRE(f.size() == garbage.size());
  ReadResult r = read_log(fs, 7, true);
  CHECK(r.records == std::vector<std::string>{"a", payload_for(2, 40000)});
  CHECK(r.stop.reason == WalReader::Stop::zeros);
  uint64_t end = r.last_record_end_offset;
  CHECK(f.find_first_not_of('\0', end) == 600000 + kHeaderSize + 1);  // zeros to the range's end
}

asio::awaitable<Result<void>> append_at(io::FileSystem& fs, uint64_t offset, std::vector<std::string> records) {
  auto opened = co_await fs.open(kPath, io::OpenOptions{});
  if (!opened) co_return opened.error();
  std::unique_ptr<io::File> file = std::move(*opened);
  Result<void> t = co_await file->truncate(offset);
  if (!t) co_return t.error();
  WalWriter writer(file.get(), 7, offset);  // borrowed file
  for (const auto& r : records) writer.add_record(r);
  CHECK(writer.offset() == offset);
  CHECK(writer.pending_bytes() > 0);
  co_return co_await writer.flush(false);
}

TEST_CASE("a writer opened at the last record end of a torn log continues it") {
  io::MemFileSystem fs;
  std::vector<std::string> records = {payload_for(0, 30000), payload_for(1, 5000)};
  auto ends = write_log(fs, records);
  // Tear the last record, recover, append after the last whole record.
  std::string bytes = *fs.contents(kPath);
  REQUIRE(fs.set_contents(kPath, bytes.substr(0, ends[1] - 100)));
  ReadResult torn = read_log(fs);
  CHECK(torn.stop.reason == WalReader::Stop::torn_tail);
  CHECK(torn.last_record_end_offset == ends[0]);
  std::vector<std::string> more = {"after recovery", payload_for(3, 70000)};
  REQUIRE(run(append_at(fs, torn.last_record_end_offset, more)));
  ReadResult r = read_log(fs);
  std::vector<std::string> expected = {records[0], more[0], more[1]};
  CHECK(r.records == expected);
  CHECK(r.stop.reason == WalReader::Stop::clean_end);
}

// A file whose writes succeed `writes_ok` times and then fail with `write_error`; sync fails with
// `sync_error` when set. Counts calls so the tests can see that nothing is retried.
class FailingFile final : public io::File {
 public:
  int writes_ok = 1 << 30;
  ErrorCode write_error = make_error_code(Errc::no_space);
  ErrorCode sync_error;  // none
  int write_calls = 0, sync_calls = 0, preallocate_calls = 0;
  bool inline_supported = false;  // write_inline: false (the default File) or like write_at
  int inline_calls = 0;
  std::string data;

  asio::awaitable<Result<size_t>> read_at(uint64_t, std::span<char>) override { co_return size_t{0}; }
  asio::awaitable<Result<void>> write_at(uint64_t offset, std::string_view d) override {
    ++write_calls;
    if (writes_ok-- <= 0) co_return write_error;
    if (data.size() < offset + d.size()) data.resize(offset + d.size());
    data.replace(offset, d.size(), d);
    co_return ok();
  }
  Result<bool> write_inline(uint64_t offset, std::string_view d) override {
    if (!inline_supported) return false;
    ++inline_calls;
    if (writes_ok-- <= 0) return Result<bool>(boost::system::in_place_error, write_error);
    if (data.size() < offset + d.size()) data.resize(offset + d.size());
    data.replace(offset, d.size(), d);
    return true;
  }
  asio::awaitable<Result<void>> sync() override {
    ++sync_calls;
    if (sync_error) co_return sync_error;
    co_return ok();
  }
  asio::awaitable<Result<void>> truncate(uint64_t) override { co_return ok(); }
  asio::awaitable<Result<void>> preallocate(uint64_t) override {
    ++preallocate_calls;
    co_return ok();
  }
  Result<uint64_t> size() const override { return uint64_t{data.size()}; }
  const std::string& path() const override { return path_; }

 private:
  std::string path_ = "/failing.log";
};

asio::awaitable<Result<void>> failing_write_scenario(FailingFile* file) {
  WalWriter writer(file, 3);
  writer.add_record("one");
  Result<void> first = co_await writer.flush(false);
  CHECK(first);
  CHECK_FALSE(writer.poisoned());
  const uint64_t offset_before = writer.offset();

  writer.add_record("two");
  Result<void> failed = co_await writer.flush(true);
  REQUIRE_FALSE(failed);
  CHECK(failed.error() == make_error_code(Errc::no_space));
  CHECK(writer.poisoned());
  CHECK(writer.offset() == offset_before);
  const int writes = file->write_calls, syncs = file->sync_calls;

  // Every later call returns the same error without touching the file.
  writer.add_record("three");
  CHECK(writer.pending_bytes() == 0);
  Result<void> again = co_await writer.flush(true);
  CHECK(again.error() == failed.error());
  Result<void> again_nosync = co_await writer.flush(false);
  CHECK(again_nosync.error() == failed.error());
  Result<void> prealloc = co_await writer.preallocate(1 << 20);
  CHECK(prealloc.error() == failed.error());
  CHECK(writer.status().error() == failed.error());
  CHECK(file->write_calls == writes);
  CHECK(file->sync_calls == syncs);
  CHECK(file->preallocate_calls == 0);
  co_return ok();
}

TEST_CASE("a failed write poisons the writer: every later call returns the same error") {
  FailingFile file;
  file.writes_ok = 1;
  REQUIRE(run(failing_write_scenario(&file)));
}

asio::awaitable<Result<void>> failing_sync_scenario(FailingFile* file) {
  WalWriter writer(file, 3);
  writer.add_record("one");
  Result<void> w = co_await writer.flush(false);  // written, not synced
  CHECK(w);
  CHECK(file->sync_calls == 0);
  // A sync-only flush syncs the earlier write; it fails.
  Result<void> s = co_await writer.flush(true);
  REQUIRE_FALSE(s);
  CHECK(s.error() == make_error_code(Errc::io_error));
  CHECK(file->sync_calls == 1);
  // The failed fsync is never retried, whatever the caller asks next.
  file->sync_error = {};
  writer.add_record("two");
  Result<void> after = co_await writer.flush(true);
  CHECK(after.error() == s.error());
  Result<void> after_empty = co_await writer.flush(true);
  CHECK(after_empty.error() == s.error());
  CHECK(file->sync_calls == 1);
  CHECK(file->write_calls == 1);
  co_return ok();
}

TEST_CASE("a failed fsync poisons the writer and is never retried") {
  FailingFile file;
  file.sync_error = make_error_code(Errc::io_error);
  REQUIRE(run(failing_sync_scenario(&file)));
}

asio::awaitable<Result<void>> flush_accounting_scenario(FailingFile* file) {
  WalWriter writer(file, 3);
  Result<void> nothing = co_await writer.flush(true);  // nothing written: no sync needed
  CHECK(nothing);
  CHECK(file->sync_calls == 0);
  writer.add_record("abc");
  writer.add_record("");
  CHECK(writer.pending_bytes() == 2 * kHeaderSize + 3);
  CHECK(writer.offset() == 0);
  Result<void> f = co_await writer.flush(true);
  CHECK(f);
  CHECK(writer.pending_bytes() == 0);
  CHECK(writer.offset() == 2 * kHeaderSize + 3);
  CHECK(file->write_calls == 1);  // one write for the whole group
  CHECK(file->sync_calls == 1);
  Result<void> again = co_await writer.flush(true);  // already synced: no new sync
  CHECK(again);
  CHECK(file->sync_calls == 1);
  co_return ok();
}

TEST_CASE("flush writes all pending records with one write and syncs only when needed") {
  FailingFile file;
  REQUIRE(run(flush_accounting_scenario(&file)));
}

TEST_CASE("the example in docs/format/wal.md: a 40000-byte record after \"hello\" is FIRST then LAST") {
  io::MemFileSystem fs;
  auto ends = write_log(fs, {"hello", payload_for(1, 40000)}, 7);
  std::string bytes = *fs.contents(kPath);
  CHECK(ends[0] == 16);
  CHECK(bytes.substr(16 + kLengthOffset, 3) == std::string("\xe5\x7f\x02", 3));
  CHECK(bytes.substr(kBlockSize + kLengthOffset, 3) == std::string("\x5b\x1c\x04", 3));
  CHECK(decode_fixed32(bytes.data() + kBlockSize + kLogNumberOffset) == 7);
  CHECK(ends[1] == kBlockSize + kHeaderSize + 7259);
}

// Counts the writer's suspensions: a flush that writes inline must complete in one call.
asio::awaitable<Result<void>> inline_flush_scenario(FailingFile* file) {
  WalWriter writer(file, 3);
  writer.add_record("one");
  writer.add_record("two");
  Result<void> f = co_await writer.flush(false);
  CHECK(f);
  CHECK(file->inline_calls == 1);  // the group, on the calling thread
  CHECK(file->write_calls == 0);
  CHECK(writer.offset() == 2 * kHeaderSize + 6);

  // Synced flushes go through write_and_sync (the ring's linked write + fdatasync).
  writer.add_record("three");
  Result<void> synced = co_await writer.flush(true);
  CHECK(synced);
  CHECK(file->inline_calls == 1);
  CHECK(file->write_calls == 1);
  CHECK(file->sync_calls == 1);

  // A group larger than kInlineWriteMaxBytes is written through write_at.
  writer.add_record(std::string(WalWriter::kInlineWriteMaxBytes, 'x'));
  Result<void> big = co_await writer.flush(false);
  CHECK(big);
  CHECK(file->inline_calls == 1);
  CHECK(file->write_calls == 2);

  // A failed inline write poisons the writer like any failed write.
  file->writes_ok = 0;
  writer.add_record("four");
  Result<void> failed = co_await writer.flush(false);
  REQUIRE_FALSE(failed);
  CHECK(failed.error() == make_error_code(Errc::no_space));
  CHECK(file->inline_calls == 2);
  CHECK(writer.poisoned());
  co_return ok();
}

TEST_CASE(
    "an unsynced flush of a small group is written inline; synced and large groups go through the file's async writes") {
  FailingFile file;
  file.inline_supported = true;
  REQUIRE(run(inline_flush_scenario(&file)));
  // Both paths wrote the same framing: the log reads back as the four acknowledged records.
  io::MemFileSystem fs;
  write_log(fs, {}, 3);  // creates the file
  REQUIRE(fs.set_contents(kPath, file.data));
  ReadResult read = read_log(fs, 3);
  REQUIRE(read.records.size() == 4);
  CHECK(read.records[0] == "one");
  CHECK(read.records[2] == "three");
  CHECK(read.records[3] == std::string(WalWriter::kInlineWriteMaxBytes, 'x'));
}
