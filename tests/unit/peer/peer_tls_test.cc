// Mutual TLS on the peer port: which node a certificate names (net/tls/peer_identity.h), and
// PeerTransport over TLS between two transports on loopback (net/peer/peer_transport.h):
// delivery and snapshots; refusal of a certificate for another node, one from another CA, an
// expired one, plain TCP against a TLS port and TLS against a plain one; a reload that lets a
// refused member in. Certificates are made in memory at test time (test_certs.h).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "net/peer/peer_transport.h"
#include "net/tls/peer_identity.h"
#include "net/tls/tls_context.h"
#include "tests/test_util.h"
#include "tests/unit/peer/peer_test_util.h"
#include "tests/unit/peer/test_certs.h"

namespace strata::net::peer {
namespace {

using namespace testing;
using strata::testing::TempDir;

std::shared_ptr<tls::TlsContext> peer_context(const Issued& member, const std::string& ca_file) {
  auto ctx = tls::TlsContext::create(tls::TlsConfig{
      .cert_file = member.cert_file, .key_file = member.key_file, .trusted_ca_file = ca_file, .peer = true});
  REQUIRE(ctx.has_value());
  return *ctx;
}

TEST_CASE("a certificate names the node of its one strata://node/<id> URI, and no other") {
  TempDir dir;
  TestCa ca(dir.path(), "ca");
  CHECK(tls::certificate_node_id(ca.issue("n7", "URI:strata://node/7").cert.get()).value() == 7);
  // Beside DNS names, addresses and other URIs.
  CHECK(tls::certificate_node_id(
            ca.issue("mixed", "DNS:localhost,IP:127.0.0.1,URI:https://example.org/,URI:strata://node/12").cert.get())
            .value() == 12);
  CHECK(tls::certificate_node_id(ca.issue("max", "URI:strata://node/18446744073709551615").cert.get()).value() ==
        UINT64_MAX);
  auto none = tls::certificate_node_id(ca.issue("none", "DNS:localhost").cert.get());
  CHECK(none.error() == make_error_code(Errc::not_found));
  CHECK(tls::certificate_node_id(ca.issue("nosan", "").cert.get()).error() == make_error_code(Errc::not_found));
  CHECK(tls::certificate_node_id(nullptr).error() == make_error_code(Errc::not_found));
  // A certificate for two nodes, or a malformed id, names none.
  CHECK(tls::certificate_node_id(ca.issue("two", "URI:strata://node/1,URI:strata://node/2").cert.get()).error() ==
        make_error_code(Errc::invalid_argument));
  for (const char* bad : {"URI:strata://node/0", "URI:strata://node/01", "URI:strata://node/x", "URI:strata://node/",
                          "URI:strata://node/18446744073709551616", "URI:strata://node/3/"}) {
    CAPTURE(bad);
    CHECK(tls::certificate_node_id(ca.issue("bad", bad).cert.get()).error() == make_error_code(Errc::invalid_argument));
  }
  CHECK(tls::node_id_uri(42) == "strata://node/42");
  CHECK(tls::parse_node_id_uri("strata://node/42") == 42);
  CHECK(tls::parse_node_id_uri("strata://node/+4") == 0);
  CHECK(tls::parse_node_id_uri("STRATA://node/4") == 0);
}

TEST_CASE("a peer context needs the cluster CA, a certificate and its key") {
  TempDir dir;
  TestCa ca(dir.path(), "ca");
  Issued n1 = ca.issue("n1", "URI:strata://node/1");
  CHECK(tls::TlsContext::create({.cert_file = n1.cert_file, .key_file = n1.key_file, .peer = true}).error() ==
        make_error_code(Errc::invalid_argument));
  CHECK(tls::TlsContext::create({.cert_file = n1.cert_file, .trusted_ca_file = ca.file(), .peer = true}).error() ==
        make_error_code(Errc::invalid_argument));
  CHECK(tls::TlsContext::create(
            {.cert_file = n1.cert_file, .key_file = ca.file(), .trusted_ca_file = ca.file(), .peer = true})
            .error() == make_error_code(Errc::corruption));
}

// Two transports (nodes 1 and 2) on loopback, each with its own TLS context (nullptr: plain).
struct TlsPair {
  Loop loop;
  Recorder r1, r2;
  uint16_t p1 = free_port(), p2 = free_port();
  std::unique_ptr<PeerTransport> t1, t2;

