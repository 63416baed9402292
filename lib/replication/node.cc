// replication::Node: opening, the tick and Ready loops, proposals, reads and membership.
// Snapshots (send, receive, install) live in node_snapshot.cc.
#include "lib/replication/node.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cinttypes>
#include <random>

#include "lib/raft/codec.h"
#include "lib/util/assert.h"
#include "lib/util/coding.h"
#include "lib/util/logging.h"

namespace strata::replication {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using raft::Role;

namespace {

uint64_t random_u64() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(Clock::now().time_since_epoch().count());
}

ErrorCode err(Errc e) { return make_error_code(e); }

// Checks a client batch against the DB's limits before it is proposed: an entry that the DB
// refused at apply time would stop the state machine on every node.
class BatchChecker final : public WriteBatch::Handler {
 public:
  explicit BatchChecker(const Options& o) : o_(o) {}
  void put(SequenceNumber, std::string_view k, std::string_view v) override {
    if (k.size() + 1 > o_.max_key_size_bytes || v.size() > o_.max_value_size_bytes) bad = true;
  }
  void del(SequenceNumber, std::string_view k) override {
    if (k.size() + 1 > o_.max_key_size_bytes) bad = true;
  }
  bool bad = false;

 private:
  const Options& o_;
};

// Re-encodes a client batch into the state machine's key space ("u" + key).
class Prefixer final : public WriteBatch::Handler {
 public:
  explicit Prefixer(WriteBatch* out) : out_(out) {}
  void put(SequenceNumber, std::string_view k, std::string_view v) override { out_->put(user_key(k), v); }
  void del(SequenceNumber, std::string_view k) override { out_->del(user_key(k)); }

 private:
  WriteBatch* out_;
};

}  // namespace

Node::Node(asio::any_io_executor executor, io::FileSystem& fs, NodeOptions options)
    : executor_(executor), fs_(fs), options_(std::move(options)), incarnation_(random_u64()) {}

Node::~Node() = default;

asio::awaitable<Result<std::unique_ptr<Node>>> Node::open(asio::any_io_executor executor, io::FileSystem& fs,
                                                          NodeOptions options) {
  std::unique_ptr<Node> node(new Node(executor, fs, std::move(options)));
  STRATA_CO_TRY(co_await node->open_impl());
  co_return node;
}

asio::awaitable<Result<void>> Node::open_impl() {
  const std::string& dir = options_.data_dir;
  STRATA_CO_TRY(co_await fs_.create_dir(dir));
  STRATA_CO_TRY_ASSIGN(storage_, co_await RaftStorage::open(fs_, io::join_path(dir, "raft")));
  // Finish or roll back an interrupted snapshot install (node_snapshot.cc explains the order).
  std::string db_dir = io::join_path(dir, "db"), old_dir = io::join_path(dir, "db.old");
  STRATA_CO_TRY_ASSIGN(bool has_db, co_await fs_.exists(db_dir));
  STRATA_CO_TRY_ASSIGN(bool has_old, co_await fs_.exists(old_dir));
  if (has_old && !has_db) {
    STRATA_LOG(warn, "%s: an interrupted snapshot install: restoring the previous DB", dir.c_str());
    STRATA_CO_TRY(co_await fs_.rename(old_dir, db_dir));
    STRATA_CO_TRY(co_await fs_.sync_dir(dir));
  } else if (has_old) {
    STRATA_CO_TRY(co_await remove_tree(old_dir));
  }
  STRATA_CO_TRY(co_await remove_tree(io::join_path(dir, "snap-in")));
  STRATA_CO_TRY(co_await remove_tree(io::join_path(dir, "snap-out")));
  STRATA_CO_TRY(co_await open_db());
  STRATA_CO_TRY(co_await load_metadata());

  raft::HardState hs = storage_->hard_state();
  uint64_t snap_index = storage_->first_index() - 1;
  if (applied_ < snap_index) {
    STRATA_LOG(error, "%s: the DB's applied index %" PRIu64 " is behind the Raft log's snapshot %" PRIu64,
               dir.c_str(), applied_, snap_index);
    co_return err(Errc::corruption);
  }
  raft::Config cfg;
  cfg.id = options_.id;
  STRATA_CO_TRY_ASSIGN(cfg.peers, co_await bootstrap_voters());
  cfg.storage = storage_.get();
  cfg.election_tick = options_.election_tick;
  cfg.heartbeat_tick = options_.heartbeat_tick;
  cfg.seed = options_.seed != 0 ? options_.seed : random_u64();
  // The Core replays configuration changes up to `applied`; the DB may be ahead of the log's
  // commit index after a snapshot install whose log record was not yet written.
  cfg.applied = std::max(snap_index, std::min(applied_, hs.commit));
  core_ = std::make_unique<raft::Core>(cfg);
  STRATA_LOG(info, "node %" PRIu64 ": term %" PRIu64 ", commit %" PRIu64 ", applied %" PRIu64 ", log [%" PRIu64
             ", %" PRIu64 "]",
             options_.id, hs.term, hs.commit, applied_, storage_->first_index(), storage_->last_index());
  co_return ok();
}

