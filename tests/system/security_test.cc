// Issue 18 through the real strata-server, where a user (or an attacker) meets it: the client
// port's browser-safety checks (the issue's text/plain POST /set with Host: evil.example), CORS
// only when configured, the client connection caps and deadlines, the safe defaults and their
// warnings, the peer secret (a forged, a wrong and a replayed hello refused; a cluster with one
// secret works, a node with another cannot join), and a removed node that says so.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "lib/raft/codec.h"
#include "lib/util/random.h"
#include "net/peer/frame.h"
#include "net/peer/peer_auth.h"
#include "tests/system/cluster_harness.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string server_binary() { return env_binary("STRATA_SERVER"); }

// One strata-server (single node) on a free loopback port, SIGKILLed at the end.
class Server {
 public:
  explicit Server(std::vector<std::string> extra, std::string listen_host = "127.0.0.1")
      : port_(free_loopback_port()), log_(dir_.path() + "/server.log") {
    std::vector<std::string> args = {
        server_binary(), "--listen", listen_host + ":" + std::to_string(port_), "--data-dir", dir_.path() + "/data",
        "--threads",     "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = spawn_process(std::move(args), log_);
    bool up = eventually([&] { return http_.call("GET", url() + "/status", nullptr, 1000).status == 200; }, 20000ms);
    REQUIRE_MESSAGE(up, log());
  }
  ~Server() {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  json::object stats() {
    auto r = try_stats();
    REQUIRE(r.has_value());
    return *r;
  }
  // nullopt while the server refuses (a test holding every connection slot).
  std::optional<json::object> try_stats() {
    auto r = http_.call("GET", url() + "/v1/stats");
    if (r.status != 200) return std::nullopt;
    return r.json()->as_object();
  }
  HttpResult call(const std::string& method, const std::string& target, const std::string* body = nullptr) {
    return http_.call(method, url() + target, body);
  }

 private:
  TempDir dir_;
  uint16_t port_;
  std::string log_;
  pid_t pid_ = -1;
  Http http_;
};

// A raw TCP connection to 127.0.0.1:port, optionally from another loopback source address.
class Raw {
 public:
  explicit Raw(uint16_t port, const char* source = nullptr) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (source) {
      sockaddr_in s{};
      s.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &s.sin_addr);
      REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&s), sizeof s) == 0);
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Raw() { ::close(fd_); }
  int fd() const { return fd_; }
  bool send(std::string_view b) const {
    return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size());
  }
  // One whole answer (head and Content-Length body), or what arrived before a close or `limit`.
  std::string answer(std::chrono::milliseconds limit = 5000ms) const {
    std::string in;
    auto until = Clock::now() + limit;
    for (;;) {
      size_t end = in.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t cl = in.find("Content-Length: ");
        size_t len = cl == std::string::npos || cl > end ? 0 : std::stoul(in.substr(cl + 16));
        if (in.size() >= end + 4 + len) return in.substr(0, end + 4 + len);
      }
      if (recv_some(until, &in) <= 0) return in;
    }
  }
  // True when the server closed the connection within `limit`.
  bool closed_within(std::chrono::milliseconds limit) const {
    auto until = Clock::now() + limit;
    std::string ignored;
    for (;;) {
      int r = recv_some(until, &ignored);
      if (r != 1) return r == 0;
    }
  }

 protected:
  // Appends what arrives before `until`: 1 when bytes came, 0 on a close (or reset), -1 at the deadline.
  int recv_some(Clock::time_point until, std::string* in) const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd_, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return -1;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return 0;
    in->append(buf, static_cast<size_t>(n));
    return 1;
  }

 private:
  int fd_ = -1;
};

std::string request(std::string_view method, std::string_view target, uint16_t port, std::string_view extra_headers,
                    std::string_view body) {
  std::string r = std::string(method) + " " + std::string(target) +
                  " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" + std::string(extra_headers);
  if (!body.empty() || method == "POST" || method == "PUT")
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + std::string(body);
}

