// Helpers of the peer transport tests: a recording TransportHandler, an io_context on a thread,
// free loopback ports, waiting on a condition with a deadline, a raw TCP client that sends
// forged and partial frames, a snapshot source of fixed chunks, and a transport with tweaked options listening on
// loopback. Thread-safety: as each helper says; tests use them from their one thread.
#pragma once

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <cerrno>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lib/raft/codec.h"
#include "lib/util/coding.h"
#include "net/peer/frame.h"
#include "net/peer/peer_transport.h"

namespace strata::net::peer::testing {

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
      if (e)
        p.set_exception(e);
      else
        p.set_value(std::move(v));
    });
    return p.get_future().get();
  }
  void run(asio::awaitable<void> aw) {
    std::promise<void> p;
    asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e) {
      if (e)
        p.set_exception(e);
      else
        p.set_value();
    });
    p.get_future().get();
  }
};

inline uint16_t free_port() {
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

inline bool wait_until(const std::function<bool()>& cond,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return cond();
}

inline raft::Message msg(uint64_t from, uint64_t to, uint64_t index) {
  raft::Message m;
  m.type = raft::MessageType::app;
  m.from = from;
  m.to = to;
  m.term = 1;
  m.index = index;
  m.entries.push_back(raft::Entry{1, index + 1, raft::EntryType::normal, "payload"});
  return m;
}

// A snapshot of the given chunks (id 42).
struct VectorSource : replication::SnapshotSource {
  std::vector<replication::SnapshotChunk> chunks;
  size_t next_ = 0;
  uint64_t snapshot_id() const override { return 42; }
  asio::awaitable<Result<std::optional<replication::SnapshotChunk>>> next() override {
    if (next_ == chunks.size()) co_return std::optional<replication::SnapshotChunk>();
    co_return std::optional<replication::SnapshotChunk>(chunks[next_++]);
  }
};

// A raw TCP client to a transport's port, for sending forged and partial frames.
struct RawClient {
  int fd = -1;
  explicit RawClient(uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~RawClient() { ::close(fd); }
  void send_bytes(std::string_view b) const {
    REQUIRE(::send(fd, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size()));
  }
  void send_frame(FrameType t, std::string_view payload) const {
    std::string f;
    encode_frame(&f, t, payload);
    send_bytes(f);
  }
  void hello(uint64_t id) const { send_frame(FrameType::hello, encode_hello(Hello{id, "http://x"})); }
  // True when the transport closed the connection within `limit` (recv sees EOF or a reset).
  bool closed_within(std::chrono::milliseconds limit) const {
    timeval tv{static_cast<time_t>(limit.count() / 1000), static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[16];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }
};

// The 9-byte header of a frame that announces `length` payload bytes.
inline std::string header_only(FrameType t, uint32_t length) {
  std::string f;
  put_fixed32(&f, length);
  put_fixed32(&f, 0);
  f.push_back(static_cast<char>(t));
  return f;
}

struct Limited {
  Loop loop;
  Recorder r;
  uint16_t port = free_port();
  std::unique_ptr<PeerTransport> t;
  explicit Limited(const std::function<void(PeerTransportOptions&)>& tweak) {
    PeerTransportOptions o;
    o.node_id = 2;
    o.listen_port = port;
    tweak(o);
    t = std::make_unique<PeerTransport>(loop.io.get_executor(), o, &r);
    REQUIRE(t->listen().has_value());
    t->start();
  }
  ~Limited() { loop.run(t->stop()); }
};

}  // namespace strata::net::peer::testing
