#include "net/peer/frame.h"

#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/crc32c.h"

namespace strata::net::peer {

namespace {

uint32_t frame_crc(FrameType type, std::string_view payload) {
  char t = static_cast<char>(type);
  uint32_t crc = crc32c::value(&t, 1);
  return crc32c::mask(crc32c::extend(crc, payload.data(), payload.size()));
}

ErrorCode corrupt() { return make_error_code(Errc::corruption); }

}  // namespace

void encode_frame(std::string* out, FrameType type, std::string_view payload) {
  STRATA_ASSERT(payload.size() <= kMaxFramePayloadBytes);
  put_fixed32(out, static_cast<uint32_t>(payload.size()));
  put_fixed32(out, frame_crc(type, payload));
  out->push_back(static_cast<char>(type));
  out->append(payload);
}

Result<FrameHeader> decode_frame_header(std::string_view header) {
  if (header.size() != kFrameHeaderBytes) return corrupt();
  FrameHeader h;
  h.length = decode_fixed32(header.data());
  h.masked_crc = decode_fixed32(header.data() + 4);
  auto t = static_cast<uint8_t>(header[8]);
  if (h.length > kMaxFramePayloadBytes || t == 0 || t > kMaxFrameType) return corrupt();
  h.type = static_cast<FrameType>(t);
  return h;
}

Result<void> check_frame_payload(const FrameHeader& h, std::string_view payload) {
  if (payload.size() != h.length || frame_crc(h.type, payload) != h.masked_crc) return corrupt();
  return ok();
}

std::string encode_hello(const Hello& h) {
  std::string out;
  put_varint64(&out, h.node_id);
  put_length_prefixed(&out, h.http_url);
  put_varint32(&out, h.version);
  if (h.version >= kPeerProtocolVersionAuth) put_length_prefixed(&out, h.nonce);
  return out;
}

Result<Hello> decode_hello(std::string_view in) {
  Hello h;
  std::string_view url, nonce;
  if (!get_varint64(&in, &h.node_id) || !get_length_prefixed(&in, &url) || !get_varint32(&in, &h.version) ||
      h.node_id == 0 || url.size() > 1024) {
    return corrupt();
  }
  if (h.version == kPeerProtocolVersionAuth) {
    if (!get_length_prefixed(&in, &nonce) || nonce.size() != kNonceBytes) return corrupt();
  } else if (h.version != kPeerProtocolVersion) {
    return corrupt();
  }
  if (!in.empty()) return corrupt();
  h.http_url = url;
  h.nonce = nonce;
  return h;
}

std::string encode_challenge(const Challenge& c) {
  std::string out;
  put_varint64(&out, c.receiver_id);
  put_length_prefixed(&out, c.nonce);
  put_length_prefixed(&out, c.mac);
  return out;
}

Result<Challenge> decode_challenge(std::string_view in) {
  Challenge c;
  std::string_view nonce, mac;
  if (!get_varint64(&in, &c.receiver_id) || !get_length_prefixed(&in, &nonce) || !get_length_prefixed(&in, &mac) ||
      !in.empty() || c.receiver_id == 0 || nonce.size() != kNonceBytes || mac.size() != kMacBytes) {
    return corrupt();
  }
  c.nonce = nonce;
  c.mac = mac;
  return c;
}

std::string encode_auth(std::string_view mac) {
  std::string out;
  put_length_prefixed(&out, mac);
  return out;
}

Result<std::string> decode_auth(std::string_view in) {
  std::string_view mac;
  if (!get_length_prefixed(&in, &mac) || !in.empty() || mac.size() != kMacBytes) return corrupt();
  return std::string(mac);
}

std::string encode_snapshot_chunk(const replication::SnapshotChunk& c) {
  std::string out;
  put_varint64(&out, c.snapshot_id);
  put_length_prefixed(&out, c.file);
  put_varint64(&out, c.offset);
  put_length_prefixed(&out, c.data);
  return out;
}

Result<replication::SnapshotChunk> decode_snapshot_chunk(std::string_view in) {
  replication::SnapshotChunk c;
  std::string_view file, data;
  if (!get_varint64(&in, &c.snapshot_id) || !get_length_prefixed(&in, &file) || !get_varint64(&in, &c.offset) ||
      !get_length_prefixed(&in, &data) || !in.empty()) {
    return corrupt();
  }
  // A plain file name only: the receiver joins it to its staging directory.
  if (file.empty() || file.size() > 255 || file == "." || file == ".." || file.find('/') != std::string_view::npos ||
      file.find('\0') != std::string_view::npos) {
    return corrupt();
  }
  c.file = file;
  c.data = data;
  return c;
}

}  // namespace strata::net::peer
