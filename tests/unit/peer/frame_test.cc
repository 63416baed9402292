// Peer framing: round trips, and every malformed header or payload is rejected.
#include <doctest/doctest.h>

#include <cstring>

#include "lib/util/coding.h"
#include "net/peer/frame.h"

namespace strata::net::peer {
namespace {

TEST_CASE("a frame round-trips and any flipped bit is detected") {
  std::string f;
  encode_frame(&f, FrameType::raft, "hello raft");
  REQUIRE(f.size() == kFrameHeaderBytes + 10);
  auto h = decode_frame_header(std::string_view(f).substr(0, kFrameHeaderBytes));
  REQUIRE(h.has_value());
  CHECK(h->type == FrameType::raft);
  CHECK(h->length == 10);
  CHECK(check_frame_payload(*h, std::string_view(f).substr(kFrameHeaderBytes)).has_value());
  int detected = 0, total = 0;
  for (size_t byte = 4; byte < f.size(); ++byte) {  // the length field is checked by size
    for (int bit = 0; bit < 8; ++bit) {
      std::string g = f;
      g[byte] ^= static_cast<char>(1 << bit);
      ++total;
      auto gh = decode_frame_header(std::string_view(g).substr(0, kFrameHeaderBytes));
      if (!gh || !check_frame_payload(*gh, std::string_view(g).substr(kFrameHeaderBytes))) ++detected;
    }
  }
  CHECK(total > 100);
  CHECK(detected == total);
}

TEST_CASE("a frame longer than the bound or of an unknown type is rejected before reading it") {
  std::string f;
  encode_frame(&f, FrameType::hello, "x");
  std::string big = f.substr(0, kFrameHeaderBytes);
  uint32_t len = kMaxFramePayloadBytes + 1;
  std::memcpy(big.data(), &len, 4);
  CHECK_FALSE(decode_frame_header(big).has_value());
  std::string bad_type = f.substr(0, kFrameHeaderBytes);
  bad_type[8] = 0;
  CHECK_FALSE(decode_frame_header(bad_type).has_value());
  bad_type[8] = static_cast<char>(kMaxFrameType + 1);
  CHECK_FALSE(decode_frame_header(bad_type).has_value());
}

TEST_CASE("snapshot chunks round-trip and file names with a path are refused") {
  replication::SnapshotChunk c{7, "000012.sst", 1 << 20, std::string(100, 'z')};
  auto d = decode_snapshot_chunk(encode_snapshot_chunk(c));
  REQUIRE(d.has_value());
  CHECK(*d == c);
  for (const char* name : {"../etc", "a/b", "..", ".", ""}) {
    replication::SnapshotChunk bad{1, name, 0, "x"};
    CHECK_FALSE(decode_snapshot_chunk(encode_snapshot_chunk(bad)).has_value());
  }
}

TEST_CASE("hello round-trips; id 0 and trailing bytes are refused") {
  Hello h{3, "http://127.0.0.1:8002"};
  auto d = decode_hello(encode_hello(h));
  REQUIRE(d.has_value());
  CHECK(d->node_id == 3);
  CHECK(d->http_url == h.http_url);
  CHECK_FALSE(decode_hello(encode_hello(Hello{0, "x"})).has_value());
  CHECK_FALSE(decode_hello(encode_hello(h) + "x").has_value());
}

TEST_CASE("a version 2 hello carries a nonce of exactly kNonceBytes; other versions are refused") {
  Hello h{3, "http://127.0.0.1:8002", kPeerProtocolVersionAuth, std::string(kNonceBytes, 'n')};
  auto d = decode_hello(encode_hello(h));
  REQUIRE(d.has_value());
  CHECK(d->version == kPeerProtocolVersionAuth);
  CHECK(d->nonce == h.nonce);
  Hello short_nonce = h;
  short_nonce.nonce.pop_back();
  CHECK_FALSE(decode_hello(encode_hello(short_nonce)).has_value());
  Hello v3 = h;
  v3.version = 3;
  CHECK_FALSE(decode_hello(encode_hello(v3)).has_value());
  // A version 1 hello with a nonce appended has trailing bytes.
  Hello v1{3, "u"};
  std::string with_nonce = encode_hello(v1);
  put_length_prefixed(&with_nonce, std::string(kNonceBytes, 'n'));
  CHECK_FALSE(decode_hello(with_nonce).has_value());
}

TEST_CASE("challenge and auth frames round-trip; wrong lengths and id 0 are refused") {
  Challenge c{2, std::string(kNonceBytes, 'a'), std::string(kMacBytes, 'm')};
  auto d = decode_challenge(encode_challenge(c));
  REQUIRE(d.has_value());
  CHECK(d->receiver_id == 2);
  CHECK(d->nonce == c.nonce);
  CHECK(d->mac == c.mac);
  CHECK_FALSE(decode_challenge(encode_challenge(Challenge{0, c.nonce, c.mac})).has_value());
  CHECK_FALSE(decode_challenge(encode_challenge(Challenge{2, "short", c.mac})).has_value());
  CHECK_FALSE(decode_challenge(encode_challenge(Challenge{2, c.nonce, "short"})).has_value());
  CHECK_FALSE(decode_challenge(encode_challenge(c) + "x").has_value());
  auto a = decode_auth(encode_auth(c.mac));
  REQUIRE(a.has_value());
  CHECK(*a == c.mac);
  CHECK_FALSE(decode_auth(encode_auth("short")).has_value());
  CHECK_FALSE(decode_auth(encode_auth(c.mac) + "x").has_value());
}

}  // namespace
}  // namespace strata::net::peer
