// Raft wire and log types: the messages that raft::Core exchanges with its peers, log entries,
// the hard state that must be persisted before messages are sent, and snapshots.
//
// The shapes follow etcd-io/raft's raftpb (one Message struct whose fields are interpreted per
// type) so that every message is one value that the codec (codec.h) can frame, and the Core can
// be driven by a table of messages in tests. Fields that a message type does not use stay zero.
//
// Field meaning per type (Raft paper = "Raft", Ongaro's thesis = "thesis"):
//   vote / pre_vote          index, log_term = candidate's last log index and term (Raft §5.4.1);
//                            term = the candidate's term (for pre_vote: the term it would use);
//                            force = leadership transfer, bypasses the leader lease (thesis §3.10).
//   vote_resp/pre_vote_resp  reject = vote denied.
//   app                      index, log_term = prevLogIndex, prevLogTerm; entries; commit.
//   app_resp                 !reject: index = last index known to match the leader.
//                            reject: index = the rejected prevLogIndex, reject_hint + log_term =
//                            the follower's fast-backtracking hint (see core.h).
//   heartbeat                commit = min(follower's match, leader's commit); context = ReadIndex.
//   heartbeat_resp           context echoed back.
//   snap                     snapshot (Raft §7, InstallSnapshot).
//   timeout_now              start an election at once (thesis §3.10).
//   read_index               context; sent by a follower to the leader (thesis §6.4).
//   read_index_resp          index = the read index, context.
//   prop                     entries; forwarded by a follower to the leader, term 0.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strata::raft {

// Node ids are nonzero; 0 means "none" (no leader, no vote).
inline constexpr uint64_t kNone = 0;

enum class EntryType : uint8_t { normal = 0, conf_change = 1 };

struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  EntryType type = EntryType::normal;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// What Raft §5 calls the persistent state on all servers (the log is persisted separately).
struct HardState {
  uint64_t term = 0;
  uint64_t vote = kNone;
  uint64_t commit = 0;

  bool operator==(const HardState&) const = default;
  bool empty() const { return term == 0 && vote == kNone && commit == 0; }
};

// The cluster configuration. Invariant: voters and learners are sorted and disjoint.
struct ConfState {
  std::vector<uint64_t> voters;
  std::vector<uint64_t> learners;

  bool operator==(const ConfState&) const = default;
  bool is_voter(uint64_t id) const;
  bool is_learner(uint64_t id) const;
};

struct SnapshotMetadata {
  uint64_t index = 0;  // the last log index the snapshot covers
  uint64_t term = 0;   // the term of that entry
  ConfState conf_state;

  bool operator==(const SnapshotMetadata&) const = default;
};

struct Snapshot {
  SnapshotMetadata metadata;
  std::string data;  // opaque to Raft: the state machine's image at metadata.index

  bool operator==(const Snapshot&) const = default;
  bool empty() const { return metadata.index == 0; }
};

// A single-server membership change (thesis §4.1), carried in an EntryType::conf_change entry.
enum class ConfChangeType : uint8_t { add_voter = 0, add_learner = 1, remove = 2 };

struct ConfChange {
  ConfChangeType type = ConfChangeType::add_voter;
  uint64_t node_id = kNone;

  bool operator==(const ConfChange&) const = default;
};

enum class MessageType : uint8_t {
  prop = 0,
  vote = 1,
  vote_resp = 2,
  pre_vote = 3,
  pre_vote_resp = 4,
  app = 5,
  app_resp = 6,
  heartbeat = 7,
  heartbeat_resp = 8,
  snap = 9,
  timeout_now = 10,
  read_index = 11,
  read_index_resp = 12,
};
inline constexpr uint8_t kMaxMessageType = 12;

const char* to_string(MessageType t);

struct Message {
  MessageType type = MessageType::app;
  uint64_t to = kNone;
  uint64_t from = kNone;
  uint64_t term = 0;
  uint64_t log_term = 0;
  uint64_t index = 0;
  uint64_t commit = 0;
  bool reject = false;
  bool force = false;
  uint64_t reject_hint = 0;
  std::vector<Entry> entries;
  std::optional<Snapshot> snapshot;
  std::string context;

  bool operator==(const Message&) const = default;
};

// True for the responses to (pre-)votes, appends and heartbeats.
bool is_response(MessageType t);

}  // namespace strata::raft
