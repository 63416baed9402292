// CliBackend: what the `strata` CLI and REPL need from a store, with two implementations:
//   - embedded: opens the DB in a directory in this process (its own io_context on one thread);
//   - HTTP: talks to a strata-server over the native API with libcurl (one keep-alive handle).
// The command code is shared; only the transport differs.
//
// Errors are values: CliResult<T> holds a human-readable message on failure. (A CliResult of
// std::string must be built with boost::system::in_place_value: CliError is constructible from a
// string too.)
// Thread-safety: none; one backend is used by one thread.
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "strata/db.h"

namespace strata::cli {

struct CliError {
  CliError() = default;
  explicit CliError(std::string m) : message(std::move(m)) {}
  std::string message;
};

template <class T>
using CliResult = boost::system::result<T, CliError>;

class CliBackend {
 public:
  virtual ~CliBackend() = default;
  virtual CliResult<void> put(const std::string& key, const std::string& value) = 0;
  virtual CliResult<std::optional<std::string>> get(const std::string& key) = 0;
  // The value as of DB sequence number `seq` (GET key AT seq). Errors: seq beyond the last
  // sequence number; a cluster (sequence numbers are per node).
  virtual CliResult<std::optional<std::string>> get_at(const std::string& key, uint64_t seq) = 0;
  virtual CliResult<void> del(const std::string& key) = 0;
  // Stores every pair in one atomic write (DB::write; POST /v1/batch): all or none.
  virtual CliResult<void> put_batch(const std::vector<KeyValue>& pairs) = 0;
  // Pairs with start <= key < end (empty end: no bound), at most `limit` (0: no limit), in
  // ascending key order, or descending from the last key < end with `reverse`.
  virtual CliResult<std::vector<KeyValue>> scan(const std::string& start, const std::string& end, size_t limit,
                                                bool reverse) = 0;
  // The store's counters (the server's GET /v1/stats, read back).
  virtual CliResult<DbStats> stats() = 0;
  // Where a lookup of `key` went (at `seq` when given).
  virtual CliResult<LookupTrace> trace(const std::string& key, std::optional<uint64_t> seq) = 0;
  // Every option with its value; set_option changes one and returns the new list (errors carry
  // the DB's reason).
  virtual CliResult<std::vector<OptionInfo>> options() = 0;
  virtual CliResult<std::vector<OptionInfo>> set_option(const std::string& name, const std::string& value) = 0;
  // DB::flush, DB::compact_range over [start, end] (empty: unbounded).
  virtual CliResult<void> flush() = 0;
  virtual CliResult<void> compact(const std::string& start, const std::string& end) = 0;
  // A consistent copy of the store (DB::checkpoint). Embedded: `target` is the directory to
  // create. HTTP: a name under the server's --backup-dir. Returns the directory and the last
  // sequence number it holds, for the user.
  virtual CliResult<std::string> checkpoint(const std::string& target) = 0;
  // Releases the store (closes the embedded DB). Idempotent.
  virtual CliResult<void> close() = 0;
};

// `create`: make the directory and a new DB if there is none (commands that write, and the
// REPL); otherwise a missing DB is an error, so that a mistyped path is not a new empty DB.
CliResult<std::unique_ptr<CliBackend>> open_embedded(const std::string& data_dir, bool create);
// How the HTTP backend verifies an https:// server and proves who it is (curl's --cacert, --cert,
// --key). Empty fields: the system's CAs, no client certificate.
struct TlsClientOptions {
  std::string ca_file;    // PEM CAs the server's certificate must chain to
  std::string cert_file;  // PEM client certificate (a server with --client-cert-auth asks for one)
  std::string key_file;   // its PEM private key
};
// `url` like "http://127.0.0.1:8000" or "https://node.example:8443" (no trailing path).
CliResult<std::unique_ptr<CliBackend>> open_http(const std::string& url, TlsClientOptions tls = {});

}  // namespace strata::cli

namespace boost::system {
// boost::system::result<T, CliError>::value() throws this on error.
[[noreturn]] inline void throw_exception_from_error(const strata::cli::CliError& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}
}  // namespace boost::system
