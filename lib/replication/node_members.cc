// replication::Node: membership changes (thesis §4.2.1: a new server joins as a learner, then
// is promoted once it has caught up).
#include "lib/replication/node.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cinttypes>

#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/logging.h"

namespace strata::replication {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using raft::Role;

// Called on every tick. A learner that has caught up (within 10 entries of the commit index and
// heard from since the last check-quorum round) is promoted to voter. A learner the leader has
// not heard from for learner_timeout_ms is removed: a node whose --join was interrupted before
// it caught up (killed, never restarted) would otherwise stay a half-joined member forever,
// costing the leader appends and snapshot attempts. Joining is idempotent, so such a node, once
// restarted with --join, is added again (POST /v1/cluster/members adds a non-member, answers ok
// for a member). The timer starts when this node becomes leader or first sees the learner.
void Node::maybe_promote_learners_locked() {
  if (core_->role() != Role::leader) {
    learner_heard_.clear();
    return;
  }
  auto now = Clock::now();
  uint64_t commit = core_->log().committed();
  const std::vector<uint64_t>& learners = core_->conf_state().learners;
  std::erase_if(learner_heard_, [&](const auto& kv) {
    return std::find(learners.begin(), learners.end(), kv.first) == learners.end();
  });
  for (uint64_t id : learners) {
    const raft::Progress* p = core_->progress(id);
    auto [heard, fresh] = learner_heard_.try_emplace(id, now);
    (void)fresh;
    if (p != nullptr && p->recent_active()) heard->second = now;
    if (p == nullptr || p->match() + 10 < commit || !p->recent_active()) {
      auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(now - heard->second);
      if (options_.learner_timeout_ms == 0 || silent.count() < options_.learner_timeout_ms) continue;
      auto r = core_->propose_conf_change(raft::ConfChange{raft::ConfChangeType::remove, id});
      if (r) {
        STRATA_LOG(warn,
                   "node %" PRIu64 ": removing learner %" PRIu64
                   ": not heard from for %lld ms before it caught up "
                   "(match %" PRIu64 ", commit %" PRIu64 "); restarting it with --join adds it again",
                   options_.id, id, static_cast<long long>(silent.count()), p ? p->match() : 0, commit);
        learner_heard_.erase(id);
        ++stats_.learners_removed;
        notify_locked();
      }
      return;  // one change at a time
    }
    auto r = core_->propose_conf_change(raft::ConfChange{raft::ConfChangeType::add_voter, id});
    if (r) {
      STRATA_LOG(info, "node %" PRIu64 ": promoting learner %" PRIu64 " to voter", options_.id, id);
      notify_locked();
    }
    return;  // one change at a time
  }
}

asio::awaitable<Result<void>> Node::add_member(uint64_t id, std::string peer_address) {
  if (id == 0 || peer_address.empty()) co_return make_error_code(Errc::invalid_argument);
  {
    std::lock_guard lock(mu_);
    if (core_->role() != Role::leader) co_return make_error_code(Errc::not_leader);
    if (core_->conf_state().is_voter(id) || core_->conf_state().is_learner(id)) co_return ok();
  }
  // 1. Replicate the new member's address, so every node (and later snapshots) can reach it.
  STRATA_CO_TRY(co_await propose_and_wait(CommandKind::peer_address, encode_peer_address(id, peer_address)));
  // 2. Add it as a learner; the leader promotes it once it has caught up.
  co_return co_await change_membership(raft::ConfChange{raft::ConfChangeType::add_learner, id});
}

asio::awaitable<Result<void>> Node::remove_member(uint64_t id) {
  {
    std::lock_guard lock(mu_);
    const raft::ConfState& cs = core_->conf_state();
    if (!cs.is_voter(id) && !cs.is_learner(id)) co_return make_error_code(Errc::invalid_argument);
  }
  co_return co_await change_membership(raft::ConfChange{raft::ConfChangeType::remove, id});
}

asio::awaitable<Result<void>> Node::change_membership(raft::ConfChange cc) {
  auto in_effect = [&](const raft::ConfState& cs) {
    bool member = cs.is_voter(cc.node_id) || cs.is_learner(cc.node_id);
    return cc.type == raft::ConfChangeType::remove ? !member : member;
  };
  auto deadline = Clock::now() + std::chrono::milliseconds(options_.proposal_timeout_ms);
  asio::steady_timer timer(executor_);
  bool proposed = false;
  while (Clock::now() < deadline) {
    {
      std::lock_guard lock(mu_);
      if (in_effect(core_->conf_state())) co_return ok();
      if (core_->role() != Role::leader) co_return make_error_code(Errc::not_leader);
      if (!proposed) {
        auto r = core_->propose_conf_change(cc);
        if (r) {
          proposed = true;
          notify_locked();
        } else if (r.error() != make_error_code(Errc::busy)) {
          co_return r.error();
        }
      }
    }
    timer.expires_after(std::chrono::milliseconds(20));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
  co_return make_error_code(Errc::timed_out);
}

}  // namespace strata::replication
