// PeerTransport over loopback: delivery, reconnect with backoff to a peer that starts late, a
// peer named by a host name (and lookups that hang), the cut / drop / delay hooks, snapshot
// streaming with acknowledgement, a protocol error, and the inbound limits (buffers that grow
// with the bytes, frame and handshake deadlines, connection caps).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "lib/raft/codec.h"
#include "lib/util/coding.h"
#include "net/peer/peer_transport.h"
#include "net/peer/frame.h"
#include "tests/unit/peer/peer_test_util.h"

namespace strata::net::peer {
namespace {

using namespace testing;

struct Pair {
  Loop loop;
  Recorder r1, r2;
  uint16_t p1 = free_port(), p2 = free_port();
  std::unique_ptr<PeerTransport> t1, t2;

  PeerTransportOptions opts(uint64_t id, uint16_t port) {
    PeerTransportOptions o;
    o.node_id = id;
    o.listen_port = port;
    o.http_url = "http://127.0.0.1:" + std::to_string(8000 + id);
    o.peers = {{1, "127.0.0.1:" + std::to_string(p1)}, {2, "127.0.0.1:" + std::to_string(p2)}};
    return o;
  }
  void start(int which) {
    auto& t = which == 1 ? t1 : t2;
    t = std::make_unique<PeerTransport>(loop.io.get_executor(), opts(which, which == 1 ? p1 : p2),
                                        which == 1 ? &r1 : &r2);
    REQUIRE(t->listen().has_value());
    t->start();
  }
  ~Pair() {
    if (t1) loop.run(t1->stop());
    if (t2) loop.run(t2->stop());
  }
};

TEST_CASE("messages are delivered in order over loopback with the sender's hello") {
  Pair p;
  p.start(1);
  p.start(2);
  for (uint64_t i = 0; i < 500; ++i) p.t1->send(msg(1, 2, i));
  REQUIRE(wait_until([&] { return p.r2.count() == 500; }));
  std::lock_guard l(p.r2.mu);
  for (uint64_t i = 0; i < 500; ++i) CHECK(p.r2.msgs[i] == msg(1, 2, i));
  CHECK(p.r2.urls[1] == "http://127.0.0.1:8001");
}

TEST_CASE("a link reconnects with backoff to a peer that starts late") {
  Pair p;
  p.start(1);
  p.t1->send(msg(1, 2, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // several refused attempts
  p.start(2);
  REQUIRE(wait_until([&] { return p.r2.count() >= 1; }));
  // The receiver restarts: the sender notices on its next write and reconnects.
  p.loop.run(p.t2->stop());
  p.t2.reset();
  p.start(2);
  REQUIRE(wait_until([&] {
    p.t1->send(msg(1, 2, 2));
    return p.r2.count() >= 2;
  }));
  CHECK(p.t1->stats().connects >= 2);
}

// Containers and Kubernetes give peers DNS names (strata-1:9000, strata-0.strata-peer:9000), and
// a pod that restarts comes back at a new IP address under the same name: the dialler resolves
// the name when it connects, and again on every reconnect (deploy/README.md). "localhost" comes
// from /etc/hosts, so the test asks no DNS server.
TEST_CASE("a peer named by a host name is dialled by name, and dialled by name again after it restarts") {
  Pair p;
  p.start(2);
  auto named = p.opts(1, p.p1);
  named.peers[2] = "localhost:" + std::to_string(p.p2);
  p.t1 = std::make_unique<PeerTransport>(p.loop.io.get_executor(), named, &p.r1);
  REQUIRE(p.t1->listen().has_value());
  p.t1->start();
  p.t1->send(msg(1, 2, 1));
  REQUIRE(wait_until([&] { return p.r2.count() >= 1; }));
  {
    std::lock_guard l(p.r2.mu);
    CHECK(p.r2.urls[1] == "http://127.0.0.1:8001");
  }
  p.loop.run(p.t2->stop());
  p.t2.reset();
  p.start(2);
  REQUIRE(wait_until([&] {
    p.t1->send(msg(1, 2, 2));
    return p.r2.count() >= 2;
  }));
  CHECK(p.t1->stats().connects >= 2);
}

// A resolver whose lookups block until the test releases them: a DNS query that got lost, which
// the C library waits out for 5 s per try (30 s in all was seen under podman, after a container
// stopped and its DNS server reloaded: deploy/README.md).
struct HangingResolver {
  std::shared_ptr<std::promise<void>> release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released;  // after `release`, which it is made from
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> ended = std::make_shared<std::atomic<int>>(0);
  // Lookups number 0, 1, ...: the first fail_first fail at once (no such name yet), the next
  // answer_first answer at once, the next hang_next block (-1: all the others), the rest answer.
  int fail_first = 0;
  int answer_first = 0;
  int hang_next = 0;
  HangingResolver() : released(release->get_future().share()) {}
  std::function<Result<std::vector<std::string>>(const std::string&)> fn() const {
    // By value: a lookup outlives the transport and the test case's locals.
    return [released = released, calls = calls, ended = ended, fail = fail_first, answer = answer_first + fail_first,
            hang = hang_next](const std::string&) {
      int n = calls->fetch_add(1);
      if (n >= answer && (hang < 0 || n < answer + hang)) released.wait();
      ended->fetch_add(1);
      if (n < fail) return Result<std::vector<std::string>>(make_error_code(Errc::unavailable));
      return Result<std::vector<std::string>>(std::vector<std::string>{"127.0.0.1"});
    };
  }
};

TEST_CASE("a host name lookup that hangs costs one connect timeout: the next attempt looks the name up again") {
  Pair p;
  p.start(2);
  HangingResolver dns;
  dns.hang_next = 2;  // start()'s lookup and the first attempt's: no address is known yet
  auto o = p.opts(1, p.p1);
  o.peers[2] = "peer-two.test:" + std::to_string(p.p2);
  o.connect_timeout_ms = 100;
  o.resolve = dns.fn();
  p.t1 = std::make_unique<PeerTransport>(p.loop.io.get_executor(), o, &p.r1);
  REQUIRE(p.t1->listen().has_value());
  p.t1->start();
  p.t1->send(msg(1, 2, 1));
  // Delivered while the first two lookups still hang: a later attempt looked the name up afresh.
  REQUIRE(wait_until([&] { return p.r2.count() >= 1; }));
  CHECK(dns.calls->load() >= 3);
  CHECK(dns.ended->load() <= dns.calls->load() - 2);  // the two still hang
  dns.release->set_value();                           // the abandoned lookups end; their answers go nowhere
  REQUIRE(wait_until([&] { return dns.ended->load() == dns.calls->load(); }));
}

TEST_CASE("a name that resolved once is dialled at its last address while its lookups hang") {
  Pair p;
  p.start(2);
  HangingResolver dns;
  dns.fail_first = 3;    // the peer's name does not exist yet: start()'s lookups retry
  dns.answer_first = 1;  // until one succeeds; then the DNS server goes away
  dns.hang_next = -1;
  auto o = p.opts(1, p.p1);
  o.peers[2] = "peer-two.test:" + std::to_string(p.p2);
  o.connect_timeout_ms = 100;
  o.resolve = dns.fn();
  p.t1 = std::make_unique<PeerTransport>(p.loop.io.get_executor(), o, &p.r1);
  REQUIRE(p.t1->listen().has_value());
  p.t1->start();
  REQUIRE(wait_until([&] { return dns.ended->load() == 4; }));
  p.t1->send(msg(1, 2, 1));
  REQUIRE(wait_until([&] { return p.r2.count() >= 1; }));
  CHECK(dns.calls->load() >= 5);
  CHECK(dns.ended->load() == 4);
  dns.release->set_value();
  REQUIRE(wait_until([&] { return dns.ended->load() == dns.calls->load(); }));
}

TEST_CASE("a peer address set later (a membership change) is looked up before it is dialled, for the same fallback") {
  Pair p;
  p.start(2);
  HangingResolver dns;
  dns.answer_first = 1;
  dns.hang_next = -1;
  auto o = p.opts(1, p.p1);
  o.connect_timeout_ms = 100;
  o.resolve = dns.fn();
  p.t1 = std::make_unique<PeerTransport>(p.loop.io.get_executor(), o, &p.r1);
  REQUIRE(p.t1->listen().has_value());
  p.t1->start();
  p.t1->set_peer_address(2, "peer-two.test:" + std::to_string(p.p2));
  REQUIRE(wait_until([&] { return dns.ended->load() == 1; }));  // looked up with nothing to send
  p.t1->send(msg(1, 2, 1));
  REQUIRE(wait_until([&] { return p.r2.count() >= 1; }));
  CHECK(dns.ended->load() == 1);
  dns.release->set_value();
  REQUIRE(wait_until([&] { return dns.ended->load() == dns.calls->load(); }));
}

TEST_CASE("at most kMaxLookupsInFlight lookups hang at once; stop() waits for none, and they end after the transport") {
  Loop loop;
  Recorder r;
  HangingResolver dns;
  dns.hang_next = -1;
  PeerTransportOptions o;
  o.node_id = 1;
  o.listen_port = free_port();
  o.peers = {{2, "never-answers.test:9"}};
  o.connect_timeout_ms = 20;
  o.max_backoff_ms = 20;
  o.resolve = dns.fn();
  auto t = std::make_unique<PeerTransport>(loop.io.get_executor(), o, &r);
  REQUIRE(t->listen().has_value());
  t->start();
  t->send(msg(1, 2, 1));
  REQUIRE(wait_until([&] { return dns.calls->load() == static_cast<int>(kMaxLookupsInFlight); }));
  // The link goes on retrying (every 20 ms at most), but starts no lookup past the bound.
  CHECK_FALSE(wait_until([&] { return dns.calls->load() > static_cast<int>(kMaxLookupsInFlight); },
                         std::chrono::milliseconds(300)));
  auto before = Clock::now();
  loop.run(t->stop());
  CHECK(Clock::now() - before < std::chrono::milliseconds(1000));
  t.reset();
  dns.release->set_value();
  REQUIRE(wait_until([&] { return dns.ended->load() == static_cast<int>(kMaxLookupsInFlight); }));
}

// A killed container's address answers nothing: the connection to it neither fails nor drains.
// A listener that never accepts does the same on loopback: the kernel's buffers fill, the window
// closes, and nothing more is acknowledged (Linux aborts on TCP_USER_TIMEOUT then, since 5.0).
TEST_CASE("a link whose peer stops acknowledging is closed after user_timeout_ms and dialled again") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  Loop loop;
  Recorder r;
  PeerTransportOptions o;
  o.node_id = 1;
  o.listen_port = free_port();
  o.peers = {{2, "127.0.0.1:" + std::to_string(ntohs(a.sin_port))}};
  o.user_timeout_ms = 300;
  o.max_queue_bytes = 256 << 20;
  auto t = std::make_unique<PeerTransport>(loop.io.get_executor(), o, &r);
  REQUIRE(t->listen().has_value());
  t->start();
  raft::Message big = msg(1, 2, 1);
  big.entries[0].data.assign(1 << 20, 'x');
  REQUIRE(wait_until(
      [&] {
        if (t->stats().connects < 2) t->send(big);  // more than the socket buffers hold
        return t->stats().connects >= 2;
      },
      std::chrono::milliseconds(10000)));
  loop.run(t->stop());
  ::close(fd);
}

TEST_CASE("cut, drop and delay hooks act on one directed link") {
  Pair p;
  p.start(1);
  p.start(2);
  p.t1->set_link_fault(2, LinkFault{.cut = true});
  for (uint64_t i = 0; i < 50; ++i) p.t1->send(msg(1, 2, i));
  for (uint64_t i = 0; i < 50; ++i) p.t2->send(msg(2, 1, i));  // the other direction still works
  REQUIRE(wait_until([&] { return p.r1.count() == 50; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(p.r2.count() == 0);
  CHECK(p.t1->stats().dropped == 50);

  p.t1->set_link_fault(2, LinkFault{.drop_probability = 0.5});
  for (uint64_t i = 0; i < 400; ++i) p.t1->send(msg(1, 2, i));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  size_t got = p.r2.count();
  CHECK(got > 100);
  CHECK(got < 300);

  p.t1->set_link_fault(2, LinkFault{.delay_ms = 300});
  size_t before = p.r2.count();
  auto t0 = Clock::now();
  p.t1->send(msg(1, 2, 9999));
  REQUIRE(wait_until([&] { return p.r2.count() == before + 1; }));
  CHECK(Clock::now() - t0 >= std::chrono::milliseconds(290));
}

TEST_CASE("a snapshot is streamed in chunks and acknowledged; a cut link fails it") {
  Pair p;
  p.start(1);
  p.start(2);
  VectorSource src;
  src.chunks = {{42, "000005.sst", 0, std::string(kSnapshotChunkBytes, 'a')},
                {42, "000005.sst", kSnapshotChunkBytes, "tail"},
                {42, "MANIFEST-000007", 0, "manifest"}};
  raft::Message m;
  m.type = raft::MessageType::snap;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.snapshot = raft::Snapshot{raft::SnapshotMetadata{10, 3, {{1, 2}, {}}}, ""};
  auto r = p.loop.run(p.t1->send_snapshot(m, src));
  CHECK(r.has_value());
  {
    std::lock_guard l(p.r2.mu);
    CHECK(p.r2.chunks == src.chunks);
    CHECK(p.r2.snapshot_ends == std::vector<uint64_t>{42});
  }
  p.t1->set_link_fault(2, LinkFault{.cut = true});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  VectorSource src2;
  auto r2 = p.loop.run(p.t1->send_snapshot(m, src2));
  CHECK_FALSE(r2.has_value());
}

TEST_CASE("garbage on an inbound connection is a protocol error that closes it") {
  Pair p;
  p.start(2);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(p.p2);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  std::string junk(64, '\xff');
  REQUIRE(::send(fd, junk.data(), junk.size(), 0) == 64);
  char buf[16];
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  CHECK(::recv(fd, buf, sizeof buf, 0) <= 0);  // closed (FIN or RST: unread junk) by the transport
  ::close(fd);
  CHECK(wait_until([&] { return p.t2->stats().protocol_errors == 1; }));
  CHECK(p.r2.count() == 0);
}

// ---- Inbound limits (issue 18: bounded peer transport) ----

TEST_CASE("16 connections announcing 64 MiB frames and sending 9 bytes each hold no payload memory") {
  Limited l([](PeerTransportOptions&) {});
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 16; ++i) {
    clients.push_back(std::make_unique<RawClient>(l.port));
    clients.back()->hello(1);
    clients.back()->send_bytes(header_only(FrameType::raft, kMaxFramePayloadBytes));
    clients.back()->send_bytes("abc");  // a few payload bytes: the buffer exists, at its first step
  }
  REQUIRE(wait_until([&] { return l.t->stats().frames_received == 16 && l.t->stats().inbound_buffer_bytes > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  PeerTransportStats s = l.t->stats();
  MESSAGE("inbound_buffer_bytes=" << s.inbound_buffer_bytes << " (16 x 64 MiB announced)");
  // Issue 18: each header allocated its whole length (1 GiB for the 16). Now a frame's buffer is
  // one read step until more bytes arrive.
  CHECK(s.inbound_buffer_bytes <= 16 * (128u << 10));
  CHECK(s.inbound_connections == 16);
  clients.clear();
  REQUIRE(wait_until([&] { return l.t->stats().inbound_connections == 0; }));
  CHECK(l.t->stats().inbound_buffer_bytes == 0);
}

TEST_CASE("a 5 MiB frame arrives whole through the buffer that grows as its bytes arrive") {
  Limited l([](PeerTransportOptions&) {});
  RawClient c(l.port);
  c.hello(1);
  raft::Message big = msg(1, 2, 1);
  big.entries[0].data = std::string(5 << 20, 'z');
  big.entries[0].data[12345] = 'q';
  c.send_frame(FrameType::raft, raft::encode_message(big));
  REQUIRE(wait_until([&] { return l.r.count() == 1; }));
  std::lock_guard lock(l.r.mu);
  CHECK(l.r.msgs[0] == big);
  CHECK(l.t->stats().inbound_buffer_bytes == 0);
}

TEST_CASE("a first frame larger than a hello, or over max_frame_bytes after it, is refused before it is read") {
  Limited l([](PeerTransportOptions& o) { o.max_frame_bytes = 1 << 20; });
  RawClient before_hello(l.port);
  before_hello.send_bytes(header_only(FrameType::hello, kMaxFramePayloadBytes));
  CHECK(before_hello.closed_within(std::chrono::milliseconds(5000)));
  RawClient after_hello(l.port);
  after_hello.hello(1);
  after_hello.send_bytes(header_only(FrameType::raft, (1 << 20) + 1));
  CHECK(after_hello.closed_within(std::chrono::milliseconds(5000)));
  CHECK(wait_until([&] { return l.t->stats().protocol_errors == 2; }));
  CHECK(l.t->stats().max_frame_bytes == 1 << 20);
}

TEST_CASE(
    "a connection that stalls inside a frame is closed at the frame deadline; one without a hello at the handshake deadline") {
  Limited l([](PeerTransportOptions& o) {
    o.frame_timeout_ms = 200;
    o.handshake_timeout_ms = 300;
  });
  RawClient silent(l.port);  // never says hello
  RawClient partial(l.port);
  partial.hello(1);
  std::string frame;
  raft::Message m = msg(1, 2, 7);
  encode_frame(&frame, FrameType::raft, raft::encode_message(m));
  partial.send_bytes(std::string_view(frame).substr(0, 5));  // part of the header, then nothing
  auto t0 = Clock::now();
  CHECK(partial.closed_within(std::chrono::milliseconds(5000)));
  CHECK(silent.closed_within(std::chrono::milliseconds(5000)));
  auto waited = Clock::now() - t0;
  CHECK(waited >= std::chrono::milliseconds(150));
  CHECK(waited < std::chrono::milliseconds(3000));
  CHECK(wait_until([&] { return l.t->stats().timeouts == 2; }));
  CHECK(l.r.count() == 0);
  CHECK(wait_until([&] { return l.t->stats().inbound_connections == 0; }));
}

TEST_CASE("an idle connection between frames outlives the frame deadline and keeps delivering") {
  Limited l([](PeerTransportOptions& o) {
    o.frame_timeout_ms = 100;
    o.handshake_timeout_ms = 100;
  });
  RawClient c(l.port);
  c.hello(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // idle, not inside a frame
  c.send_frame(FrameType::raft, raft::encode_message(msg(1, 2, 3)));
  REQUIRE(wait_until([&] { return l.r.count() == 1; }));
  CHECK(l.t->stats().timeouts == 0);
}

TEST_CASE("inbound connections over the per-address cap and over the total cap are refused") {
  Limited l([](PeerTransportOptions& o) { o.max_inbound_per_address = 2; });
  auto a = std::make_unique<RawClient>(l.port);
  RawClient b(l.port);
  REQUIRE(wait_until([&] { return l.t->stats().inbound_connections == 2; }));
  RawClient over(l.port);
  CHECK(over.closed_within(std::chrono::milliseconds(5000)));
  CHECK(wait_until([&] { return l.t->stats().connections_refused == 1; }));
  a.reset();  // a slot frees up
  REQUIRE(wait_until([&] { return l.t->stats().inbound_connections == 1; }));
  RawClient again(l.port);
  again.hello(1);
  again.send_frame(FrameType::raft, raft::encode_message(msg(1, 2, 1)));
  CHECK(wait_until([&] { return l.r.count() == 1; }));

  Limited total([](PeerTransportOptions& o) { o.max_inbound_connections = 1; });
  RawClient first(total.port);
  REQUIRE(wait_until([&] { return total.t->stats().inbound_connections == 1; }));
  RawClient second(total.port);
  CHECK(second.closed_within(std::chrono::milliseconds(5000)));
  CHECK(total.t->stats().connections_refused == 1);
  CHECK(total.t->stats().max_inbound_connections == 1);
}

TEST_CASE("a hello that claims the receiver's own node id, or a second hello, is a protocol error") {
  Limited l([](PeerTransportOptions&) {});
  RawClient self(l.port);
  self.hello(2);  // node 2 is the receiver
  CHECK(self.closed_within(std::chrono::milliseconds(5000)));
  RawClient twice(l.port);
  twice.hello(1);
  twice.hello(3);
  CHECK(twice.closed_within(std::chrono::milliseconds(5000)));
  CHECK(wait_until([&] { return l.t->stats().protocol_errors == 2; }));
  std::lock_guard lock(l.r.mu);
  CHECK(l.r.urls.count(2) == 0);
}

}  // namespace
}  // namespace strata::net::peer
