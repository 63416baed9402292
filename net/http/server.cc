// The Beast translation unit: sockets, HTTP/1.1 parsing and serialization (see server.h).
#include "net/http/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_prefix.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <optional>

#include "lib/io/strand.h"
#include "lib/util/logging.h"
#include "lib/util/oneshot.h"
#include "net/http/json_codec.h"
#include "net/http/response_head.h"
#include "net/http/router.h"
#include "net/tls/tls_context.h"

namespace strata::net::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::asio::as_tuple;
using boost::asio::use_awaitable;

namespace {

// What stop() and the connection caps need to reach one connection: its strand and, while the
// session runs, its stream (touched only on `strand`).
struct Connection {
  asio::any_io_executor strand;
  beast::tcp_stream* stream = nullptr;
  std::string address;  // the remote address; constant
  // Waiting for the first byte of the next request, since idle_since: set on the strand, read by
  // the accept path (under Impl::mu) to pick a connection to close at a cap.
  std::atomic<bool> idle{false};
  std::atomic<int64_t> idle_since_ns{0};
  // Chosen to make room at a cap: it closes, after the request it may be reading. Set under mu.
  std::atomic<bool> evicted{false};
};

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The first read of a request waits for up to this many bytes (the header usually comes whole).
constexpr size_t kFirstReadBytes = 4096;

Method method_from(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get: return Method::get;
    case bhttp::verb::head: return Method::head;
    case bhttp::verb::put: return Method::put;
    case bhttp::verb::post: return Method::post;
    case bhttp::verb::delete_: return Method::del;
    default: return Method::other;
  }
}

using BeastRequest = bhttp::request<bhttp::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
// The largest write handed to a TlsStream at once (see Server::Impl::write).
constexpr size_t kMaxTlsWriteBytes = 16 << 10;

// The TCP layer of a plain or TLS stream: deadlines, the socket.
template <class Stream>
beast::tcp_stream& tcp_of(Stream& stream) {
  return beast::get_lowest_layer(stream);
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::any_io_executor ex, const Router& r, ServerOptions o)
      : executor(ex),
        accept_strand(io::make_strand_executor(ex)),
        acceptor(accept_strand),
        router(r),
        options(std::move(o)),
        guard(options.guard),
        counters(options.counters ? *options.counters : own_counters) {
    counters.max_connections = options.max_connections;
    counters.max_connections_per_address = options.max_connections_per_address;
    counters.header_timeout_ms = options.header_timeout_ms;
    counters.idle_timeout_ms = options.idle_timeout_ms;
    counters.io_timeout_ms = options.io_timeout_ms;
    Response busy = error_response(503, "overloaded", "too many connections; retry later");
    append_response_head(busy, "Service Unavailable", busy.body.size(),
                         HeadOptions{.server_name = options.server_name, .keep_alive = false}, &overloaded_answer);
    overloaded_answer += busy.body;
  }

  asio::any_io_executor executor;
  asio::any_io_executor accept_strand;
  tcp::acceptor acceptor;
  const Router& router;
  ServerOptions options;
  RequestGuard guard;
  ClientPortCounters own_counters;
  ClientPortCounters& counters;
  std::string overloaded_answer;  // the whole 503 sent to a connection over a cap
  uint16_t bound_port = 0;

  std::atomic<bool> stopping{false};
  std::atomic<size_t> inflight_body_bytes{0};
  std::mutex mu;  // guards the fields below
  uint64_t next_id = 0;
  std::map<uint64_t, std::shared_ptr<Connection>> connections;
  // Connections not evicted, in total and per remote address (what the caps count).
  size_t live_connections = 0;
  std::map<std::string, size_t> live_by_address;
  size_t active_tasks = 0;  // accept loop + sessions
  std::optional<Oneshot<int>> drained;

  void task_started() {
    std::lock_guard lock(mu);
    ++active_tasks;
  }
  void task_finished() {
    std::optional<Oneshot<int>> to_set;
    {
      std::lock_guard lock(mu);
      STRATA_ASSERT(active_tasks > 0);
      if (--active_tasks == 0 && drained) to_set = drained;
    }
    if (to_set) to_set->set(0);
  }

  // The executor of a new connection: a strand of `executor`, or `executor` itself (see
  // ServerOptions::strand_per_connection).
  asio::any_io_executor connection_executor() const {
    return options.strand_per_connection ? io::make_strand_executor(executor) : executor;
  }

  asio::awaitable<void> accept_loop();
  // Owns the connection's stream: the TLS handshake if any, serve(), the close.
  asio::awaitable<void> session(std::shared_ptr<Connection> conn, beast::tcp_stream stream);
  // Reads requests and writes answers until the connection ends. Stream: beast::tcp_stream or
  // TlsStream, owned by session()'s frame.
  template <class Stream>
  asio::awaitable<void> serve(Connection& conn, Stream& stream);
  // Writes `res` (head formatted into `head`, the connection's reusable buffer, then the body).
  template <class Stream>
  asio::awaitable<bool> write(Stream& stream, std::string& head, const BeastRequest* req, Response res,
                              bool keep_alive);
  void spawn_session(tcp::socket socket);
  // At a cap: closes the connection idle longest (of `address` when given) to make room. false
  // when none is idle. REQUIRES: mu held.
  bool evict_idle_locked(const std::string* address);
  void forget_live_locked(const Connection& c);
};

