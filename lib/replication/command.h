// The replicated state machine's encodings: what a Raft entry carries (a Command) and how the
// replicated DB lays out its keys (docs/format/raft_log.md, "State machine").
//
//   Command  := version u8 (=1) | kind u8 | incarnation fixed64 | origin varint | proposal id varint
//               | body
//   kind 1 write:        body = a WriteBatch representation (user keys as the client sent them)
//   kind 2 peer address: body = varint node id | bytes host:port
//
// Keys in the replicated DB: a user key k is stored as "u" + k; state machine metadata as "m" +
// name: "mapplied" (fixed64: the last applied log index, written in the same WriteBatch as the
// entries it covers), "mbootstrap" (the initial voters), "mpeer/" + 8-byte big-endian id (host:port
// of a member's peer endpoint) and "mremoved/" + 8-byte big-endian id (empty value: that node was
// removed by a configuration change and not added back since; written when the change is applied,
// in the same WriteBatch as "mapplied", so it is part of the state every member and every
// snapshot holds).
//
// `incarnation` is random per process start, so (incarnation, origin, proposal id) names one
// proposal even across restarts of the proposer: a waiter is never completed by an entry that a
// previous incarnation of its node proposed.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "strata/write_batch.h"
#include "strata/result.h"

namespace strata::replication {

inline constexpr uint8_t kCommandVersion = 1;
enum class CommandKind : uint8_t { write = 1, peer_address = 2 };

struct Command {
  CommandKind kind = CommandKind::write;
  uint64_t incarnation = 0;
  uint64_t origin = 0;
  uint64_t proposal_id = 0;
  std::string body;
};

std::string encode_command(const Command& c);
// Errors: corruption.
Result<Command> decode_command(std::string_view in);

std::string encode_peer_address(uint64_t id, std::string_view address);
Result<std::pair<uint64_t, std::string>> decode_peer_address(std::string_view body);

inline constexpr std::string_view kUserPrefix = "u";
inline constexpr std::string_view kAppliedKey = "mapplied";
inline constexpr std::string_view kPeerKeyPrefix = "mpeer/";
// varint ids of the voters the cluster was bootstrapped with (written on a node's first start).
inline constexpr std::string_view kBootstrapKey = "mbootstrap";
inline constexpr std::string_view kRemovedKeyPrefix = "mremoved/";
std::string user_key(std::string_view key);
std::string peer_key(uint64_t id);
std::string removed_key(uint64_t id);
// The id of a key made by peer_key or removed_key with `prefix`; nullopt for another key.
std::optional<uint64_t> member_id_of_key(std::string_view prefix, std::string_view key);

}  // namespace strata::replication
