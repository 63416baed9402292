// What every strata-tool command shares: the read-only file system it reads through, a finding
// (a corruption or a warning, with its file and offset), byte escaping for text and JSON output,
// and a way to run the engine's coroutine readers to completion from main().
//
// strata-tool never changes a data directory: every file is opened through ReadOnlyFileSystem,
// which refuses any open that could create, truncate or write, and every rename, removal,
// directory creation, sync and lock. So a bug in a command can fail it, never damage the files.
// Thread-safety: ReadOnlyFileSystem as the file system it wraps; the rest are pure functions.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/io/file_system.h"
#include "strata/result.h"

namespace strata::tool {

namespace asio = boost::asio;

// Exit statuses of every command: 0 clean, 1 corruption found (or a file that cannot be read),
// 2 usage error (unknown flag, stray argument, a path that is not what the command reads).
inline constexpr int kExitClean = 0;
inline constexpr int kExitCorrupt = 1;
inline constexpr int kExitUsage = 2;

// One thing a check found. A corruption makes `verify` exit 1; a warning (a torn WAL tail that
// recovery drops, an orphan file that the next open deletes) is reported and does not.
struct Finding {
  enum class Severity { corruption, warning };
  Severity severity = Severity::corruption;
  std::string file;                // the path as given or found in the directory
  std::optional<uint64_t> offset;  // byte offset in `file`; none for a missing file
  std::string message;

  bool corrupt() const { return severity == Severity::corruption; }
  // {"severity","file","offset","message"}; offset is null when unknown.
  boost::json::object to_json() const;
  // "corruption: FILE at offset N: MESSAGE".
  std::string to_text() const;
};

Finding corruption(std::string file, std::optional<uint64_t> offset, std::string message);
Finding warning(std::string file, std::optional<uint64_t> offset, std::string message);

// Bytes as they print: printable ASCII as is, a backslash as "\\", anything else as \xNN. The
// same form in text and JSON output, so a key compares equal across both and JSON strings are
// always valid UTF-8.
std::string escape_bytes(std::string_view bytes);
// "USERKEY @ SEQ value|deletion" for an internal key, or "<malformed internal key \x..>".
std::string describe_internal_key(std::string_view ikey);
// {"key","sequence","type"} for an internal key (user key escaped); {"malformed": escaped bytes}
// if it does not parse.
boost::json::object internal_key_json(std::string_view ikey);
// "0x%08x".
std::string hex32(uint32_t v);

// A FileSystem that only reads. Mutating calls fail with Errc::read_only; open() fails the same
// way unless the options are read-only without create or truncate.
// REQUIRES: `base` outlives it.
class ReadOnlyFileSystem final : public io::FileSystem {
 public:
  explicit ReadOnlyFileSystem(io::FileSystem& base) : base_(base) {}

  asio::awaitable<Result<std::unique_ptr<io::File>>> open(std::string path, io::OpenOptions options) override;
  asio::awaitable<Result<void>> rename(std::string from, std::string to) override;
  asio::awaitable<Result<void>> remove(std::string path) override;
  asio::awaitable<Result<void>> create_dir(std::string path) override;
  asio::awaitable<Result<std::vector<std::string>>> list_dir(std::string path) override;
  asio::awaitable<Result<void>> sync_dir(std::string path) override;
  asio::awaitable<Result<bool>> exists(std::string path) override;
  Result<std::unique_ptr<io::FileLock>> lock(std::string path) override;

 private:
  io::FileSystem& base_;
};

// Opens `path` for reading through `fs` with read-only options.
asio::awaitable<Result<std::unique_ptr<io::File>>> open_read_only(io::FileSystem& fs, std::string path);

// Runs `aw` on a fresh io_context until it completes and returns its value; an exception thrown
// by the coroutine is rethrown here.
template <class T>
T run_sync(asio::awaitable<T> aw) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) out.emplace(std::move(v));
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

// The newest version of one user key seen while scanning files (verify looks for a cluster node's
// applied index this way: the DB's key "mapplied", lib/replication/command.h).
struct WatchedKey {
  std::string user_key;
  std::optional<uint64_t> sequence;  // none: not seen
  std::string value;                 // of the newest version (a deletion leaves it empty)
  bool deleted = false;

  // Takes a version if it is newer than the one held.
  void offer(uint64_t seq, std::string_view v, bool deletion) {
    if (sequence && *sequence >= seq) return;
    sequence = seq;
    value.assign(v);
    deleted = deletion;
  }
};

// What main() parsed, handed to each command; each command refuses the flags it does not take.
struct ToolFlags {
  bool json = false;
  bool entries = false;                // sst, wal, raft-log: list every entry / operation
  bool values = false;                 // with entries: print values (escaped), not only their lengths
  std::optional<uint64_t> limit;       // at most this many entries / records listed
  std::optional<uint64_t> log_number;  // wal, manifest: the file number when the name lacks it
};

// Prints a JSON object on one line to stdout.
void print_json(const boost::json::object& o);

}  // namespace strata::tool
