// Helpers shared by all tests: run a coroutine to completion, make a temporary directory.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <utility>

namespace strata::testing {

namespace asio = boost::asio;

// The decimal value of environment variable `name` (a test's knob: STRATA_SEED,
// STRATA_SOAK_SECONDS, ...), or `fallback` when it is unset or empty.
inline uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// Runs `aw` on a fresh single-threaded io_context until it and all work it started complete.
//
// If `aw` throws (a failed REQUIRE), the io_context stops at once and the exception is rethrown:
// the work it started is destroyed without running again. Without the stop, a test that fails
// between starting a Node (or any object with background coroutines) and stopping it would go on
// to resume those coroutines into the objects the failed coroutine just destroyed, and the
// sanitizers would report that use-after-free instead of the REQUIRE that failed.
template <class T>
T run(asio::awaitable<T> aw) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
    error = e;
    if (e)
      io.stop();
    else
      out.emplace(std::move(v));
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

inline void run(asio::awaitable<void> aw) {
  asio::io_context io;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e) {
    error = e;
    if (e) io.stop();
  });
  io.run();
  if (error) std::rethrow_exception(error);
}

// Runs `aw` on a pool of `threads` threads (for concurrency tests) and waits for it.
inline void run_on_pool(asio::thread_pool& pool, asio::awaitable<void> aw) {
  std::promise<void> done;
  asio::co_spawn(pool, std::move(aw), [&](std::exception_ptr e) {
    if (e)
      done.set_exception(e);
    else
      done.set_value();
  });
  done.get_future().get();
}

// A directory under $TMPDIR (or /tmp) removed on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/strata-test-XXXXXX";
    char* made = mkdtemp(tmpl.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace strata::testing