  void start(
      int which, std::shared_ptr<tls::TlsContext> ctx,
      const std::function<void(PeerTransportOptions&)>& tweak = [](PeerTransportOptions&) {}) {
    PeerTransportOptions o;
    o.node_id = static_cast<uint64_t>(which);
    o.listen_port = which == 1 ? p1 : p2;
    o.http_url = "https://127.0.0.1:" + std::to_string(8000 + which);
    o.peers = {{1, "127.0.0.1:" + std::to_string(p1)}, {2, "127.0.0.1:" + std::to_string(p2)}};
    o.connect_timeout_ms = 1000;
    o.max_backoff_ms = 100;
    o.tls = std::move(ctx);
    tweak(o);
    auto& t = which == 1 ? t1 : t2;
    t = std::make_unique<PeerTransport>(loop.io.get_executor(), o, which == 1 ? &r1 : &r2);
    REQUIRE(t->listen().has_value());
    t->start();
  }
  ~TlsPair() {
    if (t1) loop.run(t1->stop());
    if (t2) loop.run(t2->stop());
  }
};

TEST_CASE("two members with certificates from the cluster CA exchange messages and a snapshot over TLS") {
  TempDir dir;
  TestCa ca(dir.path(), "ca");
  TlsPair p;
  p.start(1, peer_context(ca.issue("n1", "URI:strata://node/1,IP:127.0.0.1"), ca.file()));
  p.start(2, peer_context(ca.issue("n2", "URI:strata://node/2"), ca.file()));
  for (uint64_t i = 0; i < 300; ++i) p.t1->send(msg(1, 2, i));
  for (uint64_t i = 0; i < 5; ++i) p.t2->send(msg(2, 1, i));
  REQUIRE(wait_until([&] { return p.r2.count() == 300 && p.r1.count() == 5; }));
  {
    std::lock_guard l(p.r2.mu);
    for (uint64_t i = 0; i < 300; ++i) CHECK(p.r2.msgs[i] == msg(1, 2, i));
    CHECK(p.r2.urls[1] == "https://127.0.0.1:8001");
  }
  VectorSource src;
  src.chunks = {{42, "000005.sst", 0, std::string(kSnapshotChunkBytes, 's')}, {42, "MANIFEST-000007", 0, "manifest"}};
  raft::Message m;
  m.type = raft::MessageType::snap;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.snapshot = raft::Snapshot{raft::SnapshotMetadata{10, 3, {{1, 2}, {}}}, ""};
  CHECK(p.loop.run(p.t1->send_snapshot(m, src)).has_value());
  {
    std::lock_guard l(p.r2.mu);
    CHECK(p.r2.chunks == src.chunks);
  }
  for (auto* t : {p.t1.get(), p.t2.get()}) {
    auto s = t->stats();
    CHECK(s.tls);
    CHECK(s.auth_failures == 0);
    CHECK(s.tls_handshake_failures == 0);
  }
}

TEST_CASE("a member whose certificate names another node is refused when it dials and when it is dialled") {
  TempDir dir;
  TestCa ca(dir.path(), "ca");
  TlsPair p;
  p.start(1, peer_context(ca.issue("n1", "URI:strata://node/1"), ca.file()));
  // Node 2 holds node 3's certificate: a member that took another's key, or a mistake.
  p.start(2, peer_context(ca.issue("n3", "URI:strata://node/3"), ca.file()));
  p.t2->send(msg(2, 1, 1));  // node 1 refuses the hello that claims 2 under a certificate for 3
  p.t1->send(msg(1, 2, 1));  // node 1 refuses to talk to a "node 2" whose certificate names 3
  REQUIRE(wait_until([&] { return p.t1->stats().auth_failures >= 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(p.r1.count() == 0);
  CHECK(p.r2.count() == 0);
  CHECK(p.r1.urls.empty());
  CHECK(p.t1->stats().tls_handshake_failures == 0);  // the chain was good; the name was not
}

TEST_CASE("a certificate from another CA, an expired one, or none at all fails the TLS handshake") {
  TempDir dir;
  TestCa ca(dir.path(), "ca");
  TestCa other(dir.path(), "other-ca");
  struct Case {
    const char* what;
    std::function<std::shared_ptr<tls::TlsContext>()> intruder;
  };
  std::vector<Case> cases = {
      {"another CA", [&] { return peer_context(other.issue("o2", "URI:strata://node/2"), other.file()); }},
      {"expired", [&] { return peer_context(ca.issue("old2", "URI:strata://node/2", /*days=*/0), ca.file()); }},
      // It trusts the cluster CA but presents a certificate the cluster does not.
      {"trusts the CA, signed by another",
       [&] { return peer_context(other.issue("x2", "URI:strata://node/2"), ca.file()); }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    TlsPair p;
    p.start(1, peer_context(ca.issue("n1", "URI:strata://node/1"), ca.file()));
    p.start(2, c.intruder());
    p.t2->send(msg(2, 1, 1));
    p.t1->send(msg(1, 2, 1));
    REQUIRE(wait_until([&] { return p.t1->stats().tls_handshake_failures >= 2; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(p.r1.count() == 0);
    CHECK(p.r2.count() == 0);
  }
}

TEST_CASE("plain TCP against a TLS port, and TLS against a plain port, deliver nothing") {
  TempDir dir;
  TestCa ca(dir.path(), "ca");
  {
    TlsPair p;
    p.start(1, peer_context(ca.issue("n1", "URI:strata://node/1"), ca.file()));
    RawClient raw(p.p1);
    raw.hello(2);  // a plaintext hello is not a TLS ClientHello
    raw.send_frame(FrameType::raft, raft::encode_message(msg(2, 1, 1)));
    CHECK(raw.closed_within(std::chrono::milliseconds(3000)));
    REQUIRE(wait_until([&] { return p.t1->stats().tls_handshake_failures >= 1; }));
    p.start(2,
            nullptr);  // a plain member: its hello fails the same way; its TLS-less port refuses node 1's ClientHello
    p.t2->send(msg(2, 1, 2));
    p.t1->send(msg(1, 2, 2));
    REQUIRE(
        wait_until([&] { return p.t2->stats().protocol_errors >= 1 && p.t1->stats().tls_handshake_failures >= 2; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(p.r1.count() == 0);
    CHECK(p.r2.count() == 0);
  }
}

TEST_CASE("a connection that stalls in the TLS handshake is closed at the handshake deadline") {
  TempDir dir;
  TestCa ca(dir.path(), "ca");
  TlsPair p;
  p.start(1, peer_context(ca.issue("n1", "URI:strata://node/1"), ca.file()),
          [](PeerTransportOptions& o) { o.handshake_timeout_ms = 200; });
  RawClient silent(p.p1);
  RawClient partial(p.p1);
  partial.send_bytes(std::string("\x16\x03\x01\x00\xff", 5));  // a TLS record header, then nothing
  CHECK(silent.closed_within(std::chrono::milliseconds(3000)));
  CHECK(partial.closed_within(std::chrono::milliseconds(3000)));
  // serve() counts the timeout before it releases the connection's slot: wait for both.
  REQUIRE(wait_until([&] {
    auto s = p.t1->stats();
    return s.timeouts == 2 && s.inbound_connections == 0;
  }));
  CHECK(p.t1->stats().tls_handshake_failures == 0);
}

TEST_CASE("a reload picks up a replaced certificate for new connections: a refused member gets in") {
  TempDir dir;
  TestCa ca(dir.path(), "ca");
  TlsPair p;
  p.start(1, peer_context(ca.issue("n1", "URI:strata://node/1"), ca.file()));
  Issued stale = ca.issue("n2", "URI:strata://node/2", /*days=*/0);  // n2.pem, n2.key: expired
  auto ctx2 = peer_context(stale, ca.file());
  p.start(2, ctx2);
  p.t2->send(msg(2, 1, 1));
  REQUIRE(wait_until([&] { return p.t1->stats().tls_handshake_failures >= 1; }));
  CHECK(p.r1.count() == 0);
  // The operator writes a renewed certificate over the same files and sends SIGHUP.
  Issued renewed = ca.issue("n2", "URI:strata://node/2");
  REQUIRE(renewed.cert_file == stale.cert_file);
  REQUIRE(ctx2->reload().has_value());
  // Under TLS 1.3 the dialling side finishes its handshake before the other end checks its
  // certificate, so the link learns of the refusal when a write fails: the first sends after the
  // reload may be lost with that connection, as Raft allows. Send until one arrives.
  uint64_t index = 2;
  REQUIRE(wait_until([&] {
    p.t2->send(msg(2, 1, index++));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return p.r1.count() >= 1;
  }));
  std::lock_guard l(p.r1.mu);
  CHECK(p.r1.msgs.front().index >= 2);
}

}  // namespace
}  // namespace strata::net::peer
