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
#include "lib/util/result.h"

namespace strata::net::peer {

enum class FrameType : uint8_t {
  hello = 1,       // varint node id | bytes http url | varint protocol version
  raft = 2,        // a raft::Message (lib/raft/codec.h)
  snap_chunk = 3,  // varint snapshot id | bytes file name | varint offset | bytes data
  snap_end = 4,    // varint snapshot id | raft::Message (type snap)
  snap_ack = 5,    // varint snapshot id | u8 0 = ok, else an Errc value
};
inline constexpr uint8_t kMaxFrameType = 5;
inline constexpr size_t kFrameHeaderBytes = 9;
inline constexpr uint32_t kMaxFramePayloadBytes = 64u << 20;
inline constexpr uint32_t kPeerProtocolVersion = 1;
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
};
std::string encode_hello(const Hello& h);
Result<Hello> decode_hello(std::string_view in);

std::string encode_snapshot_chunk(const replication::SnapshotChunk& c);
Result<replication::SnapshotChunk> decode_snapshot_chunk(std::string_view in);

}  // namespace strata::net::peer