int status_of(const std::string& answer) { return answer.size() > 12 ? std::stoi(answer.substr(9, 3)) : 0; }

std::string body_of(const std::string& answer) {
  size_t end = answer.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : answer.substr(end + 4);
}

std::string round_trip(uint16_t port, const std::string& req) {
  Raw c(port);
  REQUIRE(c.send(req));
  return c.answer();
}

uint64_t at(const json::object& o, std::initializer_list<std::string_view> path) {
  const json::value* v = nullptr;
  const json::object* cur = &o;
  for (std::string_view k : path) {
    v = cur->if_contains(k);
    REQUIRE_MESSAGE(v != nullptr, "missing " << k);
    if (v->is_object()) cur = &v->as_object();
  }
  return v->to_number<uint64_t>();
}

TEST_CASE("the issue's attack: a text/plain POST /set with Host: evil.example is refused, nothing is written") {
  Server s({});
  uint16_t p = s.port();
  std::string set = R"({"key":"pwned","value":"1"})";
  // The DNS-rebinding form of it: the page's own name in Host.
  std::string evil = "POST /set HTTP/1.1\r\nHost: evil.example:" + std::to_string(p) +
                     "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(set.size()) + "\r\n\r\n" + set;
  std::string a = round_trip(p, evil);
  CHECK(status_of(a) == 421);
  CHECK(body_of(a).find("\"code\":\"host_not_allowed\"") != std::string::npos);
  // The cross-site form (Host is the node, as a form posting to http://127.0.0.1:port sends).
  a = round_trip(p, request("POST", "/set", p, "Content-Type: text/plain\r\nOrigin: https://evil.example\r\n", set));
  CHECK(status_of(a) == 403);
  CHECK(body_of(a).find("\"code\":\"origin_not_allowed\"") != std::string::npos);
  a = round_trip(p, request("POST", "/set", p, "Content-Type: text/plain\r\n", set));
  CHECK(status_of(a) == 415);
  CHECK(body_of(a).find("\"code\":\"unsupported_media_type\"") != std::string::npos);
  a = round_trip(p, request("POST", "/set", p, "Content-Type: application/x-www-form-urlencoded\r\n", set));
  CHECK(status_of(a) == 415);
  a = round_trip(p, request("PUT", "/v1/kv/pwned", p, "", "1"));  // a body of no stated type
  CHECK(status_of(a) == 415);
  CHECK(s.call("GET", "/get?key=pwned").body == R"({"key":"pwned","value":null})");
  CHECK(s.call("GET", "/v1/kv/pwned").status == 404);

  // What the clients send passes: JSON to the TinyLSM and batch routes, octets to /v1/kv, and
  // requests without a body without a type.
  a = round_trip(p, request("POST", "/set", p, "Content-Type: application/json\r\n", set));
  CHECK(status_of(a) == 200);
  a = round_trip(p, request("PUT", "/v1/kv/raw", p, "Content-Type: application/octet-stream\r\n", "bytes"));
  CHECK(status_of(a) == 200);
  a = round_trip(p, request("PUT", "/v1/kv/empty", p, "", ""));
  CHECK(status_of(a) == 200);
  a = round_trip(p, request("POST", "/v1/admin/flush", p, "", ""));
  CHECK(status_of(a) == 200);
  a = round_trip(p, request("DELETE", "/v1/kv/raw", p, "", ""));
  CHECK(status_of(a) == 200);
  a = round_trip(p, request("POST", "/v1/batch", p, "Content-Type: application/json; charset=utf-8\r\n",
                            R"({"ops":[{"op":"put","key":"b","value":"2"}]})"));
  CHECK(status_of(a) == 200);
  CHECK(s.call("GET", "/v1/kv/pwned").body == "1");
  CHECK(s.call("GET", "/v1/kv/b").body == "2");
  // No CORS unless configured: not even for the request from another origin.
  a = round_trip(p, request("GET", "/v1/kv/b", p, "Origin: https://evil.example\r\n", ""));
  CHECK(status_of(a) == 200);
  CHECK(a.find("Access-Control") == std::string::npos);
  a = round_trip(p, request("OPTIONS", "/v1/kv/b", p,
                            "Origin: https://evil.example\r\nAccess-Control-Request-Method: PUT\r\n", ""));
  CHECK(status_of(a) == 405);
  CHECK(a.find("Access-Control") == std::string::npos);

  // Transfer codings other than chunked: 501, and the body is not stored as it came.
  std::string gz =
      "PUT /v1/kv/coded HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
      "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  a = round_trip(p, gz);
  CHECK(status_of(a) == 501);
  CHECK(body_of(a).find("\"code\":\"unsupported_transfer_encoding\"") != std::string::npos);
  CHECK(s.call("GET", "/v1/kv/coded").status == 404);
  std::string chunked =
      "PUT /v1/kv/coded HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  CHECK(status_of(round_trip(p, chunked)) == 200);
  CHECK(s.call("GET", "/v1/kv/coded").body == "hello");

  // Counted by reason in /v1/stats and /metrics.
  json::object st = s.stats();
  CHECK(at(st, {"http", "requests_refused", "host"}) == 1);
  CHECK(at(st, {"http", "requests_refused", "origin"}) == 1);
  CHECK(at(st, {"http", "requests_refused", "content_type"}) == 3);
  CHECK(at(st, {"http", "requests_refused", "transfer_encoding"}) == 1);
  std::string metrics = s.call("GET", "/metrics").body;
  CHECK(metrics.find("strata_http_requests_refused_total{reason=\"content_type\"} 3") != std::string::npos);
}

