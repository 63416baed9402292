// Server: the HTTP/1.1 front end of a node. It accepts TCP connections on HOST:PORT and runs one
// coroutine per connection that owns its socket (a beast::tcp_stream) by value, reads requests
// with bounded header and body sizes, hands each one to the Router and writes its Response.
// Modelled on Beast's example/http/server/awaitable.
//
// Behaviour:
//  - keep-alive (HTTP/1.1 default), TCP_NODELAY, "Expect: 100-continue" answered at once;
//  - idle and read timeouts by tcp_stream::expires_after;
//  - header over header_limit_bytes -> 431, body over body_limit_bytes -> 413, malformed request
//    -> 400, bodies in flight over max_inflight_body_bytes -> 503; each with a JSON error body
//    and Connection: close;
//  - one exception boundary per connection: an exception is logged and closes that connection
//    only, never the process;
//  - stop(): stops accepting, closes idle connections, lets in-flight requests finish (their
//    response is sent with Connection: close), then returns.
//
// Beast lives only in server.cc (and beast_impl.cc); this header is Beast-free.
// Executors: every connection runs on its own strand of the executor passed in (the node's
// io_context, run by N threads), or on that executor itself when strand_per_connection is false
// (one thread); the Router and the DB are called from there.
// Thread-safety: listen(), start() and stop() are called from one coroutine/thread at a time;
// port() is safe after listen(). REQUIRES: the Router outlives the Server; stop() has completed
// (or start() was never called) before the Server is destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "lib/util/result.h"

namespace strata::net::http {

class Router;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;               // 0: any free port (see port())
  size_t header_limit_bytes = 16 << 10;
  size_t body_limit_bytes = 16 << 20;
  uint32_t idle_timeout_ms = 60'000;  // keep-alive wait for the next request
  uint32_t io_timeout_ms = 60'000;    // reading one request's body, writing one response
  size_t max_connections = 4096;      // further connections are accepted and closed at once
  // Sum of the bodies of requests being read or handled at once, over all connections; a request
  // that would pass it gets 503 busy. Bounds memory to about this plus one body per connection's
  // header (max_connections * header_limit_bytes). Chunked bodies count as body_limit_bytes.
  size_t max_inflight_body_bytes = 256 << 20;
  std::string server_name = "strata";
  // Each connection on its own strand of the executor, so that an io_context run by several
  // threads serves connections in parallel yet each one's handlers in sequence. false is for an
  // io_context run by ONE thread only (strata-server --threads 1): that thread serializes every
  // handler already, and the connections then run on the executor itself, which saves the strand's
  // reference counting on every executor copy (~5% of a busy node's CPU, perf 2026-11-21).
  bool strand_per_connection = true;
};

class Server {
 public:
  Server(boost::asio::any_io_executor executor, const Router& router, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Resolves host, binds and listens. Errors: invalid_argument (unresolvable host), the OS error
  // mapped by errc_from_errno otherwise (address in use -> busy).
  Result<void> listen();
  // The bound port (the real one when ServerOptions::port was 0). REQUIRES: listen() succeeded.
  uint16_t port() const;

  // Spawns the accept loop. REQUIRES: listen() succeeded.
  void start();

  // Graceful stop (see above). Idempotent. Runs on: any executor.
  boost::asio::awaitable<void> stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace strata::net::http