asio::awaitable<Result<void>> Node::open_db() {
  Options o = options_.db_options;
  o.create_if_missing = true;
  o.sync = SyncPolicy::none;  // the Raft log is the durable record; see node.h
  STRATA_CO_TRY_ASSIGN(auto db, co_await DB::open(executor_, io::join_path(options_.data_dir, "db"), o));
  std::lock_guard lock(mu_);
  db_ = std::shared_ptr<DB>(std::move(db));
  co_return ok();
}

asio::awaitable<Result<void>> Node::load_metadata() {
  auto db = this->db();
  STRATA_CO_TRY_ASSIGN(auto applied, co_await db->get(std::string(kAppliedKey)));
  uint64_t a = 0;
  if (applied) {
    if (applied->size() != 8) co_return err(Errc::corruption);
    a = decode_fixed64(applied->data());
  }
  std::string start(kPeerKeyPrefix), end(kPeerKeyPrefix);
  end.back() = static_cast<char>(end.back() + 1);
  STRATA_CO_TRY_ASSIGN(auto peers, co_await db->scan(start, end, 0));
  std::lock_guard lock(mu_);
  applied_ = a;
  peer_addresses_ = options_.initial_members;
  for (const KeyValue& kv : peers) {
    if (kv.key.size() != kPeerKeyPrefix.size() + 8) continue;
    uint64_t id = 0;
    for (size_t i = kPeerKeyPrefix.size(); i < kv.key.size(); ++i) id = (id << 8) | static_cast<uint8_t>(kv.key[i]);
    peer_addresses_[id] = kv.value;
  }
  co_return ok();
}

// The voters a brand-new cluster starts with. They are recorded in the DB ("mbootstrap") on the
// first start and read back on every later one, so that the flags of a restart (which may list
// members added since) can never change the initial configuration that the log builds on.
asio::awaitable<Result<std::vector<uint64_t>>> Node::bootstrap_voters() {
  auto db = this->db();
  STRATA_CO_TRY_ASSIGN(auto stored, co_await db->get(std::string(kBootstrapKey)));
  std::vector<uint64_t> ids;
  if (stored) {
    std::string_view in = *stored;
    uint64_t id = 0;
    while (!in.empty()) {
      if (!get_varint64(&in, &id)) co_return err(Errc::corruption);
      ids.push_back(id);
    }
    co_return ids;
  }
  std::string enc;
  for (const auto& [id, addr] : options_.initial_members) {
    ids.push_back(id);
    put_varint64(&enc, id);
  }
  STRATA_CO_TRY(co_await db->put(std::string(kBootstrapKey), enc, WriteOptions{.sync = SyncPolicy::always}));
  co_return ids;
}

void Node::set_transport(Transport* transport) {
  transport_ = transport;
  for (const auto& [id, addr] : peer_addresses()) {
    if (id != options_.id) transport_->set_peer_address(id, addr);
  }
}

