#include "net/peer/peer_transport.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <system_error>
#include <thread>

#include "lib/io/strand.h"
#include "lib/raft/codec.h"
#include "lib/util/coding.h"
#include "lib/util/logging.h"
#include "lib/util/oneshot.h"
#include "net/peer/frame.h"
#include "net/peer/peer_auth.h"
#include "net/peer/peer_stream.h"
#include "net/tls/tls_context.h"

namespace strata::net::peer {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

bool split_host_port(const std::string& s, std::string* host, std::string* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  *host = s.substr(0, colon);
  *port = s.substr(colon + 1);
  return true;
}

// "::1" for "[::1]" (an IPv6 address in a peer address), else `host` as it is.
std::string unbracket(const std::string& host) {
  return host.size() >= 2 && host.front() == '[' && host.back() == ']' ? host.substr(1, host.size() - 2) : host;
}

std::optional<asio::ip::address> ip_literal(const std::string& host) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return a;
}

// PeerTransportOptions::resolve's default: getaddrinfo with asio's default flags (the address
// families configured on this host), addresses in getaddrinfo's order, each once. Blocks.
Result<std::vector<std::string>> lookup_host(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return make_error_code(Errc::unavailable);
  std::vector<std::string> out;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const void* bytes = nullptr;
    if (a->ai_family == AF_INET) bytes = &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
    if (a->ai_family == AF_INET6) bytes = &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
    char text[INET6_ADDRSTRLEN] = {};
    if (bytes != nullptr && ::inet_ntop(a->ai_family, bytes, text, sizeof text) != nullptr &&
        std::find(out.begin(), out.end(), text) == out.end()) {
      out.emplace_back(text);
    }
  }
  ::freeaddrinfo(found);
  if (out.empty()) return make_error_code(Errc::unavailable);
  return out;
}

// What the lookup threads share with the transport. A lookup thread posts its answer to
// `strand` only while the transport is open (closed is set, and strand dropped, by stop() and
// the destructor, under mu), so a lookup that ends after the transport, or its io_context, is
// gone touches neither.
struct Lookups {
  std::mutex mu;
  bool closed = false;
  std::optional<asio::any_io_executor> strand;
  size_t in_flight = 0;
  void close() {
    std::lock_guard lock(mu);
    closed = true;
    strand.reset();
  }
};

// A payload buffer grows by at least this much, and by at most what already arrived: its size
// stays below twice the bytes received plus this.
constexpr size_t kReadStepBytes = 64 << 10;

// What read_frame reports while it reads an inbound frame (nullptr for an outbound socket's).
struct FrameWatch {
  virtual ~FrameWatch() = default;
  // The first byte of a frame arrived: it must be complete by the frame deadline.
  virtual void frame_started() = 0;
  virtual void frame_finished() = 0;
  // The payload buffer of the frame being read grew (or was freed: negative).
  virtual void buffer_changed(int64_t delta_bytes) = 0;
};

// Reads one frame of at most max_payload bytes. Errors: io_error (the socket's) or corruption.
// Runs on: the socket's strand.
asio::awaitable<Result<std::pair<FrameType, std::string>>> read_frame(PeerStream& sock, uint32_t max_payload,
                                                                      FrameWatch* watch) {
  char hdr[kFrameHeaderBytes];
  // The first byte without a deadline: an idle connection between frames is fine.
  STRATA_CO_TRY_ASSIGN(size_t n, co_await sock.read_some(asio::buffer(hdr)));
  if (watch) watch->frame_started();
  if (n < sizeof hdr) STRATA_CO_TRY(co_await sock.read(asio::buffer(hdr + n, sizeof hdr - n)));
  STRATA_CO_TRY_ASSIGN(FrameHeader h, decode_frame_header(std::string_view(hdr, sizeof hdr)));
  if (h.length > max_payload) co_return make_error_code(Errc::corruption);
  // The buffer grows with the bytes that arrive: a header alone never buys its length in memory.
  std::string payload;
  int64_t accounted = 0;
  Result<void> status = ok();
  while (payload.size() < h.length) {
    size_t old = payload.size();
    size_t step = std::min<size_t>(h.length - old, std::max(kReadStepBytes, old));
    payload.resize(old + step);
    if (watch) {
      watch->buffer_changed(static_cast<int64_t>(payload.capacity()) - accounted);
      accounted = static_cast<int64_t>(payload.capacity());
    }
    status = co_await sock.read(asio::buffer(payload.data() + old, step));
    if (!status) break;
  }
  if (watch) {
    watch->buffer_changed(-accounted);
    watch->frame_finished();
  }
  STRATA_CO_TRY(status);
  STRATA_CO_TRY(check_frame_payload(h, payload));
  co_return std::make_pair(h.type, std::move(payload));
}

