// The cluster-secret handshake (net/peer/peer_auth.h): the pure exchange, the secret file, and
// live transports on loopback that refuse a forged hello (no MAC, a wrong MAC, a replayed hello
// and auth) while two members with the same secret talk. Nonces come from SeededRandomBytes, so
// every run sends the same bytes.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>

#include "lib/util/random.h"
#include "net/peer/peer_auth.h"
#include "tests/test_util.h"
#include "tests/unit/peer/peer_test_util.h"

namespace strata::net::peer {
namespace {

using namespace testing;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kOtherSecret = "fedcba9876543210fedcba9876543210";

// Both sides of one exchange between opener 1 and receiver 2; returns the receiver's verdict.
Result<void> exchange(PeerAuth& opener, PeerAuth& receiver, uint64_t receiver_id = 2, uint64_t expected = 2) {
  std::string hello = encode_hello(opener.make_hello(1, "http://127.0.0.1:8001"));
  auto decoded = decode_hello(hello);
  REQUIRE(decoded.has_value());
  std::string why;
  STRATA_TRY(receiver.accept_version(*decoded, &why));
  auto issued = receiver.challenge(hello, receiver_id);
  STRATA_TRY_ASSIGN(std::string auth, opener.answer(hello, expected, issued.payload));
  return receiver.check_auth(hello, receiver_id, issued.nonce, auth);
}

TEST_CASE("two sides with the same secret complete the handshake; another secret fails on both sides") {
  SeededRandomBytes r1(1), r2(2);
  PeerAuth a(std::string(kSecret), r1), b(std::string(kSecret), r2);
  CHECK(exchange(a, b).has_value());
  // The opener checks the challenge first: with another secret it never sends an auth frame.
  SeededRandomBytes r3(3);
  PeerAuth other(std::string(kOtherSecret), r3);
  std::string hello = encode_hello(other.make_hello(1, "http://x"));
  auto issued = b.challenge(hello, 2);
  CHECK(other.answer(hello, 2, issued.payload).error() == make_error_code(Errc::permission_denied));
  // And a receiver with another secret refuses the MAC of an opener that skipped the check.
  std::string hello_a = encode_hello(a.make_hello(1, "http://x"));
  auto issued_other = other.challenge(hello_a, 2);
  std::string forged = encode_auth(hmac_sha256(kSecret, "anything"));
  CHECK(other.check_auth(hello_a, 2, issued_other.nonce, forged).error() == make_error_code(Errc::permission_denied));
}

TEST_CASE("a recorded hello and auth replayed against a fresh challenge are refused") {
  SeededRandomBytes r1(1), r2(2);
  PeerAuth opener(std::string(kSecret), r1), receiver(std::string(kSecret), r2);
  std::string hello = encode_hello(opener.make_hello(1, "http://x"));
  auto first = receiver.challenge(hello, 2);
  auto auth = opener.answer(hello, 2, first.payload);
  REQUIRE(auth.has_value());
  REQUIRE(receiver.check_auth(hello, 2, first.nonce, *auth).has_value());
  // The attacker replays both frames on a new connection: the receiver's nonce is new.
  auto second = receiver.challenge(hello, 2);
  CHECK(second.nonce != first.nonce);
  CHECK(receiver.check_auth(hello, 2, second.nonce, *auth).error() == make_error_code(Errc::permission_denied));
}

TEST_CASE("the challenge MAC does not pass as the auth MAC, nor a MAC for another receiver or URL") {
  SeededRandomBytes r1(1), r2(2);
  PeerAuth opener(std::string(kSecret), r1), receiver(std::string(kSecret), r2);
  std::string hello = encode_hello(opener.make_hello(1, "http://x"));
  auto issued = receiver.challenge(hello, 2);
  auto challenge = decode_challenge(issued.payload);
  REQUIRE(challenge.has_value());
  // Reflection: the receiver's own MAC sent back as the auth.
  CHECK_FALSE(receiver.check_auth(hello, 2, issued.nonce, encode_auth(challenge->mac)).has_value());
  // The opener expected node 3 but node 2 answered (a wrong address in --peers).
  CHECK(opener.answer(hello, 3, issued.payload).error() == make_error_code(Errc::permission_denied));
  // A hello whose URL an attacker rewrote in flight no longer matches the MAC.
  auto auth = opener.answer(hello, 2, issued.payload);
  REQUIRE(auth.has_value());
  Hello h = *decode_hello(hello);
  h.http_url = "http://evil.example";
  CHECK_FALSE(receiver.check_auth(encode_hello(h), 2, issued.nonce, *auth).has_value());
}

TEST_CASE("a receiver refuses a hello without a MAC when it has a secret, and one with a MAC when it has none") {
  SeededRandomBytes r(7);
  PeerAuth with(std::string(kSecret), r), without("", r);
  std::string why;
  CHECK(with.accept_version(without.make_hello(1, "u"), &why).error() == make_error_code(Errc::permission_denied));
  CHECK(why.find("no MAC") != std::string::npos);
  CHECK(without.accept_version(with.make_hello(1, "u"), &why).error() == make_error_code(Errc::permission_denied));
  CHECK(without.accept_version(without.make_hello(1, "u"), &why).has_value());
  CHECK(with.make_hello(1, "u").version == kPeerProtocolVersionAuth);
  CHECK(with.make_hello(1, "u").nonce.size() == kNonceBytes);
}

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2") {
  std::string mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  static const unsigned char kExpected[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                            0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                            0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  CHECK(mac == std::string(reinterpret_cast<const char*>(kExpected), sizeof kExpected));
  CHECK(macs_equal(mac, mac));
  CHECK_FALSE(macs_equal(mac, mac.substr(1)));
}

TEST_CASE("the secret file: one trailing newline dropped, too short or unreadable refused, loose modes reported") {
  strata::testing::TempDir dir;
  auto write = [&](const std::string& name, const std::string& content, mode_t mode) {
    std::string path = dir.path() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    ::chmod(path.c_str(), mode);
    return path;
  };
  std::string why;
  bool loose = true;
  auto ok = load_peer_secret(write("good", std::string(kSecret) + "\n", 0600), &why, &loose);
  REQUIRE(ok.has_value());
  CHECK(*ok == kSecret);
  CHECK_FALSE(loose);
  auto crlf = load_peer_secret(write("crlf", std::string(kSecret) + "\r\n", 0644), &why, &loose);
  REQUIRE(crlf.has_value());
  CHECK(*crlf == kSecret);
  CHECK(loose);
  CHECK_FALSE(load_peer_secret(write("short", "tooshort\n", 0600), &why, &loose).has_value());
  CHECK(why.find("16 to 4096 bytes") != std::string::npos);
  CHECK_FALSE(load_peer_secret(write("long", std::string(kMaxSecretBytes + 1, 'x'), 0600), &why, &loose).has_value());
  CHECK_FALSE(load_peer_secret(dir.path() + "/missing", &why, &loose).has_value());
}

// ---- live transports ----

// A transport with a secret (node 2) and a RawClient that plays the opener's side by hand.
struct Secured {
  SeededRandomBytes random{42};
  Limited l{[this](PeerTransportOptions& o) {
    o.secret = std::string(kSecret);
    o.random = &random;
    o.handshake_timeout_ms = 2000;
  }};
};

// Frames encoded back to back, to send in one write (a refused connection may close between two).
std::string frames(std::initializer_list<std::pair<FrameType, std::string>> list) {
  std::string out;
  for (const auto& [type, payload] : list) encode_frame(&out, type, payload);
  return out;
}

// A frame read from a RawClient (the receiver's challenge). nullopt when the connection closed.
std::optional<std::pair<FrameType, std::string>> read_frame_raw(const RawClient& c) {
  timeval tv{5, 0};
  ::setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto read_exact = [&](char* p, size_t n) {
    while (n > 0) {
      ssize_t got = ::recv(c.fd, p, n, 0);
      if (got <= 0) return false;
      p += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  };
  char hdr[kFrameHeaderBytes];
  if (!read_exact(hdr, sizeof hdr)) return std::nullopt;
  auto h = decode_frame_header(std::string_view(hdr, sizeof hdr));
  REQUIRE(h.has_value());
  std::string payload(h->length, '\0');
  if (!read_exact(payload.data(), payload.size())) return std::nullopt;
  REQUIRE(check_frame_payload(*h, payload).has_value());
  return std::make_pair(h->type, payload);
}

TEST_CASE("a transport with a secret refuses a hello without a MAC, with a wrong MAC, and a replayed one") {
  Secured s;
  // No MAC: a version 1 hello (what a node without --peer-secret-file sends), then a forged message.
  RawClient plain(s.l.port);
  plain.send_bytes(frames({{FrameType::hello, encode_hello(Hello{1, "http://forger"})},
                           {FrameType::raft, raft::encode_message(msg(1, 2, 1))}}));
  CHECK(plain.closed_within(std::chrono::milliseconds(5000)));

  // A wrong MAC: the attacker answers the challenge with a MAC under a guessed secret.
  SeededRandomBytes attacker_random(9);
  PeerAuth attacker(std::string(kOtherSecret), attacker_random);
  RawClient wrong(s.l.port);
  std::string hello = encode_hello(attacker.make_hello(1, "http://forger"));
  wrong.send_frame(FrameType::hello, hello);
  auto challenge = read_frame_raw(wrong);
  REQUIRE(challenge.has_value());
  CHECK(challenge->first == FrameType::challenge);
  wrong.send_frame(FrameType::auth, encode_auth(hmac_sha256(kOtherSecret, challenge->second)));
  CHECK(wrong.closed_within(std::chrono::milliseconds(5000)));

  // A replay: a member's hello and auth recorded from a good handshake, sent again.
  SeededRandomBytes member_random(5);
  PeerAuth member(std::string(kSecret), member_random);
  std::string good_hello = encode_hello(member.make_hello(1, "http://127.0.0.1:8001"));
  RawClient good(s.l.port);
  good.send_frame(FrameType::hello, good_hello);
  auto good_challenge = read_frame_raw(good);
  REQUIRE(good_challenge.has_value());
  auto good_auth = member.answer(good_hello, 2, good_challenge->second);
  REQUIRE(good_auth.has_value());
  good.send_frame(FrameType::auth, *good_auth);
  good.send_frame(FrameType::raft, raft::encode_message(msg(1, 2, 1)));
  REQUIRE(wait_until([&] { return s.l.r.count() == 1; }));  // the member's message arrived

  RawClient replay(s.l.port);
  replay.send_frame(FrameType::hello, good_hello);
  auto fresh = read_frame_raw(replay);
  REQUIRE(fresh.has_value());
  CHECK(fresh->second != good_challenge->second);  // a new nonce
  replay.send_bytes(frames({{FrameType::auth, *good_auth}, {FrameType::raft, raft::encode_message(msg(1, 2, 2))}}));
  CHECK(replay.closed_within(std::chrono::milliseconds(5000)));

  CHECK(wait_until([&] { return s.l.t->stats().auth_failures == 3; }));
  CHECK(s.l.r.count() == 1);  // nothing from the forgers reached the node
  CHECK(s.l.t->stats().authenticated);
  std::lock_guard lock(s.l.r.mu);
  CHECK(s.l.r.urls.at(1) == "http://127.0.0.1:8001");
}

// A source that gives the same bytes every time: what a receiver without fresh nonces would do.
struct ConstantRandom final : RandomBytes {
  void fill(std::span<uint8_t> out) override { std::fill(out.begin(), out.end(), uint8_t{7}); }
};

TEST_CASE(
    "control: with a receiver that repeats its nonce the replay would pass, so the fresh nonce is what stops it") {
  ConstantRandom constant;
  Limited l([&](PeerTransportOptions& o) {
    o.secret = std::string(kSecret);
    o.random = &constant;
  });
  SeededRandomBytes member_random(5);
  PeerAuth member(std::string(kSecret), member_random);
  std::string hello = encode_hello(member.make_hello(1, "http://127.0.0.1:8001"));
  std::string auth;
  {
    RawClient good(l.port);
    good.send_frame(FrameType::hello, hello);
    auto challenge = read_frame_raw(good);
    REQUIRE(challenge.has_value());
    auth = *member.answer(hello, 2, challenge->second);
    good.send_frame(FrameType::auth, auth);
    REQUIRE(wait_until([&] {
      std::lock_guard lock(l.r.mu);
      return l.r.urls.size() == 1;
    }));
  }
  RawClient replay(l.port);
  replay.send_frame(FrameType::hello, hello);
  REQUIRE(read_frame_raw(replay).has_value());
  replay.send_bytes(frames({{FrameType::auth, auth}, {FrameType::raft, raft::encode_message(msg(1, 2, 1))}}));
  CHECK(wait_until([&] { return l.r.count() == 1; }));
  CHECK(l.t->stats().auth_failures == 0);
}

TEST_CASE("two transports with the same secret deliver; with different secrets nothing passes and both count it") {
  // Sends 20 messages each way; waits for them all (`expect_delivery`), or else for both sides to
  // have refused a handshake, and then says what arrived.
  auto run = [](std::string secret1, std::string secret2, bool expect_delivery) {
    Loop loop;
    Recorder r1, r2;
    SeededRandomBytes rnd1(11), rnd2(12);
    uint16_t p1 = free_port(), p2 = free_port();
    auto make = [&](uint64_t id, uint16_t port, Recorder* r, std::string secret, RandomBytes* rnd) {
      PeerTransportOptions o;
      o.node_id = id;
      o.listen_port = port;
      o.http_url = "http://127.0.0.1:" + std::to_string(8000 + id);
      o.peers = {{1, "127.0.0.1:" + std::to_string(p1)}, {2, "127.0.0.1:" + std::to_string(p2)}};
      o.secret = std::move(secret);
      o.random = rnd;
      auto t = std::make_unique<PeerTransport>(loop.io.get_executor(), o, r);
      REQUIRE(t->listen().has_value());
      t->start();
      return t;
    };
    auto t1 = make(1, p1, &r1, std::move(secret1), &rnd1);
    auto t2 = make(2, p2, &r2, std::move(secret2), &rnd2);
    for (uint64_t i = 0; i < 20; ++i) {
      t1->send(msg(1, 2, i));
      t2->send(msg(2, 1, i));
    }
    bool delivered = false;
    if (expect_delivery) {
      delivered = wait_until([&] { return r1.count() == 20 && r2.count() == 20; });
    } else {
      CHECK(wait_until([&] { return t1->stats().auth_failures + t2->stats().auth_failures >= 2; }));
    }
    auto failures = t1->stats().auth_failures + t2->stats().auth_failures;
    size_t got = r1.count() + r2.count();
    loop.run(t1->stop());
    loop.run(t2->stop());
    return std::make_tuple(delivered, failures, got);
  };
  auto [same_ok, same_failures, same_got] = run(std::string(kSecret), std::string(kSecret), true);
  CHECK(same_ok);
  CHECK(same_failures == 0);
  auto [diff_ok, diff_failures, diff_got] = run(std::string(kSecret), std::string(kOtherSecret), false);
  CHECK(diff_got == 0);
  CHECK(diff_failures >= 2);  // each opener refused the other's challenge
  auto [mixed_ok, mixed_failures, mixed_got] = run(std::string(kSecret), "", false);
  CHECK(mixed_got == 0);
  CHECK(mixed_failures >= 2);  // each receiver refused the other's hello version
}

}  // namespace
}  // namespace strata::net::peer
