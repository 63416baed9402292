// The Jepsen client's outcome of a write sent to a node that dies before answering: a fake HTTP
// server on loopback answers one request with keep-alive, then reads the next request and
// closes both the connection and its listening socket, like a node killed with -9 right after
// reading a PUT. libcurl retries a request whose reused connection died on a fresh connection,
// which is refused; the write did reach the node, so its outcome must be unknown, never fail.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "tests/jepsen/client.h"

namespace strata::jepsen {
namespace {

// Reads one HTTP request (headers and a Content-Length body). false on EOF or error.
bool read_request(int fd) {
  std::string in;
  char buf[4096];
  while (true) {
    size_t end = in.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t length = 0;
      size_t cl = in.find("Content-Length: ");
      if (cl == std::string::npos) cl = in.find("content-length: ");
      if (cl != std::string::npos) length = std::stoul(in.substr(cl + 16));
      if (in.size() >= end + 4 + length) return true;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
  }
}

TEST_CASE("regression: a write whose kept-alive node dies after reading it is unknown, not a refused (failed) write") {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  bool second_request_read = false;
  std::thread server([&] {
    int conn = ::accept(listener, nullptr, nullptr);
    if (conn < 0) return;
    if (read_request(conn)) {
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";
      (void)::write(conn, answer.data(), answer.size());
      second_request_read = read_request(conn);
    }
    ::close(listener);  // first, so that libcurl's retry is refused
    ::close(conn);
  });

  KvClient kv({url}, 2000);
  Op first = kv.put(0, 0, "k", "v1");
  CHECK(first.outcome == Outcome::ok);
  Op second = kv.put(0, 0, "k", "v2");
  server.join();
  REQUIRE(second_request_read);
  CHECK(second.outcome == Outcome::unknown);
  // Nothing is kept alive any more: a refused connection now proves the request was not sent.
  Op third = kv.put(0, 0, "k", "v3");
  CHECK(third.outcome == Outcome::fail);
}

}  // namespace
}  // namespace strata::jepsen
