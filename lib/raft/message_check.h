// Validation of the Raft messages a node receives from its peers (RELIABILITY.md promise 5: no
// input from a peer can crash a node). raft::Core::step runs it before it acts on a message; a
// message that a correct peer can never send is dropped and counted under a DropReason, and the
// driver (lib/replication) logs it. Assertions in lib/raft then guard only the node's own
// invariants.
//
// Two layers:
//   check_message_shape()  the checks that need nothing but the message: a known type, the
//                          fields its type may carry, terms and indexes within bounds, entries
//                          that form a contiguous run with non-decreasing terms no newer than the
//                          message's term (etcd-io/raft's logSlice.valid), consistent snapshot
//                          metadata. Pure; the codec fuzzer and tests call it directly.
//   Core::check_message()  the checks that need the receiver's state (defined in
//                          message_check.cc): from a member, not from ourselves, leader-only
//                          messages only from the term's known leader, a heartbeat's commit
//                          within our log, an acknowledgement within the leader's log.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/raft/messages.h"

namespace strata::raft {

// Terms and log indexes above this are never produced by a correct node (2^62 entries at ten
// million a second take 14,000 years); the bound keeps `index + n` and `term + 1` from wrapping.
inline constexpr uint64_t kMaxTermOrIndex = uint64_t{1} << 62;

// Why a message was dropped. Every reason but not_a_member names something a correct peer never
// sends; not_a_member is also what a removed node that has not learnt of its removal sends.
enum class DropReason : uint8_t {
  none = 0,
  misaddressed,         // `to` is not this node, or `from` is 0
  from_self,            // a peer message that claims this node's own id
  not_a_member,         // a response or request from a node outside the configuration
  unknown_type,         // a type value past kMaxMessageType
  bad_term,             // term 0 where one is required, a term where none is allowed, past the bound
  bad_fields,           // entries or a snapshot on a type that carries none; a missing context
  bad_entries,          // entries not contiguous after `index`, terms decreasing or newer than `term`
  bad_log_position,     // index/log_term past the bound or inconsistent (log_term 0 at index > 0)
  not_the_leader,       // app/heartbeat/snap/timeout_now/read_index_resp from someone other than
                        // the known leader of that term (Raft §5.2: one leader per term)
  commit_out_of_range,  // a heartbeat's commit past our last index (a leader sends min(match, commit))
  bad_response,         // an acknowledgement past the leader's last index, a hint past the index
  bad_snapshot,         // snapshot metadata: index or term 0, term past the message's, no voters,
                        // members unsorted, zero, or both voter and learner
};
inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::bad_snapshot) + 1;

const char* to_string(DropReason r);

// The state-free checks above. Local requests (prop, read_index) have term 0.
DropReason check_message_shape(const Message& m);

// Snapshot metadata a correct leader can produce: index and term nonzero and within the bound,
// at least one voter, voters and learners sorted, nonzero, unique and disjoint.
bool valid_snapshot_metadata(const SnapshotMetadata& md);

}  // namespace strata::raft