namespace {

// Builds the router's Request from Beast's. nullopt for a target the router cannot take.
std::optional<Request> to_request(BeastRequest& breq) {
  Request req;
  req.method = method_from(breq.method());
  req.method_name = std::string(breq.method_string());
  std::string_view target = breq.target();
  if (target.empty() || target.front() != '/') return std::nullopt;
  size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    auto query = parse_query(target.substr(q + 1));
    if (!query) return std::nullopt;
    req.query = std::move(*query);
  }
  if (auto it = breq.find(bhttp::field::content_type); it != breq.end()) req.content_type = std::string(it->value());
  req.body = std::move(breq.body());
  return req;
}

std::optional<std::string_view> field_of(const BeastRequest& breq, bhttp::field f) {
  auto it = breq.find(f);
  if (it == breq.end()) return std::nullopt;
  return std::string_view(it->value());
}

// What RequestGuard checks, from a parsed header. Views into `breq`.
RequestHead head_of(const BeastRequest& breq, bool has_body, std::string_view local_address) {
  RequestHead h;
  h.method = method_from(breq.method());
  h.method_name = breq.method_string();
  h.host = field_of(breq, bhttp::field::host);
  h.origin = field_of(breq, bhttp::field::origin);
  h.content_type = field_of(breq, bhttp::field::content_type);
  h.transfer_encoding = field_of(breq, bhttp::field::transfer_encoding);
  h.access_control_request_method = field_of(breq, bhttp::field::access_control_request_method);
  h.has_body = has_body;
  h.local_address = local_address;
  return h;
}

}  // namespace