TEST_CASE("with --cors-origin, that origin gets CORS answers and may write; others still may not") {
  Server s({"--cors-origin", "https://console.example:8443"});
  uint16_t p = s.port();
  std::string a = round_trip(p, request("OPTIONS", "/v1/kv/k", p,
                                        "Origin: https://console.example:8443\r\nAccess-Control-Request-Method: PUT\r\n"
                                        "Access-Control-Request-Headers: content-type\r\n",
                                        ""));
  CHECK(status_of(a) == 204);
  CHECK(a.find("Access-Control-Allow-Origin: https://console.example:8443\r\n") != std::string::npos);
  CHECK(a.find("Access-Control-Allow-Methods: GET, HEAD, PUT, POST, DELETE\r\n") != std::string::npos);
  a = round_trip(p, request("PUT", "/v1/kv/k", p,
                            "Origin: https://console.example:8443\r\nContent-Type: application/octet-stream\r\n", "v"));
  CHECK(status_of(a) == 200);
  CHECK(a.find("Access-Control-Allow-Origin: https://console.example:8443\r\n") != std::string::npos);
  a = round_trip(p, request("PUT", "/v1/kv/k", p,
                            "Origin: https://evil.example\r\nContent-Type: application/octet-stream\r\n", "w"));
  CHECK(status_of(a) == 403);
  CHECK(a.find("Access-Control") == std::string::npos);
  CHECK(s.call("GET", "/v1/kv/k").body == "v");
}

TEST_CASE("bad security flags are refused at start with a reason") {
  auto refused = [](std::vector<std::string> extra) {
    TempDir dir;
    std::string log = dir.path() + "/log";
    std::string cmd = server_binary() + " --listen 127.0.0.1:0 --data-dir " + dir.path() + "/d";
    for (auto& e : extra) cmd += " '" + e + "'";
    int rc = std::system((cmd + " >" + log + " 2>&1").c_str());
    std::ifstream in(log);
    std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out);
  };
  auto [rc1, out1] = refused({"--cors-origin", "*"});
  CHECK(rc1 == 2);
  CHECK(out1.find("--cors-origin expects origins") != std::string::npos);
  auto [rc2, out2] = refused({"--allowed-hosts", "a,,b"});
  CHECK(rc2 == 2);
  auto [rc3, out3] = refused({"--peer-secret-file", "/nonexistent"});
  CHECK(rc3 == 2);
  CHECK(out3.find("needs --peers") != std::string::npos);
  auto [rc4, out4] = refused({"--max-connections", "0"});
  CHECK(rc4 == 2);
  auto [rc5, out5] = refused({"--no-such-flag"});
  CHECK(rc5 == 2);
}