// TCP keepalive on an inbound connection: a peer that vanished without a FIN or RST (a host
// that lost power, a partition) releases its connection slot after about a minute.
void set_keepalive(tcp::socket& sock) {
  boost::system::error_code ignored;
  sock.set_option(asio::socket_base::keep_alive(true), ignored);
  int idle_s = 30, interval_s = 10, count = 3;
  ::setsockopt(sock.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s);
  ::setsockopt(sock.native_handle(), IPPROTO_TCP, TCP_KEEPINTVL, &interval_s, sizeof interval_s);
  ::setsockopt(sock.native_handle(), IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

// A link's outbound connection: keepalive as for inbound ones, and TCP_USER_TIMEOUT, so that a
// peer that vanished (sent bytes never acknowledged, or a window that stays closed) fails the
// link's next write within user_timeout_ms and the link dials again.
void set_link_timeouts(tcp::socket& sock, uint32_t user_timeout_ms) {
  set_keepalive(sock);
  unsigned int ms = user_timeout_ms;
  ::setsockopt(sock.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
}

}  // namespace

struct PeerTransport::Impl : std::enable_shared_from_this<Impl> {
  struct Link {
    std::string address;
    std::deque<std::string> queue;  // encoded frames
    size_t queued_bytes = 0;
    LinkFault fault;
    std::unique_ptr<asio::steady_timer> wake;
    std::unique_ptr<PeerStream> socket;
    bool running = false;
    // For the log: the link's last known state, so that only changes are logged (a peer that
    // stays down logs once, not at every retry).
    enum class State { unknown, up, down } state = State::unknown;
  };

  // One inbound connection. Its deadline timer is armed lazily: `deadline` is what counts, and
  // the timer, when it fires, closes the socket if the deadline passed or re-arms for it (so a
  // frame costs a clock read, not a timer operation). Strand only.
  struct Conn final : FrameWatch {
    Conn(Impl* impl, asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> tls)
        : impl(impl), sock(ex, std::move(tls)), timer(ex) {}
    Impl* impl;
    PeerStream sock;
    asio::steady_timer timer;
    std::string address;  // the remote address, for the per-address cap
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    bool timer_armed = false;
    uint64_t timer_generation = 0;  // a wait cancelled by a re-arm finds it changed
    bool handshake_done = false;    // the hello arrived: frames get frame_timeout_ms from now on
    bool timed_out = false;
    bool closed = false;
    std::weak_ptr<Conn> self;

    void set_deadline(uint32_t ms) {
      deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
      // An armed timer that fires no later than the deadline re-arms for it then.
      if (!timer_armed || deadline < timer.expiry()) arm();
    }
    void arm() {
      timer_armed = true;
      timer.expires_at(deadline);
      timer.async_wait([c = self.lock(), g = ++timer_generation](boost::system::error_code) {
        if (g == c->timer_generation) c->on_timer();
      });
    }
    void on_timer() {
      timer_armed = false;
      if (closed || deadline == std::chrono::steady_clock::time_point::max()) return;
      if (std::chrono::steady_clock::now() < deadline) return arm();
      timed_out = true;
      sock.close();
    }
    // Before the hello, the handshake deadline set at the accept stands.
    void frame_started() override {
      if (handshake_done) set_deadline(impl->opts.frame_timeout_ms);
    }
    // During the handshake the deadline set at the accept covers every frame of it.
    void frame_finished() override {
      if (handshake_done) deadline = std::chrono::steady_clock::time_point::max();
    }
    void buffer_changed(int64_t delta) override {
      impl->inbound_buffer_bytes.fetch_add(delta, std::memory_order_relaxed);
    }
  };

  Impl(asio::any_io_executor ex, PeerTransportOptions o, replication::TransportHandler* h)
      : executor(ex),
        strand(io::make_strand_executor(ex)),
        opts(std::move(o)),
        handler(h),
        acceptor(strand),
        auth(opts.secret, opts.random ? *opts.random : OsRandomBytes::instance()) {
    opts.max_frame_bytes = std::min(opts.max_frame_bytes, kMaxFramePayloadBytes);
    stats.max_frame_bytes = opts.max_frame_bytes;
    stats.max_inbound_connections = opts.max_inbound_connections;
    stats.max_inbound_per_address = opts.max_inbound_per_address;
    stats.handshake_timeout_ms = opts.handshake_timeout_ms;
    stats.frame_timeout_ms = opts.frame_timeout_ms;
    stats.authenticated = !opts.secret.empty();
    stats.tls = opts.tls != nullptr;
    lookups->strand = strand;
  }

  asio::any_io_executor executor;
  asio::any_io_executor strand;  // see lib/io/strand.h
  PeerTransportOptions opts;
  replication::TransportHandler* handler;
  tcp::acceptor acceptor;
  PeerAuth auth;  // its RandomBytes is drawn from on the strand only
  std::shared_ptr<Lookups> lookups = std::make_shared<Lookups>();
  // Strand-only state:
  std::set<asio::steady_timer*> lookup_waits;  // connect() attempts waiting for a lookup; stop() ends them
  // The last addresses each host name resolved to, dialled while a lookup fails or times out
  // (the DNS server is down), and the names being dialled so (for the log).
  std::map<std::string, std::vector<asio::ip::address>> last_addresses;
  std::set<std::string> stale_hosts;
  std::set<std::string> priming;  // names prime() is looking up
  std::map<uint64_t, Link> links;
  std::set<std::shared_ptr<PeerStream>> inbound;  // closed by stop(): inbound and snapshot streams
  size_t inbound_count = 0;                       // accepted connections open
  std::map<std::string, size_t> inbound_by_address;
  bool started = false;
  bool stopping = false;
  std::mt19937_64 rng{std::random_device{}()};
  // Any thread:
  std::atomic<int> live{0};
  std::atomic<uint64_t> snapshot_counter{0};
  std::atomic<int64_t> inbound_buffer_bytes{0};  // the gauge, kept out of stats_mu (per frame)
  mutable std::mutex stats_mu;
  PeerTransportStats stats;

  // Adds n to a counter; returns its new value.
  uint64_t count(uint64_t PeerTransportStats::* field, uint64_t n = 1) {
    std::lock_guard lock(stats_mu);
    return stats.*field += n;
  }

  // A handshake refused (either side): counted in `counter` (auth_failures: a wrong MAC or a
  // certificate for another node; tls_handshake_failures: the TLS handshake failed), and logged for
  // the 1st, 2nd, 4th, 8th, ... one, so that a flood of forged hellos logs little.
  void auth_failed(const char* direction, uint64_t peer, const std::string& address, const std::string& why,
                   uint64_t PeerTransportStats::* counter = &PeerTransportStats::auth_failures) {
    uint64_t n = count(counter);
    if ((n & (n - 1)) == 0) {
      // An inbound connection refused before its hello names no node.
      std::string who = peer == 0 ? "a peer that named no node" : "node " + std::to_string(peer);
      STRATA_LOG(warn, "peer transport: refused the %s handshake %s %s (%s): %s; %llu refused so far", direction,
                 direction[0] == 'i' ? "from" : "to", who.c_str(), address.c_str(), why.c_str(),
                 static_cast<unsigned long long>(n));
    }
  }

  // Strand only.
  Link& link(uint64_t id) {
    Link& l = links[id];
    if (!l.wake) {
      l.wake = std::make_unique<asio::steady_timer>(strand);
      l.wake->expires_at(asio::steady_timer::time_point::max());
    }
    return l;
  }

  void ensure_running(uint64_t id) {
    Link& l = link(id);
    if (l.running || !started || stopping || l.address.empty()) return;
    l.running = true;
    spawn(run_link(id));
  }

  void spawn(asio::awaitable<void> aw) {
    live.fetch_add(1);
    auto self = shared_from_this();
    asio::co_spawn(strand, std::move(aw), [self](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          STRATA_LOG(error, "peer transport: task failed: %s", ex.what());
        }
      }
      self->live.fetch_sub(1);
    });
  }

  void enqueue(uint64_t to, std::string frame) {
    if (stopping) return;
    Link& l = link(to);
    if (l.address.empty() || l.fault.cut ||
        (l.fault.drop_probability > 0 &&
         std::uniform_real_distribution<double>(0, 1)(rng) < l.fault.drop_probability) ||
        l.queued_bytes + frame.size() > opts.max_queue_bytes) {
      count(&PeerTransportStats::dropped);
      return;
    }
    l.queued_bytes += frame.size();
    l.queue.push_back(std::move(frame));
    l.wake->cancel();
    ensure_running(to);
  }

  // The TLS context for a new connection (the one reloaded last), or nullptr: plain TCP.
  std::shared_ptr<asio::ssl::context> tls_context() const { return opts.tls ? opts.tls->current() : nullptr; }

  // The IP addresses of `host`: itself when it is one, else a lookup on a thread of its own
  // (PeerTransportOptions::resolve), waited for at most connect_timeout_ms; a lookup still
  // running then is abandoned (it ends by itself, its answer dropped). When the lookup fails or
  // times out, the addresses of the last lookup that succeeded, if any: a DNS server that is down
  // (podman's was for 30-40 s after a container stopped) must not keep the survivors of a crash
  // from reaching each other, and start() looks every peer up until it has an address (prime).
  // Errors: unavailable
  // (no address and none known, kMaxLookupsInFlight reached, stopping). Runs on: the strand.
  asio::awaitable<Result<std::vector<asio::ip::address>>> resolve(std::string host) {
    if (auto literal = ip_literal(host)) co_return std::vector<asio::ip::address>{*literal};
    auto fresh = co_await look_up(host);
    if (fresh) {
      if (stale_hosts.erase(host) > 0) STRATA_LOG(info, "peer transport: %s resolves again", host.c_str());
      last_addresses[host] = *fresh;
      co_return fresh;
    }
    auto last = last_addresses.find(host);
    if (last == last_addresses.end() || stopping) co_return fresh.error();
    if (stale_hosts.insert(host).second) {
      STRATA_LOG(warn,
                 "peer transport: cannot look up %s (no answer within %u ms, or no address); dialling the "
                 "address it last resolved to, %s, until it resolves again",
                 host.c_str(), opts.connect_timeout_ms, last->second.front().to_string().c_str());
    }
    co_return last->second;
  }

  // Looks a peer's host name up until a lookup succeeds (with the links' backoff), so that
  // resolve() has an address to fall back on for every peer, also one this node has not dialled
  // (a follower sends nothing to the other followers until an election) and one whose name did
  // not exist yet when this node started (its container or pod was created later). Spawned by
  // start(), one per name. Runs on: the strand, until it succeeds or stop().
  asio::awaitable<void> prime(std::string host) {
    uint32_t backoff = opts.min_backoff_ms;
    while (!stopping && !last_addresses.contains(host)) {
      auto found = co_await look_up(host);
      if (found) {
        last_addresses[host] = std::move(*found);
        break;
      }
      co_await sleep_ms(backoff);
      backoff = std::min(backoff * 2, opts.max_backoff_ms);
    }
    priming.erase(host);
  }

  // Starts prime() for the host name of `address` ("HOST:PORT") unless it is an IP address, has
  // an address already or is being primed. Strand only.
  void prime_address(const std::string& address) {
    std::string host, port;
    if (!split_host_port(address, &host, &port)) return;
    host = unbracket(host);
    if (ip_literal(host) || last_addresses.contains(host) || !priming.insert(host).second) return;
    spawn(prime(host));
  }

  // resolve() without the fallback. Runs on: the strand.
  asio::awaitable<Result<std::vector<asio::ip::address>>> look_up(std::string host) {
    {
      std::lock_guard lock(lookups->mu);
      if (lookups->closed || lookups->in_flight >= kMaxLookupsInFlight) co_return make_error_code(Errc::unavailable);
      ++lookups->in_flight;
    }
    using Answer = std::optional<Result<std::vector<std::string>>>;
    auto answer = std::make_shared<Answer>();
    auto timer = std::make_shared<asio::steady_timer>(strand);
    timer->expires_after(std::chrono::milliseconds(opts.connect_timeout_ms));
    bool started = true;
    try {
      // The thread holds only weak references to the wait: an abandoned one is freed here.
      std::thread([shared = lookups, fn = opts.resolve, host, weak_answer = std::weak_ptr<Answer>(answer),
                   weak_timer = std::weak_ptr<asio::steady_timer>(timer)] {
        Result<std::vector<std::string>> r = fn ? fn(host) : lookup_host(host);
        std::lock_guard lock(shared->mu);
        --shared->in_flight;
        if (shared->closed) return;
        asio::post(*shared->strand, [weak_answer, weak_timer, r = std::move(r)]() mutable {
          auto a = weak_answer.lock();
          auto t = weak_timer.lock();
          if (!a || !t) return;  // the attempt gave up waiting
          *a = std::move(r);
          t->cancel();
        });
      }).detach();
    } catch (const std::system_error&) {  // no thread to be had
      std::lock_guard lock(lookups->mu);
      --lookups->in_flight;
      started = false;
    }
    if (!started) co_return make_error_code(Errc::unavailable);
    lookup_waits.insert(timer.get());
    auto [wait_ec] = co_await timer->async_wait(kTuple);
    (void)wait_ec;
    lookup_waits.erase(timer.get());
    // No answer yet: timed out, or stop() ended the wait.
    if (!answer->has_value() || !answer->value()) co_return make_error_code(Errc::unavailable);
    std::vector<asio::ip::address> out;
    for (const std::string& text : *answer->value()) {
      if (auto a = ip_literal(text)) out.push_back(*a);
    }
    if (out.empty()) co_return make_error_code(Errc::unavailable);
    co_return out;
  }

  // Connects to `peer` at `address` and runs the opener's side of the handshake (with TLS, the
  // TLS handshake and the check that the certificate names `peer`; the hello; with a secret, the
  // challenge is checked and answered), all within connect_timeout_ms.
  // Runs on: the strand.
  asio::awaitable<Result<std::unique_ptr<PeerStream>>> connect(uint64_t peer, std::string address) {
    std::string host, port;
    uint16_t port_number = 0;
    if (!split_host_port(address, &host, &port) ||
        std::from_chars(port.data(), port.data() + port.size(), port_number).ptr != port.data() + port.size()) {
      co_return make_error_code(Errc::invalid_argument);
    }
    auto addresses = co_await resolve(unbracket(host));
    if (!addresses) co_return addresses.error();
    std::vector<tcp::endpoint> results;
    for (const auto& a : *addresses) results.emplace_back(a, port_number);
    auto sock = std::make_unique<PeerStream>(strand, tls_context());
    asio::steady_timer deadline(strand);
    deadline.expires_after(std::chrono::milliseconds(opts.connect_timeout_ms));
    PeerStream* raw = sock.get();
    bool expired = false;
    deadline.async_wait([raw, &expired](boost::system::error_code ec) {
      if (!ec) {
        expired = true;
        raw->close();
      }
    });
    auto [cec, ep] = co_await asio::async_connect(sock->socket(), results, kTuple);
    if (cec || !sock->is_open()) {
      deadline.cancel();
      co_return make_error_code(Errc::unavailable);
    }
    boost::system::error_code ignored;
    sock->socket().set_option(tcp::no_delay(true), ignored);
    if (sock->tls()) {
      std::string why;
      auto named = co_await sock->handshake(/*dialling=*/true, &why);
      if (!named || *named != peer) {
        deadline.cancel();
        if (!named && expired) co_return make_error_code(Errc::unavailable);
        if (named) why = "its certificate names node " + std::to_string(*named);
        auth_failed("outbound", peer, address, why,
                    named ? &PeerTransportStats::auth_failures : &PeerTransportStats::tls_handshake_failures);
        co_return make_error_code(Errc::unavailable);
      }
    }
    std::string hello_payload = encode_hello(auth.make_hello(opts.node_id, opts.http_url));
    std::string frame;
    encode_frame(&frame, FrameType::hello, hello_payload);
    auto wrote = co_await sock->write(asio::buffer(frame));
    if (!wrote || !auth.enabled()) {
      deadline.cancel();
      if (!wrote) co_return make_error_code(Errc::unavailable);
      co_return sock;
    }
    auto challenge = co_await read_frame(*sock, kMaxHelloPayloadBytes, nullptr);
    if (!challenge || challenge->first != FrameType::challenge) {
      deadline.cancel();
      // The receiver closed the connection: it has another secret, or none, or is not a Strata node.
      if (!challenge && challenge.error() == make_error_code(Errc::io_error))
        co_return make_error_code(Errc::unavailable);
      auth_failed("outbound", peer, address, "it did not answer with a challenge");
      co_return make_error_code(Errc::unavailable);
    }
    auto answer = auth.answer(hello_payload, peer, challenge->second);
    if (!answer) {
      deadline.cancel();
      auth_failed("outbound", peer, address, "its challenge carries a wrong MAC or another node id (another secret?)");
      co_return make_error_code(Errc::unavailable);
    }
    frame.clear();
    encode_frame(&frame, FrameType::auth, *answer);
    auto answered = co_await sock->write(asio::buffer(frame));
    deadline.cancel();
    if (!answered || !sock->is_open()) co_return make_error_code(Errc::unavailable);
    co_return sock;
  }

  asio::awaitable<void> wait_wake(Link& l) {
    auto [ec] = co_await l.wake->async_wait(kTuple);
    (void)ec;
    l.wake->expires_at(asio::steady_timer::time_point::max());
  }

  asio::awaitable<void> sleep_ms(uint32_t ms) {
    asio::steady_timer t(strand);
    t.expires_after(std::chrono::milliseconds(ms));
    auto [ec] = co_await t.async_wait(kTuple);
    (void)ec;
  }

  // One outbound link: connect, drain the queue, reconnect with backoff on errors.
  // Runs on: the strand, until stop().
  asio::awaitable<void> run_link(uint64_t id) {
    uint32_t backoff = opts.min_backoff_ms;
    while (!stopping) {
      if (links[id].queue.empty()) {
        co_await wait_wake(links[id]);
        continue;
      }
      auto sock = co_await connect(id, links[id].address);
      if (stopping) break;
      if (!sock) {
        if (links[id].state != Link::State::down) {
          STRATA_LOG(warn, "peer transport: cannot reach node %llu at %s; retrying (every %u ms at most)",
                     static_cast<unsigned long long>(id), links[id].address.c_str(), opts.max_backoff_ms);
          links[id].state = Link::State::down;
        }
        co_await sleep_ms(backoff);
        backoff = std::min(backoff * 2, opts.max_backoff_ms);
        continue;
      }
      backoff = opts.min_backoff_ms;
      count(&PeerTransportStats::connects);
      if (links[id].state != Link::State::up) {
        STRATA_LOG(info, "peer transport: connected to node %llu at %s%s", static_cast<unsigned long long>(id),
                   links[id].address.c_str(), links[id].state == Link::State::down ? " (reachable again)" : "");
        links[id].state = Link::State::up;
      }
      set_link_timeouts((*sock)->socket(), opts.user_timeout_ms);
      links[id].socket = std::move(*sock);
      std::string batch;
      while (!stopping) {
        Link& l = links[id];
        if (l.queue.empty()) {
          co_await wait_wake(l);
          continue;
        }
        batch.clear();
        uint64_t frames = 0;
        while (!l.queue.empty() && (batch.empty() || batch.size() + l.queue.front().size() <= (4u << 20))) {
          batch += l.queue.front();
          l.queued_bytes -= l.queue.front().size();
          l.queue.pop_front();
          ++frames;
        }
        if (l.fault.delay_ms > 0) co_await sleep_ms(l.fault.delay_ms);
        if (links[id].fault.cut || !links[id].socket) continue;  // cut while delayed: lost
        auto wrote = co_await links[id].socket->write(asio::buffer(batch));
        if (!wrote) {
          if (!stopping) {
            STRATA_LOG(info, "peer transport: lost the connection to node %llu at %s; reconnecting",
                       static_cast<unsigned long long>(id), links[id].address.c_str());
          }
          if (links[id].socket) links[id].socket->close();
          links[id].socket.reset();
          break;
        }
        count(&PeerTransportStats::frames_sent, frames);
      }
    }
    links[id].running = false;
  }

  asio::awaitable<void> accept_loop() {
    while (!stopping) {
      auto conn = std::make_shared<Conn>(this, strand, tls_context());
      conn->self = conn;
      auto [ec] = co_await acceptor.async_accept(conn->sock.socket(), kTuple);
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) break;
        co_await sleep_ms(10);
        continue;
      }
      boost::system::error_code ignored;
      auto remote = conn->sock.socket().remote_endpoint(ignored);
      conn->address = remote.address().to_string();
      size_t& from_address = inbound_by_address[conn->address];
      if (inbound_count >= opts.max_inbound_connections || from_address >= opts.max_inbound_per_address) {
        if (from_address == 0) inbound_by_address.erase(conn->address);
        uint64_t refused = 0;
        {
          std::lock_guard lock(stats_mu);
          refused = ++stats.connections_refused;
        }
        if ((refused & (refused - 1)) == 0) {  // the 1st, 2nd, 4th, 8th, ...: a flood logs little
          STRATA_LOG(warn,
                     "peer transport: refused a connection from %s (%zu open, %zu from that address); %llu refused",
                     conn->address.c_str(), inbound_count, from_address, static_cast<unsigned long long>(refused));
        }
        conn->sock.close();
        continue;
      }
      ++from_address;
      ++inbound_count;
      {
        std::lock_guard lock(stats_mu);
        stats.inbound_connections = inbound_count;
      }
      conn->sock.socket().set_option(tcp::no_delay(true), ignored);
      set_keepalive(conn->sock.socket());
      conn->set_deadline(opts.handshake_timeout_ms);  // the hello must arrive by then
      inbound.insert(std::shared_ptr<PeerStream>(conn, &conn->sock));
      spawn(serve(conn));
    }
  }

  // The receiver's side of the handshake: with TLS, the TLS handshake; the hello (with TLS it
  // must claim the node its certificate names); with a secret, the challenge and the opener's auth
  // frame (every frame of it a hello's size at most, all within the handshake deadline set at the
  // accept). Errors: corruption (protocol error: a malformed frame, another frame first, a hello
  // claiming our own id), permission_denied (auth failure, reason in *why; *tls_failed when the
  // TLS handshake itself failed), io_error. Runs on: the strand.
  asio::awaitable<Result<Hello>> handshake(Conn& conn, std::string* why, uint64_t* claimed_id, bool* tls_failed) {
    uint64_t certified = 0;
    if (conn.sock.tls()) {
      auto named = co_await conn.sock.handshake(/*dialling=*/false, why);
      if (!named) {
        *tls_failed = !conn.timed_out;  // a handshake cut by the deadline is a timeout
        co_return conn.timed_out ? make_error_code(Errc::io_error) : named.error();
      }
      certified = *named;
      *claimed_id = certified;
    }
    auto frame = co_await read_frame(conn.sock, kMaxHelloPayloadBytes, &conn);
    if (!frame) co_return frame.error();
    count(&PeerTransportStats::frames_received);
    if (frame->first != FrameType::hello) co_return make_error_code(Errc::corruption);
    const std::string& hello_payload = frame->second;
    STRATA_CO_TRY_ASSIGN(Hello hello, decode_hello(hello_payload));
    *claimed_id = hello.node_id;
    // One that claims this node's own id is not something a peer sends.
    if (hello.node_id == opts.node_id) co_return make_error_code(Errc::corruption);
    if (conn.sock.tls() && hello.node_id != certified) {
      *why = "its hello claims node " + std::to_string(hello.node_id) + " but its certificate names node " +
             std::to_string(certified);
      co_return make_error_code(Errc::permission_denied);
    }
    STRATA_CO_TRY(auth.accept_version(hello, why));
    if (!auth.enabled()) co_return hello;
    PeerAuth::Issued issued = auth.challenge(hello_payload, opts.node_id);
    std::string out;
    encode_frame(&out, FrameType::challenge, issued.payload);
    STRATA_CO_TRY(co_await conn.sock.write(asio::buffer(out)));
    auto reply = co_await read_frame(conn.sock, kMaxHelloPayloadBytes, &conn);
    if (!reply) co_return reply.error();
    count(&PeerTransportStats::frames_received);
    if (reply->first != FrameType::auth) {
      *why = "it answered the challenge with another frame than auth";
      co_return make_error_code(Errc::permission_denied);
    }
    auto checked = auth.check_auth(hello_payload, opts.node_id, issued.nonce, reply->second);
    if (!checked) {
      *why = "wrong MAC (another secret, or a replayed handshake)";
      co_return checked.error();
    }
    co_return hello;
  }

  // One inbound connection. Runs on: the strand.
  asio::awaitable<void> serve(std::shared_ptr<Conn> conn) {
    std::shared_ptr<PeerStream> sock(conn, &conn->sock);
    uint64_t from = 0;
    bool protocol_error = false;
    std::string why;
    uint64_t claimed_id = 0;
    bool tls_failed = false;
    auto hello = co_await handshake(*conn, &why, &claimed_id, &tls_failed);
    if (hello) {
      from = hello->node_id;
      conn->handshake_done = true;
      conn->deadline = std::chrono::steady_clock::time_point::max();  // idle between frames is fine
      if (handler) handler->on_peer_hello(from, hello->http_url);
    } else if (hello.error() == make_error_code(Errc::permission_denied)) {
      auth_failed("inbound", claimed_id, conn->address, why,
                  tls_failed ? &PeerTransportStats::tls_handshake_failures : &PeerTransportStats::auth_failures);
    } else {
      protocol_error = hello.error() == make_error_code(Errc::corruption);
    }
    while (from != 0 && !stopping) {
      auto frame = co_await read_frame(*sock, opts.max_frame_bytes, conn.get());
      if (!frame) {
        protocol_error = frame.error() == make_error_code(Errc::corruption);
        break;
      }
      count(&PeerTransportStats::frames_received);
      auto& [type, payload] = *frame;
      if (type == FrameType::raft) {
        auto m = raft::decode_message(payload);
        if (!m || m->from != from || m->type == raft::MessageType::snap) {
          protocol_error = true;
          break;
        }
        if (handler) handler->on_message(std::move(*m));
      } else if (type == FrameType::snap_chunk) {
        auto chunk = decode_snapshot_chunk(payload);
        if (!chunk || !handler) {
          protocol_error = !chunk;
          break;
        }
        auto r = co_await handler->on_snapshot_chunk(from, std::move(*chunk));
        if (!r) break;
      } else if (type == FrameType::snap_end) {
        std::string_view in = payload;
        uint64_t snapshot_id = 0;
        if (!get_varint64(&in, &snapshot_id)) {
          protocol_error = true;
          break;
        }
        auto m = raft::decode_message(in);
        if (!m || m->from != from || m->type != raft::MessageType::snap || !handler) {
          protocol_error = true;
          break;
        }
        auto r = co_await handler->on_snapshot_end(snapshot_id, std::move(*m));
        std::string ack_payload;
        put_varint64(&ack_payload, snapshot_id);
        ack_payload.push_back(static_cast<char>(
            r ? 0
              : (r.error().category() == strata_category() ? r.error().value() : static_cast<int>(Errc::io_error))));
        std::string ack;
        encode_frame(&ack, FrameType::snap_ack, ack_payload);
        if (!co_await sock->write(asio::buffer(ack))) break;
      } else {
        protocol_error = true;
        break;
      }
    }
    if (protocol_error) {
      count(&PeerTransportStats::protocol_errors);
      STRATA_LOG(warn, "peer transport: protocol error on a connection from node %llu (%s), closed",
                 static_cast<unsigned long long>(from), conn->address.c_str());
    } else if (conn->timed_out) {
      count(&PeerTransportStats::timeouts);
      STRATA_LOG(warn, "peer transport: a connection from node %llu (%s) sent no %s in time, closed",
                 static_cast<unsigned long long>(from), conn->address.c_str(),
                 from == 0 ? "hello (or auth)" : "whole frame");
    }
    conn->closed = true;
    conn->timer.cancel();
    sock->close();
    inbound.erase(sock);
    --inbound_count;
    if (--inbound_by_address[conn->address] == 0) inbound_by_address.erase(conn->address);
    std::lock_guard lock(stats_mu);
    stats.inbound_connections = inbound_count;
  }

  // Runs on: the strand.
  asio::awaitable<Result<void>> do_send_snapshot(raft::Message m, replication::SnapshotSource& src) {
    Link& l = link(m.to);
    if (l.address.empty() || l.fault.cut) co_return make_error_code(Errc::unavailable);
    STRATA_CO_TRY_ASSIGN(auto sock, co_await connect(m.to, l.address));
    std::shared_ptr<PeerStream> shared(std::move(sock));
    inbound.insert(shared);  // closed by stop() like the inbound ones
    asio::steady_timer deadline(strand);
    deadline.expires_after(std::chrono::milliseconds(opts.snapshot_timeout_ms));
    bool expired = false;
    deadline.async_wait([shared, &expired](boost::system::error_code ec) {
      if (!ec) {
        expired = true;
        shared->close();
      }
    });
    auto result = co_await stream_snapshot(*shared, std::move(m), src);
    deadline.cancel();
    inbound.erase(shared);
    shared->close();
    if (!result && expired) co_return make_error_code(Errc::timed_out);
    co_return result;
  }

  asio::awaitable<Result<void>> stream_snapshot(PeerStream& sock, raft::Message m, replication::SnapshotSource& src) {
    std::string frame;
    for (;;) {
      STRATA_CO_TRY_ASSIGN(auto chunk, co_await src.next());
      if (!chunk) break;
      frame.clear();
      encode_frame(&frame, FrameType::snap_chunk, encode_snapshot_chunk(*chunk));
      STRATA_CO_TRY(co_await sock.write(asio::buffer(frame)));
    }
    std::string end_payload;
    put_varint64(&end_payload, src.snapshot_id());
    end_payload += raft::encode_message(m);
    frame.clear();
    encode_frame(&frame, FrameType::snap_end, end_payload);
    STRATA_CO_TRY(co_await sock.write(asio::buffer(frame)));
    STRATA_CO_TRY_ASSIGN(auto ack, co_await read_frame(sock, opts.max_frame_bytes, nullptr));
    std::string_view in = ack.second;
    uint64_t id = 0;
    if (ack.first != FrameType::snap_ack || !get_varint64(&in, &id) || id != src.snapshot_id() || in.size() != 1) {
      co_return make_error_code(Errc::corruption);
    }
    if (in[0] != 0) co_return make_error_code(static_cast<Errc>(static_cast<uint8_t>(in[0])));
    co_return ok();
  }
};

