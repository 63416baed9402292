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

namespace {

ErrorCode err(Errc e) { return make_error_code(e); }

}  // namespace

void Node::maybe_promote_learners_locked() {
  if (core_->role() != Role::leader) return;
  uint64_t commit = core_->log().committed();
  for (uint64_t id : core_->conf_state().learners) {
    const raft::Progress* p = core_->progress(id);
    if (p == nullptr || p->match() + 10 < commit || !p->recent_active()) continue;
    auto r = core_->propose_conf_change(raft::ConfChange{raft::ConfChangeType::add_voter, id});
    if (r) {
      STRATA_LOG(info, "node %" PRIu64 ": promoting learner %" PRIu64 " to voter", options_.id, id);
      notify_locked();
    }
    return;  // one change at a time
  }
}

asio::awaitable<Result<void>> Node::add_member(uint64_t id, std::string peer_address) {
  if (id == 0 || peer_address.empty()) co_return err(Errc::invalid_argument);
  {
    std::lock_guard lock(mu_);
    if (core_->role() != Role::leader) co_return err(Errc::not_leader);
    if (core_->conf_state().is_voter(id) || core_->conf_state().is_learner(id)) co_return ok();
  }
  // 1. Replicate the new member's address, so every node (and later snapshots) can reach it.
  Command c;
  c.kind = CommandKind::peer_address;
  c.incarnation = incarnation_;
  c.origin = options_.id;
  {
    std::lock_guard lock(mu_);
    c.proposal_id = next_proposal_id_++;
  }
  c.body = encode_peer_address(id, peer_address);
  uint64_t pid = c.proposal_id;
  STRATA_CO_TRY(co_await propose_and_wait(encode_command(c), pid));
  // 2. Add it as a learner; the leader promotes it once it has caught up.
  auto deadline = Clock::now() + std::chrono::milliseconds(options_.proposal_timeout_ms);
  asio::steady_timer timer(executor_);
  bool proposed = false;
  while (Clock::now() < deadline) {
    {
      std::lock_guard lock(mu_);
      if (core_->conf_state().is_learner(id) || core_->conf_state().is_voter(id)) co_return ok();
      if (core_->role() != Role::leader) co_return err(Errc::not_leader);
      if (!proposed) {
        auto r = core_->propose_conf_change(raft::ConfChange{raft::ConfChangeType::add_learner, id});
        if (r) {
          proposed = true;
          notify_locked();
        } else if (r.error() != err(Errc::busy)) {
          co_return r.error();
        }
      }
    }
    timer.expires_after(std::chrono::milliseconds(20));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
  co_return err(Errc::timed_out);
}

asio::awaitable<Result<void>> Node::remove_member(uint64_t id) {
  auto deadline = Clock::now() + std::chrono::milliseconds(options_.proposal_timeout_ms);
  asio::steady_timer timer(executor_);
  bool proposed = false;
  while (Clock::now() < deadline) {
    {
      std::lock_guard lock(mu_);
      const raft::ConfState& cs = core_->conf_state();
      if (!cs.is_voter(id) && !cs.is_learner(id)) co_return proposed ? ok() : Result<void>(err(Errc::invalid_argument));
      if (core_->role() != Role::leader) co_return err(Errc::not_leader);
      if (!proposed) {
        auto r = core_->propose_conf_change(raft::ConfChange{raft::ConfChangeType::remove, id});
        if (r) {
          proposed = true;
          notify_locked();
        } else if (r.error() != err(Errc::busy)) {
          co_return r.error();
        }
      }
    }
    timer.expires_after(std::chrono::milliseconds(20));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
  co_return err(Errc::timed_out);
}

}  // namespace strata::replication
