// strata-server: one Strata node. Opens the DB in --data-dir on an io_context run by --threads
// threads, serves the HTTP API (docs/http_api.md) on --listen, and shuts down cleanly on SIGINT or
// SIGTERM: stop accepting, finish in-flight requests, close the DB (syncs the WAL), exit 0.
//
// Prints exactly one line to stdout once it accepts connections:
//   strata-server listening on HOST:PORT
// (scripts and tests wait for it; with --listen HOST:0 it names the port the kernel chose).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/program_options.hpp>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "lib/db/db.h"
#include "lib/util/logging.h"
#include "net/http/router.h"
#include "net/http/server.h"

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace strata;

namespace {

constexpr const char* kVersion = "0.1.0";

struct Config {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  std::string data_dir = "./data";
  SyncPolicy sync = SyncPolicy::always;
  unsigned threads = 1;
  size_t max_body_bytes = 16 << 20;
  std::string node_id = "node-1";
};

// Splits "HOST:PORT" ("[::1]:80" for IPv6). false when malformed.
bool parse_listen(const std::string& s, std::string* host, uint16_t* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = s.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string p = s.substr(colon + 1);
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || ptr != p.data() + p.size() || v > 65535) return false;
  *host = h;
  *port = static_cast<uint16_t>(v);
  return true;
}

// The node's lifetime. Runs on: the io_context. Returns the exit status.
// REQUIRES: `signals` outlives the coroutine (it lives in main()).
asio::awaitable<int> run_node(asio::any_io_executor ex, Config cfg, asio::signal_set& signals) {
  Options options;
  options.sync = cfg.sync;
  options.create_if_missing = true;
  auto opened = co_await DB::open(ex, cfg.data_dir, options);
  if (!opened) {
    std::fprintf(stderr, "strata-server: cannot open the database in %s: %s\n", cfg.data_dir.c_str(),
                 opened.error().message().c_str());
    co_return 1;
  }
  std::unique_ptr<DB> db = std::move(*opened);

  net::http::NodeInfo node;
  node.node_id = cfg.node_id;
  node.sync_policy = std::string(to_string(cfg.sync));
  node.version = kVersion;
  net::http::Limits limits;
  limits.max_body_bytes = cfg.max_body_bytes;
  limits.max_value_bytes = cfg.max_body_bytes;
  net::http::Router router(*db, node, limits);

  net::http::ServerOptions sopts;
  sopts.host = cfg.host;
  sopts.port = cfg.port;
  sopts.body_limit_bytes = cfg.max_body_bytes;
  sopts.server_name = std::string("strata/") + kVersion;
  net::http::Server server(ex, router, sopts);
  auto listening = server.listen();
  if (!listening) {
    std::fprintf(stderr, "strata-server: cannot listen on %s:%u: %s\n", cfg.host.c_str(), cfg.port,
                 listening.error().message().c_str());
    auto closed = co_await db->close();
    (void)closed;
    co_return 1;
  }
  server.start();
  std::printf("strata-server listening on %s:%u\n", cfg.host.c_str(), server.port());
  std::fflush(stdout);

  auto [ec, signo] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
  STRATA_LOG(info, "strata-server: signal %d, shutting down", signo);
  co_await server.stop();
  auto closed = co_await db->close();
  if (!closed) {
    std::fprintf(stderr, "strata-server: closing the database failed: %s\n", closed.error().message().c_str());
    co_return 1;
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::string listen = "127.0.0.1:8000";
  std::string sync = "always";
  unsigned hw = std::thread::hardware_concurrency();
  cfg.threads = hw == 0 ? 1 : hw;

  po::options_description desc("strata-server: a Strata key-value node serving the HTTP API\n\nOptions");
  desc.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("listen", po::value(&listen)->default_value(listen), "HOST:PORT to accept HTTP connections on (PORT 0: any)")
      ("data-dir", po::value(&cfg.data_dir)->default_value(cfg.data_dir), "directory of the database (created if missing)")
      ("sync", po::value(&sync)->default_value(sync), "when writes are acknowledged: always | batch | none")
      ("threads", po::value(&cfg.threads)->default_value(cfg.threads), "I/O threads (default: hardware concurrency)")
      ("max-body-bytes", po::value(&cfg.max_body_bytes)->default_value(cfg.max_body_bytes), "largest accepted request body")
      ("node-id", po::value(&cfg.node_id)->default_value(cfg.node_id), "this node's id (reported by /status)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata-server: %s\n(see --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (vm.count("version")) {
    std::printf("strata-server %s\n", kVersion);
    return 0;
  }
  if (!parse_listen(listen, &cfg.host, &cfg.port)) {
    std::fprintf(stderr, "strata-server: --listen expects HOST:PORT, got '%s'\n", listen.c_str());
    return 2;
  }
  auto policy = parse_sync_policy(sync);
  if (!policy) {
    std::fprintf(stderr, "strata-server: --sync expects always, batch or none, got '%s'\n", sync.c_str());
    return 2;
  }
  cfg.sync = *policy;
  if (cfg.threads == 0 || cfg.threads > 1024) {
    std::fprintf(stderr, "strata-server: --threads must be from 1 to 1024\n");
    return 2;
  }
  if (cfg.max_body_bytes == 0) {
    std::fprintf(stderr, "strata-server: --max-body-bytes must be positive\n");
    return 2;
  }
  std::error_code fs_ec;
  std::filesystem::create_directories(cfg.data_dir, fs_ec);
  if (fs_ec) {
    std::fprintf(stderr, "strata-server: cannot create %s: %s\n", cfg.data_dir.c_str(), fs_ec.message().c_str());
    return 1;
  }

  asio::io_context io(static_cast<int>(cfg.threads));
  // Registered before anything else runs, so that a SIGTERM during a long WAL replay still ends in
  // a clean close (it is delivered once the node waits for it).
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int exit_code = 1;
  asio::co_spawn(io, run_node(io.get_executor(), cfg, signals), [&](std::exception_ptr e, int rc) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "strata-server: fatal: %s\n", ex.what());
      }
      rc = 1;
    }
    exit_code = rc;
    io.stop();  // background coroutines of a closed DB hold no state worth waiting for
  });
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < cfg.threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return exit_code;
}
