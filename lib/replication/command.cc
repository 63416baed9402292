#include "lib/replication/command.h"

#include "lib/util/coding.h"

namespace strata::replication {

std::string encode_command(const Command& c) {
  std::string out;
  out.push_back(static_cast<char>(kCommandVersion));
  out.push_back(static_cast<char>(c.kind));
  put_fixed64(&out, c.incarnation);
  put_varint64(&out, c.origin);
  put_varint64(&out, c.proposal_id);
  out += c.body;
  return out;
}

Result<Command> decode_command(std::string_view in) {
  Command c;
  if (in.size() < 10 || static_cast<uint8_t>(in[0]) != kCommandVersion) return make_error_code(Errc::corruption);
  auto kind = static_cast<uint8_t>(in[1]);
  if (kind != 1 && kind != 2) return make_error_code(Errc::corruption);
  c.kind = static_cast<CommandKind>(kind);
  in.remove_prefix(2);
  if (!get_fixed64(&in, &c.incarnation) || !get_varint64(&in, &c.origin) || !get_varint64(&in, &c.proposal_id)) {
    return make_error_code(Errc::corruption);
  }
  c.body = in;
  return c;
}

std::string encode_peer_address(uint64_t id, std::string_view address) {
  std::string out;
  put_varint64(&out, id);
  put_length_prefixed(&out, address);
  return out;
}

Result<std::pair<uint64_t, std::string>> decode_peer_address(std::string_view body) {
  uint64_t id = 0;
  std::string_view addr;
  if (!get_varint64(&body, &id) || !get_length_prefixed(&body, &addr) || !body.empty() || id == 0) {
    return make_error_code(Errc::corruption);
  }
  return std::make_pair(id, std::string(addr));
}

std::string user_key(std::string_view key) {
  std::string k;
  k.reserve(key.size() + 1);
  k += kUserPrefix;
  k += key;
  return k;
}

namespace {

std::string member_key(std::string_view prefix, uint64_t id) {
  std::string k(prefix);
  for (int shift = 56; shift >= 0; shift -= 8) k.push_back(static_cast<char>((id >> shift) & 0xff));
  return k;
}

}  // namespace

std::string peer_key(uint64_t id) { return member_key(kPeerKeyPrefix, id); }
std::string removed_key(uint64_t id) { return member_key(kRemovedKeyPrefix, id); }

std::optional<uint64_t> member_id_of_key(std::string_view prefix, std::string_view key) {
  if (key.size() != prefix.size() + 8 || !key.starts_with(prefix)) return std::nullopt;
  uint64_t id = 0;
  for (size_t i = prefix.size(); i < key.size(); ++i) id = (id << 8) | static_cast<uint8_t>(key[i]);
  return id;
}

}  // namespace strata::replication