void Node::start() {
  STRATA_ASSERT(transport_ != nullptr);
  loops_running_.store(2);
  auto done = [this](std::exception_ptr e) { task_finished(e); };
  asio::co_spawn(executor_, tick_loop(), done);
  asio::co_spawn(executor_, ready_loop(), done);
}

void Node::task_finished(std::exception_ptr e) {
  if (e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      STRATA_LOG(error, "node %" PRIu64 ": loop failed: %s", options_.id, ex.what());
    }
  }
  if (loops_running_.fetch_sub(1) == 1) loops_done_.set(true);
}

asio::awaitable<Result<void>> Node::stop() {
  bool started = false;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    started = loops_running_.load() > 0 || loops_done_.is_set();
    notify_locked();
    fail_all_locked(err(Errc::shutting_down));
  }
  if (started) co_await loops_done_.wait();
  auto db = this->db();
  if (!db) co_return ok();
  co_return co_await db->close();
}

std::shared_ptr<DB> Node::db() const {
  std::lock_guard lock(mu_);
  return db_;
}

// ---- Loops ----

void Node::notify_locked() {
  wake_pending_ = true;
  if (loop_wake_) {
    loop_wake_->set(true);
    loop_wake_.reset();
  }
}

asio::awaitable<void> Node::tick_loop() {
  asio::steady_timer timer(executor_);
  auto next = Clock::now();
  for (;;) {
    next += std::chrono::milliseconds(options_.tick_ms);
    timer.expires_at(next);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    std::lock_guard lock(mu_);
    if (stopping_) break;
    core_->tick();
    expire_waiters_locked(Clock::now());
    maybe_promote_learners_locked();
    notify_locked();
  }
}

asio::awaitable<void> Node::ready_loop() {
  for (;;) {
    std::optional<Oneshot<bool>> wait;
    raft::Ready rd;
    bool leader = false;
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
      wake_pending_ = false;
      step_pending_proposals_locked();
      if (!core_->has_ready()) {
        loop_wake_.emplace();
        wait = *loop_wake_;
      } else {
        rd = core_->ready();
        leader = core_->role() == Role::leader;
      }
    }
    if (wait) {
      co_await wait->wait();
      continue;
    }
    auto handled = co_await handle_ready(std::move(rd), leader);
    if (!handled) {
      // A failed fsync or DB write is never retried (RELIABILITY.md): the node stops serving.
      STRATA_LOG(error, "node %" PRIu64 ": cannot persist or apply: %s; the node stops", options_.id,
                 handled.error().message().c_str());
      std::lock_guard lock(mu_);
      stopping_ = true;
      fail_all_locked(err(Errc::read_only));
      break;
    }
  }
}

