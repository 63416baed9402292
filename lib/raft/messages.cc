#include "lib/raft/messages.h"

#include <algorithm>

namespace strata::raft {

bool ConfState::is_voter(uint64_t id) const { return std::binary_search(voters.begin(), voters.end(), id); }

bool ConfState::is_learner(uint64_t id) const { return std::binary_search(learners.begin(), learners.end(), id); }

const char* to_string(MessageType t) {
  switch (t) {
    case MessageType::prop: return "prop";
    case MessageType::vote: return "vote";
    case MessageType::vote_resp: return "vote_resp";
    case MessageType::pre_vote: return "pre_vote";
    case MessageType::pre_vote_resp: return "pre_vote_resp";
    case MessageType::app: return "app";
    case MessageType::app_resp: return "app_resp";
    case MessageType::heartbeat: return "heartbeat";
    case MessageType::heartbeat_resp: return "heartbeat_resp";
    case MessageType::snap: return "snap";
    case MessageType::timeout_now: return "timeout_now";
    case MessageType::read_index: return "read_index";
    case MessageType::read_index_resp: return "read_index_resp";
  }
  return "unknown";
}

bool is_response(MessageType t) {
  return t == MessageType::vote_resp || t == MessageType::pre_vote_resp || t == MessageType::app_resp ||
         t == MessageType::heartbeat_resp;
}

}  // namespace strata::raft
