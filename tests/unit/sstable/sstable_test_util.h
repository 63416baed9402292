// Helpers shared by the sstable unit tests: running a coroutine to completion, and building a
// table into a MemFileSystem.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/io/mem_file_system.h"
#include "lib/sstable/table_builder.h"
#include "lib/sstable/table_reader.h"

namespace strata::sstable::testing {

namespace asio = boost::asio;

// Runs `aw` on a fresh io_context until it completes and returns its result.
template <class T>
T run(asio::awaitable<T> aw) {
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

using KV = std::pair<std::string, std::string>;  // internal key, value

// Builds a table at `path` from sorted entries, writing whenever the builder asks to.
inline asio::awaitable<Result<TableProperties>> build_table(io::FileSystem& fs, std::string path,
                                                            std::vector<KV> entries, TableOptions options) {
  STRATA_CO_TRY_ASSIGN(auto file, co_await fs.open(path, io::OpenOptions{.create = true, .truncate = true}));
  TableBuilder builder(options, file.get());
  for (const auto& [k, v] : entries) {
    builder.add(k, v);
    if (builder.should_write()) STRATA_CO_TRY(co_await builder.write_pending());
  }
  STRATA_CO_TRY(co_await builder.finish());
  STRATA_CO_TRY_ASSIGN(uint64_t size, file->size());
  if (size != builder.file_size()) co_return make_error_code(Errc::io_error);
  co_return builder.properties();
}

inline asio::awaitable<Result<std::shared_ptr<TableReader>>> open_table(io::FileSystem& fs, std::string path,
                                                                        TableReadOptions options = {}) {
  STRATA_CO_TRY_ASSIGN(std::unique_ptr<io::File> file, co_await fs.open(path, io::OpenOptions{.read_only = true}));
  STRATA_CO_TRY_ASSIGN(uint64_t size, file->size());
  std::shared_ptr<io::File> shared = std::move(file);
  auto r = co_await TableReader::open(shared, size, options);
  co_return r;
}

}  // namespace strata::sstable::testing
