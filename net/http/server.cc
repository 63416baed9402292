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
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

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

namespace strata::net::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::asio::as_tuple;
using boost::asio::use_awaitable;

namespace {

// What stop() needs to reach one connection: its strand and, while the session runs, its stream.
// `stream` and `idle` are only touched on `strand`.
struct Connection {
  asio::any_io_executor strand;
  beast::tcp_stream* stream = nullptr;
  bool idle = false;  // waiting for the first byte of the next request
};

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

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::any_io_executor ex, const Router& r, ServerOptions o)
      : executor(ex), accept_strand(io::make_strand_executor(ex)), acceptor(accept_strand), router(r), options(std::move(o)) {}

  asio::any_io_executor executor;
  asio::any_io_executor accept_strand;
  tcp::acceptor acceptor;
  const Router& router;
  ServerOptions options;
  uint16_t bound_port = 0;

  std::atomic<bool> stopping{false};
  std::atomic<size_t> inflight_body_bytes{0};
  std::mutex mu;  // guards the fields below
  uint64_t next_id = 0;
  std::map<uint64_t, std::shared_ptr<Connection>> connections;
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
  asio::awaitable<void> session(std::shared_ptr<Connection> conn, beast::tcp_stream stream);
  // Writes `res` (head formatted into `head`, the connection's reusable buffer, then the body).
  asio::awaitable<bool> write(beast::tcp_stream& stream, std::string& head, const BeastRequest* req, Response res,
                              bool keep_alive);
  void spawn_session(tcp::socket socket);
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

}  // namespace

asio::awaitable<bool> Server::Impl::write(beast::tcp_stream& stream, std::string& head, const BeastRequest* req,
                                          Response res, bool keep_alive) {
  bool send_body = !status_has_no_body(res.status) && !(req && req->method() == bhttp::verb::head);
  HeadOptions ho{.server_name = options.server_name, .keep_alive = keep_alive, .http10_client = req && req->version() < 11};
  head.clear();
  // HEAD: the headers of the GET answer (Content-Length included), no body.
  append_response_head(res, bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(res.status))),
                       res.body.size(), ho, &head);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                            send_body ? asio::buffer(res.body) : asio::const_buffer()};
  stream.expires_after(std::chrono::milliseconds(options.io_timeout_ms));
  auto [ec, n] = co_await asio::async_write(stream, buffers, as_tuple(use_awaitable));
  if (ec) {
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
  beast::flat_buffer buffer;
  std::string head;  // the response head, reused by every response of this connection
  for (;;) {
    if (stopping.load()) break;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options.header_limit_bytes));
    parser.body_limit(options.body_limit_bytes);

    conn->idle = true;
    stream.expires_after(std::chrono::milliseconds(options.idle_timeout_ms));
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, as_tuple(use_awaitable));
    conn->idle = false;
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
        stream.expires_after(std::chrono::milliseconds(options.io_timeout_ms));
        auto [wec, wn] = co_await bhttp::async_write(stream, cont, as_tuple(use_awaitable));
        if (wec) break;
      }
      stream.expires_after(std::chrono::milliseconds(options.io_timeout_ms));
      auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, as_tuple(use_awaitable));
      ec = rec;
    }
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::eof) {
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
    auto req = to_request(breq);
    bool keep_alive = breq.keep_alive();
    Response res;
    if (!req) {
      res = error_response(400, "bad_request", "malformed request target");
    } else {
      res = co_await router.handle(std::move(*req));
    }
    if (stopping.load()) keep_alive = false;
    bool written = co_await write(stream, head, &breq, std::move(res), keep_alive);
    if (!written || !keep_alive) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void Server::Impl::spawn_session(tcp::socket socket) {
  auto conn = std::make_shared<Connection>();
  conn->strand = socket.get_executor();
  uint64_t id;
  {
    std::lock_guard lock(mu);
    if (connections.size() >= options.max_connections) {
      STRATA_LOG(warn, "http: %zu connections open, refusing one", connections.size());
      return;  // the socket closes when it goes out of scope
    }
    id = next_id++;
    connections.emplace(id, conn);
    ++active_tasks;
  }
  auto self = shared_from_this();
  asio::co_spawn(conn->strand, session(conn, beast::tcp_stream(std::move(socket))),
                 [self, id](std::exception_ptr e) {
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
                     self->connections.erase(id);
                   }
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
