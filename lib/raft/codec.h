// Binary encoding of Raft messages, entries, hard state, snapshot metadata and conf changes,
// built on lib/util/coding.h (varints and length-prefixed bytes). Byte layout:
// docs/format/raft_message.md.
//
// Invariants: decode(encode(x)) == x. Decoding arbitrary bytes never crashes and never allocates
// more than the input can justify: every count and length is checked against the bytes that
// remain before anything is reserved or copied. Malformed input yields Errc::corruption.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "lib/raft/messages.h"
#include "strata/result.h"

namespace strata::raft {

// The first byte of an encoded Message; bumped whenever the layout changes.
inline constexpr uint8_t kMessageFormatVersion = 1;

void encode_entry(std::string* dst, const Entry& e);
// Consumes one entry from the front of *in.
Result<Entry> decode_entry(std::string_view* in);

std::string encode_message(const Message& m);
// REQUIRES: `in` holds exactly one encoded message (trailing bytes are corruption).
Result<Message> decode_message(std::string_view in);

std::string encode_hard_state(const HardState& hs);
Result<HardState> decode_hard_state(std::string_view in);

void encode_snapshot_metadata(std::string* dst, const SnapshotMetadata& md);
// Consumes one metadata record from the front of *in.
Result<SnapshotMetadata> decode_snapshot_metadata(std::string_view* in);

std::string encode_conf_change(const ConfChange& cc);
Result<ConfChange> decode_conf_change(std::string_view in);

}  // namespace strata::raft
