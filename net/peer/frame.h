// Peer frames: the binary framing of everything nodes send each other over TCP
// (docs/format/peer_protocol.md).
//
//   frame := length fixed32 | masked crc32c fixed32 | type u8 | payload (length bytes)
//   crc    = crc32c(type | payload), masked as in the WAL (lib/util/crc32c.h)
//
// A frame longer than kMaxFramePayloadBytes, a bad CRC or an unknown type is a protocol error:
// the receiver closes the connection (never allocates more than the bound).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/replication/transport.h"
#include "strata/result.h"

namespace strata::net::peer {

enum class FrameType : uint8_t {
  hello = 1,       // varint node id | bytes http url | varint protocol version [| bytes nonce (v2)]
  raft = 2,        // a raft::Message (lib/raft/codec.h)
  snap_chunk = 3,  // varint snapshot id | bytes file name | varint offset | bytes data
  snap_end = 4,    // varint snapshot id | raft::Message (type snap)
  snap_ack = 5,    // varint snapshot id | u8 0 = ok, else an Errc value
  challenge = 6,   // receiver -> opener (v2): varint receiver id | bytes nonce | bytes MAC
  auth = 7,        // opener -> receiver (v2): bytes MAC
};
inline constexpr uint8_t kMaxFrameType = 7;
inline constexpr size_t kFrameHeaderBytes = 9;
inline constexpr uint32_t kMaxFramePayloadBytes = 64u << 20;
// Version 1: a plain hello (no cluster secret). Version 2: the hello carries a nonce and the
// connection is authenticated by the challenge/auth exchange (peer_auth.h).
inline constexpr uint32_t kPeerProtocolVersion = 1;
inline constexpr uint32_t kPeerProtocolVersionAuth = 2;
// Handshake nonces and MACs (HMAC-SHA256) are this long.
inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kMacBytes = 32;
// A hello (id, URL <= 1 KiB, version) is far smaller; the first frame of a connection is refused
// beyond this before anything is allocated for it.
inline constexpr uint32_t kMaxHelloPayloadBytes = 2048;
// Snapshot files travel in chunks of this size.
inline constexpr size_t kSnapshotChunkBytes = 1 << 20;

// Appends one frame to *out. REQUIRES: payload.size() <= kMaxFramePayloadBytes.
void encode_frame(std::string* out, FrameType type, std::string_view payload);

struct FrameHeader {
  uint32_t length = 0;
  uint32_t masked_crc = 0;
  FrameType type = FrameType::raft;
};
// Parses the kFrameHeaderBytes header. Errors: corruption (length over the bound, unknown type).
Result<FrameHeader> decode_frame_header(std::string_view header);
// Checks the payload against the header's CRC. Errors: corruption.
Result<void> check_frame_payload(const FrameHeader& h, std::string_view payload);

struct Hello {
  uint64_t node_id = 0;
  std::string http_url;
  uint32_t version = kPeerProtocolVersion;
  std::string nonce = {};  // version 2 only: kNonceBytes from the opener
};
std::string encode_hello(const Hello& h);
// Errors: corruption (id 0, URL over 1 KiB, a version other than 1 or 2, a nonce missing in
// version 2, present in 1, or not kNonceBytes long, trailing bytes).
Result<Hello> decode_hello(std::string_view in);

// The receiver's answer to a version 2 hello (peer_auth.h computes the MAC).
struct Challenge {
  uint64_t receiver_id = 0;
  std::string nonce;  // kNonceBytes
  std::string mac;    // kMacBytes
};
std::string encode_challenge(const Challenge& c);
// Errors: corruption (id 0, wrong nonce or MAC length, trailing bytes).
Result<Challenge> decode_challenge(std::string_view in);
// The opener's auth frame: its MAC. Errors: corruption (not kMacBytes, trailing bytes).
std::string encode_auth(std::string_view mac);
Result<std::string> decode_auth(std::string_view in);

std::string encode_snapshot_chunk(const replication::SnapshotChunk& c);
Result<replication::SnapshotChunk> decode_snapshot_chunk(std::string_view in);

}  // namespace strata::net::peer