asio::awaitable<Result<void>> Node::handle_ready(raft::Ready rd, bool leader) {
  if (rd.snapshot) STRATA_CO_TRY(co_await install_snapshot(*rd.snapshot));
  std::optional<raft::SnapshotMetadata> md;
  if (rd.snapshot) md = rd.snapshot->metadata;
  // The leader's appends and heartbeats go out before its own fsync (thesis §10.2.1: the leader
  // writes its log in parallel with replicating it), when its term and vote are already durable.
  // Safe with raft::Core counting the leader's log toward the quorum at append time because
  // (1) a commit index only leaves this node in a LATER Ready, taken after this Ready's entries
  // are durable (this loop is sequential, and a follower can acknowledge an entry only after the
  // message carrying it was sent, which is in this Ready or a later one); (2) nothing is applied
  // or acknowledged to a client before the Ready that carries it as committed, likewise after
  // this persist. Everything else (votes, responses, snapshots) waits for the fsync.
  bool early = leader && !rd.snapshot && (!rd.hard_state || !storage_->must_sync(rd.hard_state, {}, std::nullopt));
  if (early) {
    for (raft::Message& m : rd.messages) {
      if (m.type == raft::MessageType::app || m.type == raft::MessageType::heartbeat) {
        transport_->send(std::move(m));
        m.type = raft::MessageType::prop;  // marks it as sent
        m.to = raft::kNone;
      }
    }
  }
  // A leader applies (and acknowledges) the committed entries that were already durable in its
  // log before this Ready, without waiting for this Ready's fsync of newer entries: otherwise
  // every write would wait for two fsyncs in a row. Committed means a quorum holds them durably,
  // and entries at or below the pre-persist last index were persisted by an earlier Ready (a
  // committed entry is never truncated, so this Ready's append cannot replace them). Entries
  // that become durable only with this Ready (a single-voter leader, a follower's append whose
  // commit covers its own entries) are applied after the persist, as before. Followers keep
  // persist -> send -> apply so their acknowledgements go out first.
  std::span<const raft::Entry> committed(rd.committed_entries);
  size_t durable = 0;
  if (early) {
    uint64_t stable_last = storage_->last_index();
    while (durable < committed.size() && committed[durable].index <= stable_last) ++durable;
    STRATA_CO_TRY(co_await apply_entries(committed.first(durable)));
    if (durable > 0) {
      std::lock_guard lock(mu_);
      complete_applied_waiters_locked();
    }
  }
  STRATA_CO_TRY(co_await storage_->persist(rd.hard_state, rd.entries, md));
  for (raft::Message& m : rd.messages) {
    if (m.to == raft::kNone) continue;  // sent early
    if (m.type == raft::MessageType::snap) {
      bool start = false;
      {
        std::lock_guard lock(mu_);
        start = !snapshot_in_flight_[m.to];
        snapshot_in_flight_[m.to] = true;
      }
      if (start) {
        asio::co_spawn(executor_, send_snapshot(std::move(m)), asio::detached);
      }
      continue;
    }
    transport_->send(std::move(m));
  }
  STRATA_CO_TRY(co_await apply_entries(committed.subspan(durable)));
  {
    std::lock_guard lock(mu_);
    core_->advance(rd);
    if (rd.soft_state && rd.soft_state->leader != last_leader_) {
      // The leader changed: a proposal in flight may be committed by the new leader or lost.
      // Say so now (timed_out: may have been applied) rather than at the deadline, so that
      // clients retry against the new leader promptly.
      if (last_leader_ != raft::kNone) {
        for (auto& [pid, w] : proposals_) w.done.set(err(Errc::timed_out));
        proposals_.clear();
      }
      last_leader_ = rd.soft_state->leader;
    }
    handle_read_states_locked(rd.read_states);
    complete_applied_waiters_locked();
  }
  co_return co_await maybe_compact();
}

asio::awaitable<Result<void>> Node::apply_entries(std::span<const raft::Entry> entries) {
  uint64_t applied = 0;
  {
    std::lock_guard lock(mu_);
    applied = applied_;
  }
  WriteBatch batch;
  uint64_t last = 0, count = 0;
  std::vector<std::pair<uint64_t, uint64_t>> mine;  // (proposal id, index)
  std::vector<std::pair<uint64_t, std::string>> addresses;
  for (const raft::Entry& e : entries) {
    if (e.index <= applied) continue;  // already in the DB (restart, or a snapshot ran ahead)
    last = e.index;
    ++count;
    if (e.type != raft::EntryType::normal || e.data.empty()) continue;
    auto cmd = decode_command(e.data);
    if (!cmd) {
      STRATA_LOG(warn, "node %" PRIu64 ": entry %" PRIu64 " is not a command; skipped", options_.id, e.index);
      continue;
    }
    if (cmd->origin == options_.id && cmd->incarnation == incarnation_) mine.emplace_back(cmd->proposal_id, e.index);
    if (cmd->kind == CommandKind::write) {
      auto wb = WriteBatch::from_rep(std::move(cmd->body));
      Prefixer prefixer(&batch);
      if (!wb || !wb->iterate(prefixer)) {
        STRATA_LOG(warn, "node %" PRIu64 ": entry %" PRIu64 " holds a malformed batch; skipped", options_.id, e.index);
      }
    } else if (cmd->kind == CommandKind::peer_address) {
      auto pa = decode_peer_address(cmd->body);
      if (pa) {
        batch.put(peer_key(pa->first), pa->second);
        addresses.push_back(std::move(*pa));
      }
    }
  }
  if (last == 0) co_return ok();
  std::string idx;
  put_fixed64(&idx, last);
  batch.put(kAppliedKey, idx);
  auto db = this->db();
  STRATA_CO_TRY(co_await db->write(std::move(batch), WriteOptions{.sync = SyncPolicy::none}));
  for (auto& [id, addr] : addresses) {
    if (id != options_.id) transport_->set_peer_address(id, addr);
  }
  std::lock_guard lock(mu_);
  applied_ = last;
  stats_.applied_entries += count;
  for (auto& [addr_id, addr] : addresses) peer_addresses_[addr_id] = addr;
  for (auto [pid, index] : mine) {
    auto it = proposals_.find(pid);
    if (it == proposals_.end()) continue;  // timed out already
    it->second.done.set(index);
    proposals_.erase(it);
  }
  co_return ok();
}

