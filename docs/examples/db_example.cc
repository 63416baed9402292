// The example program of docs/cpp_api.md: opens a database, writes, reads, writes a batch, reads
// at a snapshot, iterates both ways, reads many keys at once, shows an error as a value, and
// closes. The meson test `cpp_api_example` (suite system) builds and runs it, so the page's code
// is known to compile and work.
//
//   cpp_api_example [DIR]   the database directory (default: a new temporary one, removed after)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <strata/db.h>

namespace asio = boost::asio;

// Everything the program does with an open database. Runs on: the io_context's thread.
asio::awaitable<strata::Result<void>> use(strata::DB& db) {
  // A write returns the sequence number it was given, once its WAL record is on disk
  // (Options::sync, SyncPolicy::always by default).
  auto put = co_await db.put("fruit/apple", "red");
  if (!put) co_return put.error();
  std::printf("put fruit/apple at sequence %llu\n", static_cast<unsigned long long>(*put));

  // An absent key is not an error: get() returns Result<std::optional<std::string>>.
  STRATA_CO_TRY_ASSIGN(std::optional<std::string> apple, co_await db.get("fruit/apple"));
  STRATA_CO_TRY_ASSIGN(std::optional<std::string> kiwi, co_await db.get("fruit/kiwi"));
  std::printf("fruit/apple = %s, fruit/kiwi = %s\n", apple ? apple->c_str() : "(absent)",
              kiwi ? kiwi->c_str() : "(absent)");

  // A WriteBatch is applied atomically, with consecutive sequence numbers.
  strata::WriteBatch batch;
  batch.put("fruit/banana", "yellow");
  batch.put("fruit/cherry", "dark red");
  batch.del("fruit/apple");
  STRATA_CO_TRY_ASSIGN(strata::SequenceNumber last, co_await db.write(std::move(batch)));
  std::printf("batch of 3 ends at sequence %llu\n", static_cast<unsigned long long>(last));

  // A snapshot pins the state of now; reads with its sequence number keep seeing it.
  strata::Snapshot snap = db.snapshot();
  STRATA_CO_TRY(co_await db.put("fruit/banana", "green"));
  STRATA_CO_TRY_ASSIGN(std::optional<std::string> now, co_await db.get("fruit/banana"));
  STRATA_CO_TRY_ASSIGN(std::optional<std::string> then,
                       co_await db.get("fruit/banana", strata::ReadOptions{.snapshot = snap.sequence()}));
  std::printf("fruit/banana now %s, at the snapshot %s\n", now->c_str(), then->c_str());

  // An iterator over the keys that start with "fruit/", forward, then backward. A move that fails
  // leaves the iterator !valid() and returns the error.
  auto it = db.new_iterator(strata::ReadOptions{.prefix = "fruit/"});
  strata::Result<void> moved = co_await it->seek_to_first();
  for (; moved && it->valid(); moved = co_await it->next()) {
    std::printf("  %.*s = %.*s\n", static_cast<int>(it->key().size()), it->key().data(),
                static_cast<int>(it->value().size()), it->value().data());
  }
  if (!moved) co_return moved.error();
  std::printf("backward:");
  for (moved = co_await it->seek_to_last(); moved && it->valid(); moved = co_await it->prev()) {
    std::printf(" %.*s", static_cast<int>(it->key().size()), it->key().data());
  }
  std::printf("\n");
  if (!moved) co_return moved.error();
  it.reset();  // an iterator pins files: drop it before close()

  // Many keys at one sequence number; their disk reads, if any, run concurrently.
  STRATA_CO_TRY_ASSIGN(auto values, co_await db.multi_get({"fruit/apple", "fruit/cherry"}));
  std::printf("multi_get: %s, %s\n", values[0] ? values[0]->c_str() : "(absent)",
              values[1] ? values[1]->c_str() : "(absent)");

  // Errors are values: a key over Options::max_key_size_bytes is invalid_argument.
  auto refused = co_await db.put(std::string(strata::Options{}.max_key_size_bytes + 1, 'k'), "v");
  if (refused || refused.error() != strata::Errc::invalid_argument) {
    co_return strata::make_error_code(strata::Errc::invalid_argument);  // not what the API promises
  }
  std::printf("an oversized key: %s\n", refused.error().message().c_str());
  co_return strata::ok();
}

// Opens the database in `dir`, uses it, and always closes it (REQUIRES of ~DB).
asio::awaitable<strata::Result<void>> run(std::string dir) {
  auto executor = co_await asio::this_coro::executor;
  strata::Options options;  // create_if_missing, SyncPolicy::always, 64 MiB memtables, ...
  options.block_cache_bytes = 8 << 20;
  STRATA_CO_TRY_ASSIGN(std::unique_ptr<strata::DB> db, co_await strata::DB::open(executor, dir, options));
  strata::Result<void> used = co_await use(*db);
  strata::Result<void> closed = co_await db->close();
  if (!used) co_return used.error();
  co_return closed;
}

int main(int argc, char** argv) {
  bool temporary = argc < 2;
  std::string dir;
  if (temporary) {
    char tmpl[] = "/tmp/strata-example-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  } else {
    dir = argv[1];
  }
  asio::io_context io;
  int status = 1;
  asio::co_spawn(io, run(dir), [&](std::exception_ptr e, strata::Result<void> r) {
    if (e) {
      std::fprintf(stderr, "cpp_api_example: exception\n");
    } else if (!r) {
      std::fprintf(stderr, "cpp_api_example: %s\n", r.error().message().c_str());
    } else {
      status = 0;
    }
  });
  io.run();
  if (temporary) std::filesystem::remove_all(dir);
  return status;
}