PeerTransport::PeerTransport(asio::any_io_executor executor, PeerTransportOptions options,
                             replication::TransportHandler* handler)
    : impl_(std::make_shared<Impl>(executor, std::move(options), handler)) {
  for (const auto& [id, addr] : impl_->opts.peers) {
    if (id != impl_->opts.node_id) impl_->links[id].address = addr;
  }
}

PeerTransport::~PeerTransport() { impl_->lookups->close(); }

Result<void> PeerTransport::listen() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(impl_->opts.listen_host, ec);
  if (ec) return make_error_code(Errc::invalid_argument);
  tcp::endpoint ep(addr, impl_->opts.listen_port);
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec == asio::error::address_in_use ? make_error_code(Errc::busy) : make_error_code(Errc::io_error);
  return ok();
}

uint16_t PeerTransport::port() const { return impl_->acceptor.local_endpoint().port(); }

void PeerTransport::start() {
  auto impl = impl_;
  asio::post(impl->strand, [impl] {
    impl->started = true;
    impl->spawn(impl->accept_loop());
    for (auto& [id, l] : impl->links) {
      impl->prime_address(l.address);
      impl->ensure_running(id);
    }
  });
}

asio::awaitable<void> PeerTransport::stop() {
  auto impl = impl_;
  impl->lookups->close();
  asio::post(impl->strand, [impl] {
    impl->stopping = true;
    for (auto* t : impl->lookup_waits) t->cancel();
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    for (auto& s : impl->inbound) s->close();
    for (auto& [id, l] : impl->links) {
      if (l.socket) l.socket->close();
      if (l.wake) l.wake->cancel();
    }
  });
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (int i = 0; i < 400 && impl->live.load() > 0; ++i) {
    t.expires_after(std::chrono::milliseconds(5));
    auto [ec] = co_await t.async_wait(kTuple);
    (void)ec;
  }
}