template <class Stream>
asio::awaitable<bool> Server::Impl::write(Stream& stream, std::string& head, const BeastRequest* req, Response res,
                                          bool keep_alive) {
  bool send_body = !status_has_no_body(res.status) && !(req && req->method() == bhttp::verb::head);
  HeadOptions ho{
      .server_name = options.server_name, .keep_alive = keep_alive, .http10_client = req && req->version() < 11};
  head.clear();
  // HEAD: the headers of the GET answer (Content-Length included), no body.
  append_response_head(res, bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(res.status))),
                       res.body.size(), ho, &head);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                            send_body ? asio::buffer(res.body) : asio::const_buffer()};
  tcp_of(stream).expires_after(std::chrono::milliseconds(options.io_timeout_ms));
  boost::system::error_code ec;
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    // At most one TLS record's worth (16 KiB) per write: a longer write through Beast's
    // ssl_stream over a tcp_stream sends nothing past the first record and never completes
    // (seen with Boost 1.81 and OpenSSL 3: a 20,000-byte GET answer stalled after its head, until
    // io_timeout_ms). No copy: each step is a view of the head and body buffers.
    beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(buffers);
    while (beast::buffer_bytes(rest) > 0) {
      auto [wec, wn] =
          co_await asio::async_write(stream, beast::buffers_prefix(kMaxTlsWriteBytes, rest), as_tuple(use_awaitable));
      ec = wec;
      if (ec) break;
      rest.consume(wn);
    }
  } else {
    auto [wec, wn] = co_await asio::async_write(stream, buffers, as_tuple(use_awaitable));
    ec = wec;
  }
  if (ec) {
    if (ec == beast::error::timeout) ClientPortCounters::bump(counters.io_timeouts);
    STRATA_LOG(debug, "http: write failed: %s", ec.message().c_str());
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Server::Impl::session(std::shared_ptr<Connection> conn, beast::tcp_stream stream) {
  conn->stream = &stream;
  // stop() may still reach `conn` after this frame is gone (an exception unwinds it): forget the
  // stream on every way out. Runs on the strand, like stop()'s posted cancel.
  struct Forget {
    Connection& c;
    ~Forget() {
      c.stream = nullptr;
      c.idle = false;
    }
  } forget{*conn};
  if (!options.tls) {
    co_await serve(*conn, stream);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
  // The context current at this accept; held for the connection's life (a reload replaces it
  // for later connections only).
  std::shared_ptr<asio::ssl::context> context = options.tls->current();
  TlsStream tls_stream(std::move(stream), *context);
  conn->stream = &tcp_of(tls_stream);
  // The handshake has header_timeout_ms, and counts as idle: a flood of connections that never
  // finish theirs can be evicted at a cap.
  conn->idle_since_ns.store(steady_now_ns());
  conn->idle.store(true);
  tcp_of(tls_stream).expires_after(std::chrono::milliseconds(options.header_timeout_ms));
  auto [hec] = co_await tls_stream.async_handshake(asio::ssl::stream_base::server, as_tuple(use_awaitable));
  conn->idle.store(false);
  if (hec) {
    uint64_t n = counters.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed) + 1;
    if ((n & (n - 1)) == 0) {  // the 1st, 2nd, 4th, ...: a flood logs little
      STRATA_LOG(warn, "http: TLS handshake with %s failed: %s (%llu failed so far)", conn->address.c_str(),
                 hec.message().c_str(), static_cast<unsigned long long>(n));
    }
    if (hec.category() == asio::error::get_ssl_category() && ERR_GET_REASON(hec.value()) == SSL_R_HTTP_REQUEST) {
      // Plain HTTP to the HTTPS port: say so in plain HTTP, as nginx does, instead of a bare close.
      std::string answer;
      Response bad = error_response(400, "tls_required", "this port speaks HTTPS; use https://");
      append_response_head(bad, "Bad Request", bad.body.size(),
                           HeadOptions{.server_name = options.server_name, .keep_alive = false}, &answer);
      answer += bad.body;
      tcp_of(tls_stream).expires_after(std::chrono::seconds(1));
      auto [wec, wn] = co_await asio::async_write(tcp_of(tls_stream), asio::buffer(answer), as_tuple(use_awaitable));
      (void)wec;
      (void)wn;
    }
    co_return;
  }
  ClientPortCounters::bump(counters.tls_handshakes);
  co_await serve(*conn, tls_stream);
  // close_notify, so that the client can tell the end from a truncation; bounded, since a client
  // that has gone need not answer.
  tcp_of(tls_stream).expires_after(std::chrono::seconds(1));
  auto [sec] = co_await tls_stream.async_shutdown(as_tuple(use_awaitable));
  (void)sec;
}

template <class Stream>
asio::awaitable<void> Server::Impl::serve(Connection& conn, Stream& stream) {
  beast::flat_buffer buffer;
  std::string head;  // the response head, reused by every response of this connection
  std::string local_address;
  {
    beast::error_code lec;
    auto local = tcp_of(stream).socket().local_endpoint(lec);
    if (!lec) local_address = local.address().to_string();
  }
  bool first = true;
  for (;;) {
    if (stopping.load() || conn.evicted.load()) break;
    // The first bytes of the next request: a new connection has header_timeout_ms to send them,
    // a keep-alive one idle_timeout_ms. Meanwhile it is idle: stop(), or a new connection over a
    // cap, may close it.
    if (buffer.size() == 0) {
      conn.idle_since_ns.store(steady_now_ns());
      conn.idle.store(true);
      tcp_of(stream).expires_after(
          std::chrono::milliseconds(first ? options.header_timeout_ms : options.idle_timeout_ms));
      auto [rec, rn] = co_await stream.async_read_some(buffer.prepare(kFirstReadBytes), as_tuple(use_awaitable));
      conn.idle.store(false);
      if (rec) {
        if (rec == beast::error::timeout)
          ClientPortCounters::bump(first ? counters.header_timeouts : counters.idle_timeouts);
        break;
      }
      buffer.commit(rn);
    }
    first = false;
    const int64_t request_start_ns = steady_now_ns();
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options.header_limit_bytes));
    parser.body_limit(options.body_limit_bytes);

    // The header usually came whole with that read: parse it from the buffer, without another
    // asynchronous operation (and timer). Otherwise read the rest of it within header_timeout_ms
    // of its first byte (slow senders lose).
    beast::error_code ec;
    while (buffer.size() > 0 && !parser.is_header_done()) {
      size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec || used == 0) break;
    }
    if (ec == bhttp::error::need_more) ec = {};
    if (!ec && !parser.is_header_done()) {
      tcp_of(stream).expires_after(std::chrono::milliseconds(options.header_timeout_ms));
      auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, as_tuple(use_awaitable));
      if (hec == beast::error::timeout) ClientPortCounters::bump(counters.header_timeouts);
      ec = hec;
    }
    // Browser safety, before the body is read: a refused request is answered and the connection
    // closed (its body, unread, cannot be skipped safely).
    if (!ec) {
      RequestHead rhead = head_of(parser.get(), !parser.is_done(), local_address);
      if (auto refused = guard.check(rhead)) {
        ClientPortCounters::bump(counters.requests_refused[static_cast<size_t>(refused->reason)]);
        co_await write(stream, head, &parser.get(), std::move(refused->response), false);
        break;
      }
    }
    // Reserve the body's bytes in the server-wide budget before reading it.
    size_t reserved = 0;
    if (!ec && !parser.is_done()) {
      auto length = parser.content_length();
      reserved = length ? static_cast<size_t>(*length) : options.body_limit_bytes;
      size_t before = inflight_body_bytes.fetch_add(reserved);
      if (before + reserved > options.max_inflight_body_bytes && reserved <= options.body_limit_bytes) {
        inflight_body_bytes.fetch_sub(reserved);
        co_await write(stream, head, nullptr,
                       error_response(503, "busy", "too many request bodies in flight; retry later"), false);
        break;
      }
    }
    // Returns the reservation on every path out of this iteration.
    struct Release {
      std::atomic<size_t>& counter;
      size_t bytes;
      ~Release() { counter.fetch_sub(bytes); }
    } release{inflight_body_bytes, reserved};
    if (!ec && !parser.is_done()) {
      // curl and others wait for "100 Continue" before sending a large body.
      auto expect = parser.get().find(bhttp::field::expect);
      if (expect != parser.get().end() && beast::iequals(expect->value(), "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        tcp_of(stream).expires_after(std::chrono::milliseconds(options.io_timeout_ms));
        auto [wec, wn] = co_await bhttp::async_write(stream, cont, as_tuple(use_awaitable));
        if (wec) break;
      }
      tcp_of(stream).expires_after(std::chrono::milliseconds(options.io_timeout_ms));
      auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, as_tuple(use_awaitable));
      if (rec == beast::error::timeout) ClientPortCounters::bump(counters.io_timeouts);
      ec = rec;
    }
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        break;
      }
      Response err;
      if (ec == bhttp::error::header_limit) {
        err = error_response(431, "header_too_large",
                             "request header exceeds " + std::to_string(options.header_limit_bytes) + " bytes");
      } else if (ec == bhttp::error::body_limit) {
        err = error_response(413, "body_too_large",
                             "request body exceeds " + std::to_string(options.body_limit_bytes) + " bytes");
      } else if (ec != bhttp::error::partial_message &&
                 ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
        err = error_response(400, "bad_request", "malformed HTTP request: " + ec.message());
      } else {
        STRATA_LOG(debug, "http: read failed: %s", ec.message().c_str());
        break;
      }
      // The stream cannot be resynchronized after a rejected request: answer, then close.
      co_await write(stream, head, nullptr, std::move(err), false);
      break;
    }

    BeastRequest& breq = parser.get();
    RequestHead rhead = head_of(breq, false, local_address);
    bool keep_alive = breq.keep_alive();
    Response res;
    if (auto pre = guard.preflight(rhead)) {
      res = std::move(*pre);
    } else if (auto req = to_request(breq); !req) {
      res = error_response(400, "bad_request", "malformed request target");
    } else {
      const std::optional<RequestOp> op = Router::timed_op(*req);
      const int64_t handle_start_ns = op ? steady_now_ns() : 0;
      res = co_await router.handle(std::move(*req));
      if (op) {
        counters.request_latency[static_cast<size_t>(*op)].observe(
            static_cast<uint64_t>(steady_now_ns() - handle_start_ns) / 1000);
      }
    }
    guard.decorate(rhead.origin, &res);
    if (stopping.load() || conn.evicted.load()) keep_alive = false;
    const int status = res.status;
    const size_t body_bytes = res.body.size();
    bool written = co_await write(stream, head, &breq, std::move(res), keep_alive);
    if (options.access_log) {
      const double ms = static_cast<double>(steady_now_ns() - request_start_ns) / 1e6;
      STRATA_LOG(info, "access: %s %s %.*s %d %zu %.3fms%s", conn.address.c_str(),
                 std::string(breq.method_string()).c_str(), static_cast<int>(breq.target().size()),
                 breq.target().data(), status, body_bytes, ms, written ? "" : " (write failed)");
    }
    if (!written || !keep_alive) break;
  }
}