// A connection in the middle of a request (not idle): a request and part of the next one's header
// in one write. Once the first is answered, the server holds the partial header (it arrived with
// the first), so the connection is busy for sure.
std::unique_ptr<Raw> busy_connection(uint16_t port, const char* source) {
  auto c = std::make_unique<Raw>(port, source);
  REQUIRE(c->send(request("GET", "/status", port, "", "") + "GET /status HTTP/1.1\r\n"));
  REQUIRE(status_of(c->answer()) == 200);
  return c;
}

TEST_CASE(
    "idle connections do not lock others out: the longest-idle one makes room; busy ones get 503; deadlines close stalls") {
  Server s({"--max-connections", "12", "--max-connections-per-address", "6", "--http-header-timeout-ms", "400"});
  uint16_t p = s.port();
  // One client holds its address's whole share with idle keep-alive connections (each did one
  // request and waits, as the issue's 4,096 did).
  std::vector<std::unique_ptr<Raw>> idle;
  for (int i = 0; i < 6; ++i) {
    idle.push_back(std::make_unique<Raw>(p, "127.0.0.2"));
    REQUIRE(idle.back()->send(request("GET", "/status", p, "", "")));
    REQUIRE(status_of(idle.back()->answer()) == 200);
  }
  // Another connection from that address is served at once: the longest-idle one is closed.
  auto t0 = Clock::now();
  {
    Raw next(p, "127.0.0.2");
    REQUIRE(next.send(request("GET", "/status", p, "", "")));
    CHECK(status_of(next.answer()) == 200);
  }
  CHECK(Clock::now() - t0 < 2000ms);
  // One of the idle ones (the longest idle, unless the server was too starved to have finished
  // its first answers) was closed.
  size_t closed = 0;
  CHECK(eventually(
      [&] {
        closed = 0;
        for (auto& c : idle) closed += c->closed_within(5ms) ? 1 : 0;
        return closed >= 1;
      },
      5000ms));
  CHECK(closed == 1);
  CHECK(at(s.stats(), {"http", "connections_evicted"}) == 1);
  idle.clear();

  // Connections in the middle of a request are not idle: over the cap a new one gets 503.
  std::vector<std::unique_ptr<Raw>> busy;
  for (int i = 0; i < 6; ++i) busy.push_back(busy_connection(p, "127.0.0.3"));
  Raw over(p, "127.0.0.3");
  std::string a = over.answer();
  CHECK(status_of(a) == 503);
  CHECK(body_of(a).find("\"code\":\"overloaded\"") != std::string::npos);
  // Another address is not affected.
  Raw other(p, "127.0.0.4");
  REQUIRE(other.send(request("GET", "/status", p, "Connection: close\r\n", "")));
  CHECK(status_of(other.answer()) == 200);
  // The stalled headers are closed at the header deadline (400 ms), not after a minute.
  t0 = Clock::now();
  for (auto& b : busy) CHECK(b->closed_within(5000ms));
  CHECK(Clock::now() - t0 < 10000ms);  // the 400 ms deadline, not the 60 s idle timeout
  // A connection that never sends anything is closed at the same deadline.
  Raw silent(p, "127.0.0.5");
  CHECK(silent.closed_within(5000ms));
  json::object st = s.stats();
  CHECK(at(st, {"http", "connections_refused", "per_address"}) >= 1);
  CHECK(at(st, {"http", "timeouts", "header"}) >= 7);
  CHECK(at(st, {"http", "limits", "max_connections_per_address"}) == 6);
  CHECK(at(st, {"http", "limits", "header_timeout_ms"}) == 400);
  std::string metrics = s.call("GET", "/metrics").body;
  CHECK(metrics.find("strata_http_connections_refused_total{reason=\"per_address\"}") != std::string::npos);
  CHECK(metrics.find("strata_http_limit_max_connections 12") != std::string::npos);
}

