// Test helpers for lib/io: a temp directory removed afterwards, one factory per FileSystem
// implementation, and run_on_io() which runs a test coroutine on a fresh io_context and rethrows
// its exception (doctest REQUIRE failures included) on the test thread.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <stdlib.h>

#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "lib/io/file_system.h"
#include "lib/io/mem_file_system.h"
#include "lib/io/posix_file_system.h"
#include "lib/io/uring_file_system.h"

namespace strata::io::test {

// mkdtemp under /tmp; removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/strata-io-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    REQUIRE(p != nullptr);
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct MemImpl {
  static std::unique_ptr<FileSystem> make(asio::any_io_executor) { return std::make_unique<MemFileSystem>(); }
};
struct PosixImpl {
  static std::unique_ptr<FileSystem> make(asio::any_io_executor) { return std::make_unique<PosixFileSystem>(); }
};
struct UringImpl {
  static std::unique_ptr<FileSystem> make(asio::any_io_executor ex) {
    auto fs = UringFileSystem::create(std::move(ex));
    REQUIRE_MESSAGE(fs.has_value(), "io_uring unavailable: " << fs.error().message());
    return std::move(*fs);
  }
};

// Runs `body` to completion on `io` (io.run() on this thread) and rethrows what it threw.
inline void run_on_io(asio::io_context& io, asio::awaitable<void> body) {
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  io.run();
  REQUIRE(done);
  if (error) std::rethrow_exception(error);
}

// A scenario of the conformance suite: gets a file system and an existing, empty directory.
using Scenario = asio::awaitable<void> (*)(FileSystem& fs, std::string root);

template <class Impl>
void run_scenario(Scenario scenario) {
  TempDir dir;
  asio::io_context io;
  auto fs = Impl::make(io.get_executor());
  // MemFileSystem needs the directory created in it; on disk this is a no-op.
  auto prepare = [](FileSystem& fs, std::string root, Scenario scenario) -> asio::awaitable<void> {
    auto made = co_await fs.create_dir(root);
    REQUIRE(made.has_value());
    auto run = scenario(fs, root);
    co_await std::move(run);
  };
  run_on_io(io, prepare(*fs, dir.path(), scenario));
  fs.reset();  // before the io_context (see uring_file_system.h)
}

}  // namespace strata::io::test
