// Peer framing: round trips, and every malformed header or payload is rejected.
#include <doctest/doctest.h>

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

}  // namespace
}  // namespace strata::net::peer