void PeerTransport::send(raft::Message m) {
  std::string frame;
  encode_frame(&frame, FrameType::raft, raft::encode_message(m));
  auto impl = impl_;
  asio::post(impl->strand, [impl, to = m.to, f = std::move(frame)]() mutable { impl->enqueue(to, std::move(f)); });
}

asio::awaitable<Result<void>> PeerTransport::send_snapshot(raft::Message m, replication::SnapshotSource& src) {
  auto impl = impl_;
  Oneshot<Result<void>> done;
  impl->live.fetch_add(1);
  asio::co_spawn(impl->strand, impl->do_send_snapshot(std::move(m), src),
                 [impl, done](std::exception_ptr e, Result<void> r) {
                   impl->live.fetch_sub(1);
                   done.set(e ? Result<void>(make_error_code(Errc::io_error)) : r);
                 });
  co_return co_await done.wait();
}

void PeerTransport::set_peer_address(uint64_t id, std::string host_port) {
  auto impl = impl_;
  asio::post(impl->strand, [impl, id, a = std::move(host_port)]() mutable {
    if (id == impl->opts.node_id) return;
    auto& l = impl->link(id);
    if (l.address == a) return;
    l.address = std::move(a);
    if (l.socket) l.socket->close();  // reconnect to the new address
    if (impl->started && !impl->stopping) impl->prime_address(l.address);
  });
}

void PeerTransport::set_link_fault(uint64_t to, LinkFault fault) {
  auto impl = impl_;
  asio::post(impl->strand, [impl, to, fault] {
    auto& l = impl->link(to);
    l.fault = fault;
    if (fault.cut) {
      l.queue.clear();
      l.queued_bytes = 0;
    }
  });
}

PeerTransportStats PeerTransport::stats() const {
  std::lock_guard lock(impl_->stats_mu);
  PeerTransportStats s = impl_->stats;
  s.inbound_buffer_bytes = static_cast<uint64_t>(std::max<int64_t>(0, impl_->inbound_buffer_bytes.load()));
  return s;
}

}  // namespace strata::net::peer