TEST_CASE("over the total cap with nothing idle, a new connection gets 503 overloaded") {
  Server s({"--max-connections", "4", "--max-connections-per-address", "4", "--http-header-timeout-ms", "5000"});
  uint16_t p = s.port();
  // (The harness's idle keep-alive connection makes room for the 4th.)
  std::vector<std::unique_ptr<Raw>> busy;
  for (const char* src : {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}) busy.push_back(busy_connection(p, src));
  Raw over(p, "127.0.0.6");
  CHECK(status_of(over.answer()) == 503);
  busy.clear();
  REQUIRE(eventually(
      [&] {
        auto st = s.try_stats();  // refused until the server saw the busy ones close
        return st && at(*st, {"http", "connections_refused", "total_cap"}) >= 1;
      },
      2000ms));
}

TEST_CASE("safe defaults: loopback unless told; beyond loopback without protection warns in the log and /status") {
  // The default address is loopback.
  std::string help;
  {
    FILE* f = ::popen((server_binary() + " --help").c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) help.append(buf, n);
    ::pclose(f);
  }
  CHECK(help.find("(=127.0.0.1:8000)") != std::string::npos);
  Server local({});
  auto st = local.call("GET", "/status").json()->as_object();
  CHECK(st.at("security").at("warnings").as_array().empty());
  CHECK(st.at("security").at("peer_auth").as_string() == "n/a");
  CHECK(st.at("security").at("tls") == false);

  Server wide({}, "0.0.0.0");
  st = wide.call("GET", "/status").json()->as_object();
  auto warnings = st.at("security").at("warnings").as_array();
  REQUIRE(warnings.size() == 1);
  CHECK(std::string(warnings[0].as_string()).find("beyond loopback") != std::string::npos);
  CHECK(wide.log().find("beyond loopback") != std::string::npos);
}

// ---- the peer port ----