// Log compaction in two steps, so that the Ready loop never waits for a memtable flush (which
// would stall every write for the flush's duration): (1) here, pick the index and its
// configuration and start flush_for_compaction() in the background; (2) once that flush made the
// DB's state up to the index durable, a later call here rewrites the Raft log (storage_->compact
// must not run concurrently with persist(), so it stays on the Ready loop). The configuration
// picked in (1) stays valid for the index: no conf change lies in (index, applied] at that point,
// and later ones are after the index.
asio::awaitable<Result<void>> Node::maybe_compact() {
  if (options_.snapshot_threshold_entries == 0) co_return ok();
  std::optional<PendingCompaction> flushed;
  {
    std::lock_guard lock(mu_);
    flushed = std::move(compaction_flushed_);
    compaction_flushed_.reset();
  }
  if (flushed) {
    // A no-op when a snapshot installed meanwhile already moved the log past the index.
    STRATA_CO_TRY(co_await storage_->compact(flushed->index, flushed->conf_state));
    std::lock_guard lock(mu_);
    ++stats_.compactions;
    STRATA_LOG(info, "node %" PRIu64 ": raft log compacted up to %" PRIu64, options_.id, flushed->index);
    co_return ok();
  }
  uint64_t index = 0;
  raft::ConfState cs;
  {
    std::lock_guard lock(mu_);
    if (compaction_flush_done_) co_return ok();  // a flush is in flight
    uint64_t core_applied = core_->log().applied();
    uint64_t first = storage_->first_index();
    if (core_applied < first || core_applied - first + 1 < options_.snapshot_threshold_entries) co_return ok();
    if (core_applied <= options_.snapshot_trailing_entries) co_return ok();
    index = core_applied - options_.snapshot_trailing_entries;
    if (index < first) co_return ok();
    // The configuration as of `index` is the current one unless a conf change was applied after
    // it; then wait until the trailing window has moved past that change.
    auto tail = storage_->entries(index + 1, core_applied + 1, raft::kNoLimit);
    if (!tail) co_return ok();
    for (const raft::Entry& e : *tail) {
      if (e.type == raft::EntryType::conf_change) co_return ok();
    }
    cs = core_->conf_state();
    compaction_flush_done_.emplace();
    loops_running_.fetch_add(1);  // stop() waits for the flush too
  }
  asio::co_spawn(executor_, flush_for_compaction(index, std::move(cs)),
                 [this](std::exception_ptr e) { task_finished(e); });
  co_return ok();
}

