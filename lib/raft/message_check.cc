#include "lib/raft/message_check.h"

#include "lib/raft/core.h"

namespace strata::raft {

const char* to_string(DropReason r) {
  switch (r) {
    case DropReason::none: return "none";
    case DropReason::misaddressed: return "misaddressed";
    case DropReason::from_self: return "from_self";
    case DropReason::not_a_member: return "not_a_member";
    case DropReason::unknown_type: return "unknown_type";
    case DropReason::bad_term: return "bad_term";
    case DropReason::bad_fields: return "bad_fields";
    case DropReason::bad_entries: return "bad_entries";
    case DropReason::bad_log_position: return "bad_log_position";
    case DropReason::not_the_leader: return "not_the_leader";
    case DropReason::commit_out_of_range: return "commit_out_of_range";
    case DropReason::bad_response: return "bad_response";
    case DropReason::bad_snapshot: return "bad_snapshot";
  }
  return "unknown";
}

namespace {

bool sorted_nonzero_unique(const std::vector<uint64_t>& ids) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == kNone || (i > 0 && ids[i] <= ids[i - 1])) return false;
  }
  return true;
}

// Raft §5.3: the entries of an append follow prevLogIndex one by one; a leader's log never has a
// term decrease, and holds no term newer than the leader's own (etcd-io/raft's logSlice.valid).
bool valid_entries(const Message& m) {
  uint64_t prev_term = m.log_term;
  for (size_t i = 0; i < m.entries.size(); ++i) {
    const Entry& e = m.entries[i];
    if (e.index != m.index + 1 + i || e.term == 0 || e.term < prev_term || e.term > m.term ||
        static_cast<uint8_t>(e.type) > static_cast<uint8_t>(EntryType::conf_change)) {
      return false;
    }
    prev_term = e.term;
  }
  return true;
}

// A (last) log position: log_term is 0 exactly at index 0 (the empty log), never newer than the
// sender's term.
bool valid_position(uint64_t index, uint64_t log_term, uint64_t term) {
  return index < kMaxTermOrIndex && log_term <= term && (index == 0) == (log_term == 0);
}

}  // namespace

bool valid_snapshot_metadata(const SnapshotMetadata& md) {
  const ConfState& cs = md.conf_state;
  if (md.index == 0 || md.term == 0 || md.index >= kMaxTermOrIndex || md.term >= kMaxTermOrIndex || cs.voters.empty() ||
      !sorted_nonzero_unique(cs.voters) || !sorted_nonzero_unique(cs.learners)) {
    return false;
  }
  for (uint64_t id : cs.learners) {
    if (cs.is_voter(id)) return false;
  }
  return true;
}

DropReason check_message_shape(const Message& m) {
  if (static_cast<uint8_t>(m.type) > kMaxMessageType) return DropReason::unknown_type;
  bool local_request = m.type == MessageType::prop || m.type == MessageType::read_index;
  // Proposals and read requests are term-less (a follower forwards them as they were made);
  // everything else carries the sender's term.
  if (local_request ? m.term != 0 : (m.term == 0 || m.term >= kMaxTermOrIndex)) return DropReason::bad_term;
  bool carries_entries = m.type == MessageType::app || m.type == MessageType::prop;
  if (!carries_entries && !m.entries.empty()) return DropReason::bad_fields;
  if ((m.type == MessageType::snap) != m.snapshot.has_value()) return DropReason::bad_fields;
  if (m.index >= kMaxTermOrIndex || m.commit >= kMaxTermOrIndex || m.reject_hint >= kMaxTermOrIndex ||
      m.log_term >= kMaxTermOrIndex) {
    return DropReason::bad_log_position;
  }
  switch (m.type) {
    case MessageType::prop:
      if (m.entries.empty()) return DropReason::bad_fields;
      for (const Entry& e : m.entries) {
        // Membership changes enter only through the leader's propose_conf_change.
        if (e.type != EntryType::normal) return DropReason::bad_entries;
      }
      return DropReason::none;
    case MessageType::vote:
    case MessageType::pre_vote:
      if (!valid_position(m.index, m.log_term, m.term)) return DropReason::bad_log_position;
      return DropReason::none;
    case MessageType::app:
      if (!valid_position(m.index, m.log_term, m.term)) return DropReason::bad_log_position;
      if (m.entries.size() >= kMaxTermOrIndex - m.index) return DropReason::bad_entries;
      if (!valid_entries(m)) return DropReason::bad_entries;
      return DropReason::none;
    case MessageType::app_resp:
      if (m.log_term > m.term) return DropReason::bad_log_position;
      // A rejection's hint is the largest index <= the rejected one that may still match.
      if (m.reject ? m.reject_hint > m.index : m.reject_hint != 0) return DropReason::bad_response;
      return DropReason::none;
    case MessageType::snap:
      if (!valid_snapshot_metadata(m.snapshot->metadata) || m.snapshot->metadata.term > m.term) {
        return DropReason::bad_snapshot;
      }
      return DropReason::none;
    case MessageType::read_index:
    case MessageType::read_index_resp:
      // A read is matched to its reply by a context that is never empty.
      if (m.context.empty()) return DropReason::bad_fields;
      return DropReason::none;
    case MessageType::vote_resp:
    case MessageType::pre_vote_resp:
    case MessageType::heartbeat:
    case MessageType::heartbeat_resp:
    case MessageType::timeout_now: return DropReason::none;
  }
  return DropReason::unknown_type;
}

// ---- Core: the checks against the receiver's state ----

uint64_t Core::dropped_total() const {
  uint64_t n = 0;
  for (uint64_t c : dropped_) n += c;
  return n;
}

DropReason Core::check_message(const Message& m) const {
  if (m.to != id_ || m.from == kNone) return DropReason::misaddressed;
  if (DropReason r = check_message_shape(m); r != DropReason::none) return r;
  bool local_request = m.type == MessageType::prop || m.type == MessageType::read_index;
  if (m.from == id_) return local_request ? DropReason::none : DropReason::from_self;
  // Messages a leader sends (and vote requests) are taken from a node outside our configuration:
  // ours may lag (a follower that missed the entries adding the current leader learns of them
  // only from that leader). Responses and requests to a leader come from the members it knows.
  bool member = conf_.is_voter(m.from) || conf_.is_learner(m.from);
  if (!member && (is_response(m.type) || local_request)) return DropReason::not_a_member;
  bool from_leader = m.type == MessageType::app || m.type == MessageType::heartbeat || m.type == MessageType::snap ||
                     m.type == MessageType::timeout_now || m.type == MessageType::read_index_resp;
  // Raft §5.2 (Election Safety): a term has at most one leader, so once we know it, nobody else
  // speaks as the leader of that term.
  if (from_leader && m.term == term_ && lead_ != kNone && lead_ != m.from) return DropReason::not_the_leader;
  // A leader sends min(the follower's match, its commit) (send_heartbeat): never past our log.
  // etcd-io/raft's follower asserts on this (raftLog.commitTo); we drop the message.
  if (m.type == MessageType::heartbeat && m.term >= term_ && m.commit > log_.last_index()) {
    return DropReason::commit_out_of_range;
  }
  // Acknowledgements answer our own appends of this term: never past our log, which a leader
  // never truncates. (A follower answers with at most its commit index, which our log holds.)
  if (m.type == MessageType::app_resp && role_ == Role::leader && m.term == term_ && m.index > log_.last_index()) {
    return DropReason::bad_response;
  }
  return DropReason::none;
}

}  // namespace strata::raft