std::string write_secret(const TempDir& dir, const std::string& name, const std::string& secret) {
  std::string path = dir.path() + "/" + name;
  std::ofstream(path) << secret << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

// A raw connection to a peer port that speaks frames.
struct PeerRaw : Raw {
  using Raw::Raw;
  void frame(net::peer::FrameType t, std::string_view payload) const {
    std::string f;
    net::peer::encode_frame(&f, t, payload);
    send(f);
  }
  // The payload of the next frame (the receiver's challenge); nullopt on a close or after 5 s.
  std::optional<std::string> read_payload() const {
    std::string in;
    auto until = Clock::now() + 5000ms;
    for (;;) {
      if (in.size() >= net::peer::kFrameHeaderBytes) {
        auto h = net::peer::decode_frame_header(std::string_view(in).substr(0, net::peer::kFrameHeaderBytes));
        if (!h) return std::nullopt;
        if (in.size() >= net::peer::kFrameHeaderBytes + h->length)
          return in.substr(net::peer::kFrameHeaderBytes, h->length);
      }
      if (recv_some(until, &in) <= 0) return std::nullopt;
    }
  }
};

TEST_CASE(
    "a 3-node cluster with one --peer-secret-file works; a hello without MAC, with a wrong MAC, or replayed is refused") {
  TempDir dir;
  std::string secret = "a7d3c0f19e5b2486a7d3c0f19e5b2486";
  Cluster c(server_binary(), 3, {"--peer-secret-file", write_secret(dir, "secret", secret)});
  c.start_all();
  uint64_t leader = c.wait_leader();
  REQUIRE_MESSAGE(leader != 0, c.log_tail(1));
  REQUIRE(c.put(leader, "secured", "yes").status == 200);
  for (uint64_t id : c.ids()) {
    CHECK(eventually([&] { return c.get(id, "secured", true).body == "yes"; }, 10000ms));
    auto st = c.status(id);
    REQUIRE(st.has_value());
    CHECK(st->at("security").at("peer_auth").as_string() == "hmac-sha256");
  }
  uint64_t target = leader;
  uint16_t peer_port = c.node(target).peer_port;
  uint64_t claim = target == 1 ? 2 : 1;
  uint64_t term = c.status(target)->at("term").to_number<uint64_t>();
  raft::Message forged;
  forged.type = raft::MessageType::heartbeat;
  forged.from = claim;
  forged.to = target;
  forged.term = term + 5;  // would depose the leader if it were believed
  // 1. No MAC: what the issue's forger sent.
  {
    PeerRaw raw(peer_port);
    std::string f;
    net::peer::encode_frame(&f, net::peer::FrameType::hello, net::peer::encode_hello({claim, "http://forger"}));
    net::peer::encode_frame(&f, net::peer::FrameType::raft, raft::encode_message(forged));
    raw.send(f);
    CHECK(raw.closed_within(5000ms));
  }
  // 2. A wrong MAC: a guessed secret.
  {
    SeededRandomBytes rnd(1);
    net::peer::PeerAuth guesser("not-the-cluster-secret-0123456789", rnd);
    PeerRaw raw(peer_port);
    std::string hello = net::peer::encode_hello(guesser.make_hello(claim, "http://forger"));
    raw.frame(net::peer::FrameType::hello, hello);
    auto challenge = raw.read_payload();
    REQUIRE(challenge.has_value());
    raw.frame(net::peer::FrameType::auth, net::peer::encode_auth(net::peer::hmac_sha256("guess", *challenge)));
    CHECK(raw.closed_within(5000ms));
  }
  // 3. A replay: a good handshake (made here with the secret, as a member would) recorded, then
  // its hello and auth sent again on a new connection.
  {
    SeededRandomBytes rnd(2);
    net::peer::PeerAuth member(secret, rnd);
    std::string hello = net::peer::encode_hello(member.make_hello(claim, c.url(claim)));
    std::string auth;
    {
      PeerRaw good(peer_port);
      good.frame(net::peer::FrameType::hello, hello);
      auto challenge = good.read_payload();
      REQUIRE(challenge.has_value());
      auto answer = member.answer(hello, target, *challenge);
      REQUIRE(answer.has_value());
      auth = *answer;
      good.frame(net::peer::FrameType::auth, auth);
    }
    PeerRaw replay(peer_port);
    replay.frame(net::peer::FrameType::hello, hello);
    REQUIRE(replay.read_payload().has_value());  // a fresh challenge
    std::string f;
    net::peer::encode_frame(&f, net::peer::FrameType::auth, auth);
    net::peer::encode_frame(&f, net::peer::FrameType::raft, raft::encode_message(forged));
    replay.send(f);
    CHECK(replay.closed_within(5000ms));
  }
  std::string metrics = c.call("GET", c.url(target) + "/metrics").body;
  CHECK(metric_value(metrics, "strata_peer_auth_failures_total") == 3);
  CHECK(metric_value(metrics, "strata_peer_authenticated") == 1);
  // Nothing forged got through: the leader and its term stand, the cluster still commits.
  CHECK(c.status(target)->at("role").as_string() == "leader");
  CHECK(c.status(target)->at("term").to_number<uint64_t>() == term);
  CHECK(c.put(leader, "after-forgery", "ok").status == 200);
  CHECK(c.log_tail(target).find("refused the inbound handshake") != std::string::npos);
}

TEST_CASE("a node with another secret cannot join: the two with the cluster's secret commit without it") {
  TempDir dir;
  std::string good = write_secret(dir, "good", "cluster-secret-0123456789abcdef");
  std::string other = write_secret(dir, "other", "another-secret-0123456789abcdef");
  Cluster c(server_binary(), 3);
  c.node(1).extra = {"--peer-secret-file", good};
  c.node(2).extra = {"--peer-secret-file", good};
  c.node(3).extra = {"--peer-secret-file", other};
  c.start_all();
  uint64_t leader = 0;
  REQUIRE(eventually(
      [&] {
        for (uint64_t id : {1, 2}) {
          auto st = c.status(id);
          if (st && st->at("role").as_string() == "leader") leader = id;
        }
        return leader != 0;
      },
      15000ms));
  REQUIRE(c.put(leader, "members-only", "1").status == 200);
  CHECK(eventually([&] { return c.get(leader == 1 ? 2 : 1, "members-only", true).body == "1"; }, 10000ms));
  // Node 3 never hears from them: no leader, no data; every side counts the refused handshakes.
  auto st3 = c.status(3);
  REQUIRE(st3.has_value());
  CHECK(st3->at("leader").at("id").to_number<uint64_t>() == 0);
  CHECK(c.get(3, "members-only", true).status == 404);
  CHECK(eventually(
      [&] {
        return metric_value(c.call("GET", c.url(3) + "/metrics").body, "strata_peer_auth_failures_total") > 0 &&
               metric_value(c.call("GET", c.url(leader) + "/metrics").body, "strata_peer_auth_failures_total") > 0;
      },
      10000ms));
}

TEST_CASE("a node removed from the cluster stops serving and says why (503 node_removed), also after a restart") {
  Cluster c(server_binary(), 3);
  c.start_all();
  uint64_t leader = c.wait_leader();
  REQUIRE(leader != 0);
  REQUIRE(c.put(leader, "before", "1").status == 200);
  uint64_t victim = leader == 3 ? 2 : 3;
  REQUIRE(eventually([&] { return c.get(victim, "before", true).body == "1"; }, 10000ms));
  auto del = c.call("DELETE", c.url(leader) + "/v1/cluster/members?id=" + std::to_string(victim));
  REQUIRE_MESSAGE(del.status == 200, del.body);
  // The victim learns of its removal when it applies it (the leader sends it the commit index),
  // and refuses from then on.
  bool knows = eventually(
      [&] {
        auto st = c.status(victim);
        return st && st->at("removed") == true;
      },
      10000ms);
  REQUIRE_MESSAGE(knows, c.log_tail(victim));
  HttpResult w = c.put(victim, "via-removed", "x", 3000);
  CHECK(w.status == 503);
  CHECK(w.body.find("\"code\":\"node_removed\"") != std::string::npos);
  CHECK(c.get(victim, "before").body.find("node_removed") != std::string::npos);
  CHECK(c.get(victim, "before", true).body.find("node_removed") != std::string::npos);
  std::string set = R"({"key":"k","value":"v"})";
  CHECK(c.call("POST", c.url(victim) + "/set", &set).status == 503);
  auto st = c.status(victim);
  REQUIRE(st.has_value());
  CHECK(st->at("removed") == true);
  CHECK(c.log_tail(victim).find("removed from the cluster") != std::string::npos);
  // Nothing sent through it was applied; the cluster goes on without it.
  CHECK(c.get(leader, "via-removed").status == 404);
  CHECK(c.put(leader, "after", "2").status == 200);
  CHECK(c.status(leader)->at("removed") == false);
  // It remembers across a restart.
  c.kill9(victim);
  c.start(victim);
  REQUIRE(eventually([&] { return c.status(victim).has_value(); }, 20000ms));
  CHECK(c.status(victim)->at("removed") == true);
  CHECK(c.put(victim, "via-restarted", "x").status == 503);
}

}  // namespace
}  // namespace strata::testing
