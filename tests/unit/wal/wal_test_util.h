// Helpers shared by the WAL tests: run a coroutine to completion, write a log of records into a
// MemFileSystem, read one back, and hand-craft fragments (including invalid ones).
//
// Thread-safety: none; each test uses its own io_context and file system.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/io/mem_file_system.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"
#include "lib/util/logging.h"
#include "lib/util/random.h"
#include "lib/wal/wal_format.h"
#include "lib/wal/wal_reader.h"
#include "lib/wal/wal_writer.h"

namespace strata::wal::testing {

namespace asio = boost::asio;

// Runs `aw` on a fresh io_context until it completes and returns its value (rethrows exceptions).
template <class T>
T run(asio::awaitable<T> aw) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(aw), [&out, &error](std::exception_ptr e, T v) {
    error = e;
    if (!e) out.emplace(std::move(v));
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

// Raises the log level for a scope: sweeps that stop the reader on purpose thousands of times
// would otherwise log a warning per run.
class QuietLogs {
 public:
  QuietLogs() : saved_(log_level()) { set_log_level(LogLevel::error); }
  ~QuietLogs() { set_log_level(saved_); }

 private:
  LogLevel saved_;
};

inline const std::string kPath = "/000007.log";

// Writes `records` to a new file at `path`, each followed by flush(sync=true) (so each one counts
// as acknowledged). Returns the file offset just past each record.
inline asio::awaitable<Result<std::vector<uint64_t>>> write_records(io::FileSystem& fs, std::string path,
                                                                    uint64_t log_number,
                                                                    std::vector<std::string> records) {
  auto opened = co_await fs.open(path, io::OpenOptions{.create = true, .truncate = true});
  if (!opened) co_return opened.error();
  WalWriter writer(std::move(*opened), log_number);
  std::vector<uint64_t> ends;
  for (const auto& r : records) {
    writer.add_record(r);
    Result<void> f = co_await writer.flush(true);
    if (!f) co_return f.error();
    ends.push_back(writer.offset());
  }
  co_return ends;
}

inline std::vector<uint64_t> write_log(io::FileSystem& fs, const std::vector<std::string>& records,
                                       uint64_t log_number = 7, const std::string& path = kPath) {
  auto r = run(write_records(fs, path, log_number, records));
  if (!r) throw std::runtime_error("write_log failed: " + r.error().message());
  return *r;
}

struct ReadResult {
  std::vector<std::string> records;
  WalReader::Stop stop{};
  uint64_t last_record_end_offset = 0;
  std::optional<uint64_t> valid_fragment_after_stop;  // only when asked for
};

inline asio::awaitable<Result<ReadResult>> read_records(io::FileSystem& fs, std::string path, uint64_t log_number,
                                                        bool find_after) {
  auto opened = co_await fs.open(path, io::OpenOptions{.read_only = true});
  if (!opened) co_return opened.error();
  std::unique_ptr<io::File> file = std::move(*opened);
  WalReader reader(*file, log_number);
  ReadResult out;
  for (;;) {
    Result<std::optional<std::string>> r = co_await reader.read_record();
    if (!r) co_return r.error();
    if (!*r) break;
    out.records.push_back(std::move(**r));
  }
  // Later calls keep returning nullopt.
  Result<std::optional<std::string>> again = co_await reader.read_record();
  if (!again || again->has_value()) co_return make_error_code(Errc::invalid_argument);
  out.stop = *reader.stop();
  out.last_record_end_offset = reader.last_record_end_offset();
  if (find_after) {
    Result<std::optional<uint64_t>> after = co_await reader.find_valid_fragment_after_stop();
    if (!after) co_return after.error();
    out.valid_fragment_after_stop = *after;
  }
  co_return out;
}

inline ReadResult read_log(io::FileSystem& fs, uint64_t log_number = 7, bool find_after = false,
                           const std::string& path = kPath) {
  auto r = run(read_records(fs, path, log_number, find_after));
  if (!r) throw std::runtime_error("read_log failed: " + r.error().message());
  return std::move(*r);
}

// One hand-made fragment (header + payload) with a correct CRC over whatever it holds.
inline std::string make_fragment(uint8_t type, uint32_t log_number, std::string_view payload) {
  std::string f(kHeaderSize, '\0');
  f[kLengthOffset] = static_cast<char>(payload.size() & 0xff);
  f[kLengthOffset + 1] = static_cast<char>(payload.size() >> 8);
  f[kTypeOffset] = static_cast<char>(type);
  encode_fixed32(f.data() + kLogNumberOffset, log_number);
  f.append(payload);
  encode_fixed32(f.data() + kCrcOffset, crc32c::mask(crc32c::value(f.data() + kTypeOffset, f.size() - kTypeOffset)));
  return f;
}

inline std::string random_bytes(Random& rnd, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rnd.next() >> 56);
  return s;
}

// A payload whose bytes depend on its index, so a record returned in the wrong place is noticed.
inline std::string payload_for(size_t index, size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (index * 7 + i) % 26);
  return s;
}

}  // namespace strata::wal::testing