// Runs on: executor_, spawned by maybe_compact; counted in loops_running_ so stop() waits for it.
asio::awaitable<void> Node::flush_for_compaction(uint64_t index, raft::ConfState cs) {
  // The DB's state up to `index` must be durable before the log forgets it.
  auto db = this->db();
  auto flushed = co_await db->flush();
  std::lock_guard lock(mu_);
  if (flushed) {
    compaction_flushed_ = PendingCompaction{index, std::move(cs)};
  } else {
    // The DB is now read-only (a failed flush is never retried); the next apply fails and stops
    // the node. The log is simply not compacted.
    STRATA_LOG(error, "node %" PRIu64 ": flush before log compaction failed: %s", options_.id,
               flushed.error().message().c_str());
  }
  compaction_flush_done_->set(true);
  compaction_flush_done_.reset();
  notify_locked();
}

asio::awaitable<void> Node::wait_for_compaction_flush() {
  std::optional<Oneshot<bool>> done;
  {
    std::lock_guard lock(mu_);
    if (compaction_flush_done_) done = *compaction_flush_done_;
  }
  if (done) co_await done->wait();
}

// ---- Waiters ----

ErrorCode Node::timeout_error_locked() const {
  return core_->leader() == raft::kNone ? err(Errc::unavailable) : err(Errc::timed_out);
}

void Node::fail_all_locked(ErrorCode ec) {
  pending_proposals_.clear();
  for (auto& [id, w] : proposals_) w.done.set(ec);
  proposals_.clear();
  for (auto& w : reads_waiting_) w.index.set(ec);
  reads_waiting_.clear();
  for (auto& w : reads_inflight_) w.index.set(ec);
  reads_inflight_.clear();
  read_ctx_.clear();
  for (auto& w : applied_waiters_) w.done.set(ec);
  applied_waiters_.clear();
}

void Node::expire_waiters_locked(Clock::time_point now) {
  ErrorCode ec = timeout_error_locked();
  for (auto it = proposals_.begin(); it != proposals_.end();) {
    if (it->second.deadline <= now) {
      it->second.done.set(ec);
      it = proposals_.erase(it);
    } else {
      ++it;
    }
  }
  if (!read_ctx_.empty() && now - read_issued_at_ >= std::chrono::milliseconds(options_.read_timeout_ms)) {
    for (auto& w : reads_inflight_) w.index.set(ec);
    reads_inflight_.clear();
    read_ctx_.clear();
  }
  std::erase_if(reads_waiting_, [&](ReadWaiter& w) {
    if (w.deadline > now) return false;
    w.index.set(ec);
    return true;
  });
  if (read_ctx_.empty() && !reads_waiting_.empty()) issue_read_index_locked();
  std::erase_if(applied_waiters_, [&](AppliedWaiter& w) {
    if (w.deadline > now) return false;
    w.done.set(ec);
    return true;
  });
}

void Node::issue_read_index_locked() {
  read_ctx_ = "r" + std::to_string(incarnation_) + "-" + std::to_string(++read_counter_);
  reads_inflight_ = std::move(reads_waiting_);
  reads_waiting_.clear();
  read_issued_at_ = Clock::now();
  ++stats_.read_index_rounds;
  core_->read_index(read_ctx_);
  notify_locked();
}

void Node::handle_read_states_locked(const std::vector<raft::ReadState>& states) {
  for (const raft::ReadState& rs : states) {
    if (rs.context != read_ctx_ || read_ctx_.empty()) continue;  // a round that timed out
    for (auto& w : reads_inflight_) w.index.set(rs.index);
    reads_inflight_.clear();
    read_ctx_.clear();
  }
  if (read_ctx_.empty() && !reads_waiting_.empty()) issue_read_index_locked();
}

void Node::complete_applied_waiters_locked() {
  std::erase_if(applied_waiters_, [&](AppliedWaiter& w) {
    if (w.index > applied_) return false;
    w.done.set(applied_);
    return true;
  });
}

