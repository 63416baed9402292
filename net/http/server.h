// Server: the HTTP/1.1 front end of a node. It accepts TCP connections on HOST:PORT and runs one
// coroutine per connection that owns its socket (a beast::tcp_stream) by value, reads requests
// with bounded header and body sizes, hands each one to the Router and writes its Response.
// Modelled on Beast's example/http/server/awaitable.
//
// Behaviour:
//  - keep-alive (HTTP/1.1 default), TCP_NODELAY, "Expect: 100-continue" answered at once;
//  - deadlines by tcp_stream::expires_after: a new connection must send a whole request header
//    within header_timeout_ms, a later request's header must be whole within header_timeout_ms of
//    its first byte, a keep-alive connection may wait idle_timeout_ms for its next request, and
//    reading a body or writing an answer gets io_timeout_ms;
//  - connection caps (max_connections in total, max_connections_per_address from one remote
//    address): a connection over a cap closes the connection that has been idle longest (waiting
//    for its next request: of the same address for the per-address cap) to make room; when none
//    is idle it is answered 503 overloaded and closed without being read;
//  - the browser-safety checks of RequestGuard on every request's head (415, 421, 403, 501) and
//    its CORS headers;
//  - header over header_limit_bytes -> 431, body over body_limit_bytes -> 413, malformed request
//    -> 400, bodies in flight over max_inflight_body_bytes -> 503; each with a JSON error body
//    and Connection: close;
//  - counters, gauges and limits in ClientPortCounters (GET /v1/stats "http", /metrics);
//  - one exception boundary per connection: an exception is logged and closes that connection
//    only, never the process;
//  - stop(): stops accepting, closes idle connections, lets in-flight requests finish (their
//    response is sent with Connection: close), then returns.
//
//  - TLS when ServerOptions::tls is set (net/tls/tls_context.h): every connection first completes a
//    TLS handshake within header_timeout_ms (meanwhile it counts as idle for the caps), with the
//    context current at its accept (a reload affects later connections); a failed handshake is
//    counted (tls_handshake_failures) and the connection closed without an answer; the end of a
//    TLS connection sends close_notify (bounded by a one-second deadline).
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

#include "strata/result.h"
#include "net/http/client_port_stats.h"
#include "net/http/request_guard.h"

namespace strata::net::tls {
class TlsContext;
}

namespace strata::net::http {

class Router;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;  // 0: any free port (see port())
  size_t header_limit_bytes = 16 << 10;
  size_t body_limit_bytes = 16 << 20;
  uint32_t header_timeout_ms = 10'000;  // a new connection's first header; any header once started
  uint32_t idle_timeout_ms = 60'000;    // keep-alive wait for the next request
  uint32_t io_timeout_ms = 60'000;      // reading one request's body, writing one response
  size_t max_connections = 4096;        // see above: an idle one makes room, else 503 and close
  size_t max_connections_per_address = 1024;
  // Sum of the bodies of requests being read or handled at once, over all connections; a request
  // that would pass it gets 503 busy. Bounds memory to about this plus one body per connection's
  // header (max_connections * header_limit_bytes). Chunked bodies count as body_limit_bytes.
  size_t max_inflight_body_bytes = 256 << 20;
  std::string server_name = "strata";
  GuardOptions guard;  // Host names, CORS origins (request_guard.h)
  // Where the server counts (ClientPortCounters); nullptr: a counter set of its own. The server
  // fills in the limits. REQUIRES: outlives the Server.
  ClientPortCounters* counters = nullptr;
  // Each connection on its own strand of the executor, so that an io_context run by several
  // threads serves connections in parallel yet each one's handlers in sequence. false is for an
  // io_context run by ONE thread only (strata-server --threads 1): that thread serializes every
  // handler already, and the connections then run on the executor itself, which saves the strand's
  // reference counting on every executor copy (~5% of a busy node's CPU, perf 2026-11-21).
  bool strand_per_connection = true;
  // Serve HTTPS with this context (reloadable); nullptr: plain HTTP.
  std::shared_ptr<tls::TlsContext> tls;
  // One info line per routed request, after its answer is written (or failed):
  //   access: <remote address> <METHOD> <target> <status> <body bytes> <milliseconds>ms
  // (strata-server --access-log). The target is the request line's, as received.
  bool access_log = false;
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
