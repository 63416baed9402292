// PeerTransport over loopback: delivery, reconnect with backoff to a peer that starts late,
// the cut / drop / delay hooks, snapshot streaming with acknowledgement, and a protocol error.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "net/peer/peer_transport.h"
#include "net/peer/frame.h"

namespace strata::net::peer {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Recorder : replication::TransportHandler {
  std::mutex mu;
  std::vector<raft::Message> msgs;
  std::vector<replication::SnapshotChunk> chunks;
  std::vector<uint64_t> snapshot_ends;
  std::map<uint64_t, std::string> urls;

  void on_message(raft::Message m) override {
    std::lock_guard l(mu);
    msgs.push_back(std::move(m));
  }
  void on_peer_hello(uint64_t id, std::string url) override {
    std::lock_guard l(mu);
    urls[id] = url;
  }
  asio::awaitable<Result<void>> on_snapshot_chunk(uint64_t, replication::SnapshotChunk c) override {
    std::lock_guard l(mu);
    chunks.push_back(std::move(c));
    co_return ok();
  }
  asio::awaitable<Result<void>> on_snapshot_end(uint64_t id, raft::Message) override {
    std::lock_guard l(mu);
    snapshot_ends.push_back(id);
    co_return ok();
  }
  size_t count() {
    std::lock_guard l(mu);
    return msgs.size();
  }
};

// An io_context run by one background thread for the test's lifetime.
struct Loop {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~Loop() {
    guard.reset();
    io.stop();
    thread.join();
  }
  template <class T>
  T run(asio::awaitable<T> aw) {
    std::promise<T> p;
    asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
      if (e) p.set_exception(e); else p.set_value(std::move(v));
    });
    return p.get_future().get();
  }
  void run(asio::awaitable<void> aw) {
    std::promise<void> p;
    asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e) {
      if (e) p.set_exception(e); else p.set_value();
    });
    p.get_future().get();
  }
};

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return cond();
}

raft::Message msg(uint64_t from, uint64_t to, uint64_t index) {
  raft::Message m;
  m.type = raft::MessageType::app;
  m.from = from;
  m.to = to;
  m.term = 1;
  m.index = index;
  m.entries.push_back(raft::Entry{1, index + 1, raft::EntryType::normal, "payload"});
  return m;
}

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

struct VectorSource : replication::SnapshotSource {
  std::vector<replication::SnapshotChunk> chunks;
  size_t next_ = 0;
  uint64_t snapshot_id() const override { return 42; }
  asio::awaitable<Result<std::optional<replication::SnapshotChunk>>> next() override {
    if (next_ == chunks.size()) co_return std::optional<replication::SnapshotChunk>();
    co_return std::optional<replication::SnapshotChunk>(chunks[next_++]);
  }
};

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

}  // namespace
}  // namespace strata::net::peer