asio::awaitable<Result<uint64_t>> Node::propose_and_wait(std::string data, uint64_t proposal_id) {
  ProposalWaiter w;
  w.deadline = Clock::now() + std::chrono::milliseconds(options_.proposal_timeout_ms);
  {
    std::lock_guard lock(mu_);
    if (stopping_) co_return err(Errc::shutting_down);
    // The Core would refuse it (no leader to forward to): say so now. Other refusals (a
    // leadership transfer, a removed leader) come when the batch is stepped.
    if (core_->leader() == raft::kNone) co_return err(Errc::not_leader);
    proposals_.emplace(proposal_id, w);
    pending_proposals_.push_back(PendingProposal{proposal_id, std::move(data)});
    ++stats_.proposals;
    notify_locked();
  }
  co_return co_await w.done.wait();
}

// Group commit at the Raft level: every proposal that arrived while the Ready loop was busy
// (persisting, applying) enters the Core as ONE prop message, so the leader appends them as one
// batch and sends one append per follower for all of them, instead of one append per follower
// per write (and one response each). The batch is cut at kMaxProposalBatchBytes so that one
// append message stays within the Core's max_size_per_msg_bytes default.
void Node::step_pending_proposals_locked() {
  constexpr size_t kMaxProposalBatchBytes = 512 << 10;
  size_t i = 0;
  while (i < pending_proposals_.size()) {
    raft::Message m{.type = raft::MessageType::prop, .to = options_.id, .from = options_.id};
    size_t begin = i, bytes = 0;
    while (i < pending_proposals_.size() && (i == begin || bytes + pending_proposals_[i].data.size() <= kMaxProposalBatchBytes)) {
      bytes += pending_proposals_[i].data.size();
      m.entries.push_back(raft::Entry{.data = std::move(pending_proposals_[i].data)});
      ++i;
    }
    ++stats_.proposal_batches;
    auto stepped = core_->step(std::move(m));
    if (stepped) continue;
    // Not proposed: fail the waiters of this batch (those not already expired or failed).
    for (size_t j = begin; j < i; ++j) {
      auto it = proposals_.find(pending_proposals_[j].proposal_id);
      if (it == proposals_.end()) continue;
      it->second.done.set(err(Errc::not_leader));
      proposals_.erase(it);
    }
  }
  pending_proposals_.clear();
}

asio::awaitable<Result<void>> Node::wait_applied(uint64_t index) {
  AppliedWaiter w{index, {}, Clock::now() + std::chrono::milliseconds(options_.read_timeout_ms)};
  {
    std::lock_guard lock(mu_);
    if (applied_ >= index) co_return ok();
    if (stopping_) co_return err(Errc::shutting_down);
    applied_waiters_.push_back(w);
  }
  STRATA_CO_TRY(co_await w.done.wait());
  co_return ok();
}

// ---- KvService ----

asio::awaitable<Result<uint64_t>> Node::write(WriteBatch batch, WriteOptions) {
  BatchChecker checker(options_.db_options);
  STRATA_CO_TRY(batch.iterate(checker));
  if (checker.bad) co_return err(Errc::invalid_argument);
  Command c;
  c.kind = CommandKind::write;
  c.incarnation = incarnation_;
  c.origin = options_.id;
  {
    std::lock_guard lock(mu_);
    c.proposal_id = next_proposal_id_++;
  }
  c.body = batch.rep();
  uint64_t pid = c.proposal_id;
  co_return co_await propose_and_wait(encode_command(c), pid);
}

asio::awaitable<Result<void>> Node::read_barrier() {
  ReadWaiter w;
  w.deadline = Clock::now() + std::chrono::milliseconds(options_.read_timeout_ms);
  {
    std::lock_guard lock(mu_);
    if (stopping_) co_return err(Errc::shutting_down);
    if (core_->leader() == raft::kNone) co_return err(Errc::not_leader);
    reads_waiting_.push_back(w);
    if (read_ctx_.empty()) issue_read_index_locked();
  }
  STRATA_CO_TRY_ASSIGN(uint64_t index, co_await w.index.wait());
  co_return co_await wait_applied(index);
}

