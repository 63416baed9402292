// io_bench: random-read IOPS of the io::FileSystem implementations (not a test).
//
//   io_bench [--fs=uring|posix|both] [--qd=32] [--threads=1] [--seconds=3] [--file_mb=256]
//            [--block=4096] [--dir=/tmp] [--cold] [--direct]
//
// Writes a file of --file_mb MiB in --dir, then runs --qd coroutines on an io_context with
// --threads threads, each issuing read_at(random aligned offset, --block bytes) back to back for
// --seconds. Reads go through the page cache unless --direct (OpenOptions::direct: O_DIRECT, every
// read a device read: the device's random-read IOPS through the ring, the limit of Strata's cold
// reads). On a warm cache this measures the submission/completion path, not the device. --cold evicts the file from the
// page cache first (posix_fadvise DONTNEED, the one syscall outside lib/io: benchmark setup only),
// so the first pass of reads goes to the device. Prints one key=value line per file system.
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/io/file_system.h"
#include "lib/io/posix_file_system.h"
#include "lib/io/uring_file_system.h"
#include "lib/util/clock.h"
#include "lib/util/random.h"

namespace asio = boost::asio;
using namespace strata;
using namespace strata::io;

namespace {

struct Config {
  std::string fs = "both";
  int qd = 32;
  int threads = 1;
  int seconds = 3;
  uint64_t file_mb = 256;
  size_t block = 4096;
  std::string dir = "/tmp";
  bool cold = false;
  bool direct = false;
};

struct Counters {
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> errors{0};
};

asio::awaitable<void> reader(File& file, uint64_t blocks, size_t block, uint64_t seed, uint64_t deadline_us,
                             Counters& counters) {
  Random rnd(seed);
  std::string buf(block, '\0');
  uint64_t n = 0;
  while (true) {
    if ((n & 63) == 0 && SystemClock::instance().now_micros() >= deadline_us) break;
    auto r = co_await file.read_at(rnd.uniform(blocks) * block, std::span<char>(buf.data(), buf.size()));
    if (!r || *r != block) counters.errors++;
    ++n;
  }
  counters.reads += n;
}

asio::awaitable<void> prepare(FileSystem& fs, std::string path, uint64_t bytes, std::unique_ptr<File>& out) {
  auto opened = co_await fs.open(path, OpenOptions{.create = true});
  if (!opened) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), opened.error().message().c_str());
    std::exit(1);
  }
  auto file = std::move(*opened);
  auto size = file->size();
  if (size && *size < bytes) {
    std::string chunk(1 << 20, 'x');
    for (uint64_t off = 0; off < bytes; off += chunk.size()) {
      auto w = co_await file->write_at(off, chunk);
      if (!w) std::exit(1);
    }
  }
  out = std::move(file);
}

asio::awaitable<void> reopen_direct(FileSystem& fs, std::string path, std::unique_ptr<File>& out) {
  auto opened = co_await fs.open(path, OpenOptions{.read_only = true, .direct = true});
  if (!opened) {
    std::fprintf(stderr, "open %s with O_DIRECT: %s\n", path.c_str(), opened.error().message().c_str());
    std::exit(1);
  }
  out = std::move(*opened);
}

void run_one(const char* name, FileSystem& fs, asio::io_context& io, const Config& cfg) {
  const std::string path = join_path(cfg.dir, "strata-io-bench.dat");
  const uint64_t bytes = cfg.file_mb << 20;
  std::unique_ptr<File> file;
  asio::co_spawn(io, prepare(fs, path, bytes, file), [](std::exception_ptr) {});
  io.run();
  io.restart();
  if (cfg.direct) {
    file.reset();
    asio::co_spawn(io, reopen_direct(fs, path, file), [](std::exception_ptr) {});
    io.run();
    io.restart();
  }
  if (cfg.cold) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fdatasync(fd);
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
    }
  }

  Counters counters;
  const uint64_t start = SystemClock::instance().now_micros();
  const uint64_t deadline = start + static_cast<uint64_t>(cfg.seconds) * 1'000'000;
  for (int i = 0; i < cfg.qd; ++i) {
    asio::co_spawn(io, reader(*file, bytes / cfg.block, cfg.block, 42 + i, deadline, counters),
                   [](std::exception_ptr) {});
  }
  std::vector<std::thread> extra;
  for (int t = 1; t < cfg.threads; ++t) extra.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : extra) t.join();
  io.restart();
  const double secs = (SystemClock::instance().now_micros() - start) / 1e6;
  std::printf(
      "fs=%s direct=%d cold=%d qd=%d threads=%d block=%zu file_mb=%llu reads=%llu errors=%llu seconds=%.2f iops=%.0f\n",
      name, cfg.direct ? 1 : 0, cfg.cold ? 1 : 0, cfg.qd, cfg.threads, cfg.block,
      static_cast<unsigned long long>(cfg.file_mb), static_cast<unsigned long long>(counters.reads.load()),
      static_cast<unsigned long long>(counters.errors.load()), secs, counters.reads.load() / secs);
  std::fflush(stdout);
  file.reset();
}

}  // namespace

constexpr const char* kUsage =
    "usage: io_bench [--fs=uring|posix|both] [--qd=32] [--threads=1] [--seconds=3] [--file_mb=256]\n"
    "                [--block=4096] [--dir=/tmp] [--cold] [--direct]\n"
    "Random-read IOPS of Strata's io::FileSystem implementations over one file (see the top of\n"
    "benchmarks/io_bench.cc); one key=value line per file system.\n";

int main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::puts("io_bench " STRATA_VERSION);
      return 0;
    }
    auto value = [&](const char* key) -> const char* {
      size_t n = std::strlen(key);
      return arg.compare(0, n, key) == 0 ? argv[i] + n : nullptr;
    };
    if (auto v = value("--fs="))
      cfg.fs = v;
    else if (auto v = value("--qd="))
      cfg.qd = std::atoi(v);
    else if (auto v = value("--threads="))
      cfg.threads = std::atoi(v);
    else if (auto v = value("--seconds="))
      cfg.seconds = std::atoi(v);
    else if (auto v = value("--file_mb="))
      cfg.file_mb = std::strtoull(v, nullptr, 10);
    else if (auto v = value("--block="))
      cfg.block = std::strtoull(v, nullptr, 10);
    else if (auto v = value("--dir="))
      cfg.dir = v;
    else if (arg == "--cold")
      cfg.cold = true;
    else if (arg == "--direct")
      cfg.direct = true;
    else {
      std::fprintf(stderr, "io_bench: unknown argument %s\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (cfg.fs == "uring" || cfg.fs == "both") {
    asio::io_context io(cfg.threads);
    auto fs = UringFileSystem::create(io.get_executor());
    if (!fs) {
      std::fprintf(stderr, "io_uring unavailable: %s\n", fs.error().message().c_str());
    } else {
      run_one("uring", **fs, io, cfg);
      fs->reset();
    }
  }
  if (cfg.fs == "posix" || cfg.fs == "both") {
    asio::io_context io(cfg.threads);
    PosixFileSystem fs;
    run_one("posix", fs, io, cfg);
  }
  std::remove(join_path(cfg.dir, "strata-io-bench.dat").c_str());
  return 0;
}