bool Server::Impl::evict_idle_locked(const std::string* address) {
  std::shared_ptr<Connection> victim;
  for (auto& [id, c] : connections) {
    if (c->evicted.load() || !c->idle.load() || (address && c->address != *address)) continue;
    if (!victim || c->idle_since_ns.load() < victim->idle_since_ns.load()) victim = c;
  }
  if (!victim) return false;
  victim->evicted.store(true);
  forget_live_locked(*victim);
  ClientPortCounters::bump(counters.connections_evicted);
  // Closes it if it is still idle; one that started a request meanwhile closes after it.
  asio::post(victim->strand, [victim] {
    if (victim->stream && victim->idle.load()) victim->stream->cancel();
  });
  return true;
}

void Server::Impl::forget_live_locked(const Connection& c) {
  --live_connections;
  auto it = live_by_address.find(c.address);
  if (it != live_by_address.end() && --it->second == 0) live_by_address.erase(it);
}

void Server::Impl::spawn_session(tcp::socket socket) {
  auto conn = std::make_shared<Connection>();
  conn->strand = socket.get_executor();
  beast::error_code rec;
  auto remote = socket.remote_endpoint(rec);
  conn->address = rec ? std::string() : remote.address().to_string();
  uint64_t id = 0;
  std::atomic<uint64_t>* refused = nullptr;  // the counter of the cap that refused it
  size_t open_then = 0, from_address_then = 0;
  {
    std::lock_guard lock(mu);
    // (No reference into live_by_address across an eviction: it may erase that entry.)
    auto from_address = [&] {
      auto it = live_by_address.find(conn->address);
      return it == live_by_address.end() ? size_t{0} : it->second;
    };
    if (from_address() >= options.max_connections_per_address && !evict_idle_locked(&conn->address)) {
      refused = &counters.connections_refused_per_address;
    } else if (live_connections >= options.max_connections && !evict_idle_locked(nullptr)) {
      refused = &counters.connections_refused_total_cap;
    }
    open_then = live_connections;
    from_address_then = from_address();
    if (!refused) {
      id = next_id++;
      connections.emplace(id, conn);
      ++live_connections;
      ++live_by_address[conn->address];
      ++active_tasks;
    }
  }
  if (refused) {
    uint64_t n = refused->fetch_add(1, std::memory_order_relaxed) + 1;
    if ((n & (n - 1)) == 0) {  // the 1st, 2nd, 4th, ...: a flood logs little
      STRATA_LOG(warn,
                 "http: refused a connection from %s over the %s cap (%zu open, %zu from that address); %llu refused",
                 conn->address.c_str(), refused == &counters.connections_refused_total_cap ? "total" : "per-address",
                 open_then, from_address_then, static_cast<unsigned long long>(n));
    }
    // Best effort, without waiting: the 503 fits in the socket buffer of a new connection.
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.send(asio::buffer(overloaded_answer), 0, ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    return;
  }
  ClientPortCounters::bump(counters.connections_accepted);
  counters.connections_open.fetch_add(1, std::memory_order_relaxed);
  auto self = shared_from_this();
  asio::co_spawn(conn->strand, session(conn, beast::tcp_stream(std::move(socket))), [self, id](std::exception_ptr e) {
    // The exception boundary of one connection: log, close, keep serving.
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        STRATA_LOG(error, "http: connection failed: %s", ex.what());
      } catch (...) {
        STRATA_LOG(error, "http: connection failed with an unknown exception");
      }
    }
    {
      std::lock_guard lock(self->mu);
      auto it = self->connections.find(id);
      if (!it->second->evicted.load()) self->forget_live_locked(*it->second);
      self->connections.erase(it);
    }
    self->counters.connections_open.fetch_sub(1, std::memory_order_relaxed);
    self->task_finished();
  });
}