asio::awaitable<Result<std::optional<std::string>>> Node::get(std::string key, ReadConsistency c) {
  if (c == ReadConsistency::linearizable) STRATA_CO_TRY(co_await read_barrier());
  auto db = this->db();
  co_return co_await db->get(user_key(key));
}

asio::awaitable<Result<std::vector<KeyValue>>> Node::scan(ScanOptions options) {
  if (options.consistency == ReadConsistency::linearizable) STRATA_CO_TRY(co_await read_barrier());
  auto db = this->db();
  co_return co_await scan_db(*db, std::move(options), std::string(kUserPrefix));
}

DbStats Node::stats() const { return db()->stats(); }
uint64_t Node::latest_sequence() const { return db()->latest_sequence(); }

asio::awaitable<Result<std::optional<std::string>>> Node::get_at(std::string, uint64_t) {
  co_return err(Errc::not_supported);
}

asio::awaitable<Result<LookupTrace>> Node::trace(std::string key, std::optional<uint64_t> seq) {
  if (seq) co_return err(Errc::not_supported);
  auto db = this->db();
  STRATA_CO_TRY_ASSIGN(LookupTrace t, co_await db->trace(user_key(key), ReadOptions{}));
  t.key = std::move(key);
  co_return t;
}

std::vector<OptionInfo> Node::option_list() const { return db()->option_list(); }

Result<void> Node::set_option(std::string_view name, std::string_view value, std::string* why) {
  return db()->set_option(name, value, why);
}

asio::awaitable<Result<void>> Node::flush() {
  auto db = this->db();
  co_return co_await db->flush();
}

asio::awaitable<Result<void>> Node::compact_range(std::string begin, std::string end) {
  auto db = this->db();
  // Empty bounds stay unbounded (the metadata keys sort outside "u..." and are compacted too).
  co_return co_await db->compact_range(begin.empty() ? std::string() : user_key(begin),
                                       end.empty() ? std::string() : user_key(end));
}

std::optional<ClusterStatus> Node::cluster_status() const {
  std::lock_guard lock(mu_);
  ClusterStatus s;
  s.node_id = options_.id;
  Role r = core_->role();
  s.role = r == Role::pre_candidate ? "candidate" : raft::to_string(r);
  s.leader_id = core_->leader();
  if (s.leader_id == options_.id) {
    s.leader_url = options_.http_url;
  } else if (auto it = peer_urls_.find(s.leader_id); it != peer_urls_.end()) {
    s.leader_url = it->second;
  }
  s.term = core_->term();
  s.commit_index = core_->log().committed();
  s.applied_index = applied_;
  s.first_log_index = storage_->first_index();
  s.snapshot_index = s.first_log_index - 1;
  auto add = [&](uint64_t id, bool voter) {
    MemberStatus m;
    m.id = id;
    m.voter = voter;
    if (auto it = peer_addresses_.find(id); it != peer_addresses_.end()) m.peer_address = it->second;
    if (id == options_.id) {
      m.url = options_.http_url;
    } else if (auto it = peer_urls_.find(id); it != peer_urls_.end()) {
      m.url = it->second;
    }
    if (const raft::Progress* p = core_->progress(id); p && r == Role::leader) m.match_index = p->match();
    s.members.push_back(std::move(m));
  };
  for (uint64_t id : core_->conf_state().voters) add(id, true);
  for (uint64_t id : core_->conf_state().learners) add(id, false);
  return s;
}

NodeStats Node::node_stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::map<uint64_t, std::string> Node::peer_addresses() const {
  std::lock_guard lock(mu_);
  return peer_addresses_;
}

// ---- Membership (thesis §4.2.1: a new server joins as a learner, then is promoted) ----

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

// ---- TransportHandler ----

void Node::on_message(raft::Message m) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  auto r = core_->step(std::move(m));
  (void)r;  // stale or misaddressed messages are dropped
  notify_locked();
}

void Node::on_peer_hello(uint64_t id, std::string http_url) {
  std::lock_guard lock(mu_);
  peer_urls_[id] = std::move(http_url);
}

}  // namespace strata::replication