asio::awaitable<void> Server::Impl::accept_loop() {
  asio::steady_timer backoff(accept_strand);
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(connection_executor(), as_tuple(use_awaitable));
    if (stopping.load()) break;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) break;
      // EMFILE and friends: log and back off instead of spinning.
      STRATA_LOG(warn, "http: accept failed: %s", ec.message().c_str());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(as_tuple(use_awaitable));
      continue;
    }
    beast::error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    spawn_session(std::move(socket));
  }
}

Server::Server(asio::any_io_executor executor, const Router& router, ServerOptions options)
    : impl_(std::make_shared<Impl>(executor, router, std::move(options))) {}

Server::~Server() = default;

Result<void> Server::listen() {
  auto& im = *impl_;
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(im.options.host, ec);
  tcp::endpoint endpoint;
  if (!ec) {
    endpoint = tcp::endpoint(address, im.options.port);
  } else {
    tcp::resolver resolver(im.executor);
    auto results = resolver.resolve(im.options.host, std::to_string(im.options.port), ec);
    if (ec || results.empty()) {
      STRATA_LOG(error, "http: cannot resolve host '%s': %s", im.options.host.c_str(), ec.message().c_str());
      return make_error_code(Errc::invalid_argument);
    }
    endpoint = *results.begin();
  }
  im.acceptor.open(endpoint.protocol(), ec);
  if (!ec) im.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor.bind(endpoint, ec);
  if (!ec) im.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    STRATA_LOG(error, "http: cannot listen on %s:%u: %s", im.options.host.c_str(), im.options.port,
               ec.message().c_str());
    beast::error_code ignored;
    im.acceptor.close(ignored);
    return ec;
  }
  im.bound_port = im.acceptor.local_endpoint().port();
  return ok();
}

uint16_t Server::port() const { return impl_->bound_port; }

void Server::start() {
  impl_->task_started();
  auto self = impl_;
  asio::co_spawn(impl_->accept_strand, impl_->accept_loop(), [self](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        STRATA_LOG(error, "http: accept loop failed: %s", ex.what());
      } catch (...) {
        STRATA_LOG(error, "http: accept loop failed with an unknown exception");
      }
    }
    self->task_finished();
  });
}

asio::awaitable<void> Server::stop() {
  auto self = impl_;
  if (self->stopping.exchange(true)) {
    // A second stop() still waits for the drain (the oneshot below is awaited only once).
  }
  std::optional<Oneshot<int>> wait;
  {
    std::lock_guard lock(self->mu);
    if (self->active_tasks > 0 && !self->drained) {
      self->drained.emplace();
      wait = self->drained;
    }
    for (auto& [id, conn] : self->connections) {
      // Close idle connections; busy ones see `stopping` after their response.
      asio::post(conn->strand, [conn = conn] {
        if (conn->stream && conn->idle) conn->stream->cancel();
      });
    }
  }
  asio::post(self->accept_strand, [self] {
    beast::error_code ignored;
    self->acceptor.close(ignored);
  });
  if (wait) {
    int done = co_await wait->wait();
    (void)done;
  }
}

}  // namespace strata::net::http
