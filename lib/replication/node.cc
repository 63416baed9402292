// replication::Node: opening and stopping, proposals, reads, waiters and the KvService API.
// The tick and Ready loops live in node_ready.cc, applying committed entries in node_apply.cc,
// membership changes in node_members.cc, snapshots (send, receive, install) in node_snapshot.cc.
#include "lib/replication/node.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cinttypes>
#include <random>

#include "lib/memtable/write_batch_internal.h"
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
  STRATA_CO_TRY_ASSIGN(storage_, co_await RaftStorage::open(fs_, io::join_path(dir, "raft"),
                                                            RaftStorageOptions{options_.raft_log_preallocate_bytes}));
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
    STRATA_LOG(error, "%s: the DB's applied index %" PRIu64 " is behind the Raft log's snapshot %" PRIu64, dir.c_str(),
               applied_, snap_index);
    co_return make_error_code(Errc::corruption);
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
  STRATA_LOG(info,
             "node %" PRIu64 ": term %" PRIu64 ", commit %" PRIu64 ", applied %" PRIu64 ", log [%" PRIu64 ", %" PRIu64
             "]",
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
    if (applied->size() != 8) co_return make_error_code(Errc::corruption);
    a = decode_fixed64(applied->data());
  }
  auto prefix_scan = [&db](std::string_view prefix) {
    std::string start(prefix), end(prefix);
    end.back() = static_cast<char>(end.back() + 1);
    return db->scan(std::move(start), std::move(end), 0);
  };
  STRATA_CO_TRY_ASSIGN(auto peers, co_await prefix_scan(kPeerKeyPrefix));
  STRATA_CO_TRY_ASSIGN(auto removed, co_await prefix_scan(kRemovedKeyPrefix));
  std::lock_guard lock(mu_);
  applied_ = a;
  peer_addresses_ = options_.initial_members;
  for (const KeyValue& kv : peers) {
    if (auto id = member_id_of_key(kPeerKeyPrefix, kv.key)) peer_addresses_[*id] = kv.value;
  }
  removed_ids_.clear();
  for (const KeyValue& kv : removed) {
    if (auto id = member_id_of_key(kRemovedKeyPrefix, kv.key)) removed_ids_.insert(*id);
  }
  removed_self_.store(removed_ids_.count(options_.id) != 0);
  if (removed_self_.load()) {
    STRATA_LOG(warn, "node %" PRIu64 ": this node was removed from the cluster; it serves no client requests",
               options_.id);
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
      if (!get_varint64(&in, &id)) co_return make_error_code(Errc::corruption);
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
  loops_running_.store(3);
  auto done = [this](std::exception_ptr e) { task_finished(e); };
  asio::co_spawn(executor_, tick_loop(), done);
  asio::co_spawn(executor_, ready_loop(), done);
  asio::co_spawn(executor_, apply_loop(), done);
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
    fail_all_locked(make_error_code(Errc::shutting_down));
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

// ---- Waiters ----

ErrorCode Node::timeout_error_locked() const {
  return core_->leader() == raft::kNone ? make_error_code(Errc::unavailable) : make_error_code(Errc::timed_out);
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

asio::awaitable<Result<uint64_t>> Node::propose_and_wait(CommandKind kind, std::string body) {
  ProposalWaiter w;
  w.deadline = Clock::now() + std::chrono::milliseconds(options_.proposal_timeout_ms);
  Command c;
  c.kind = kind;
  c.incarnation = incarnation_;
  c.origin = options_.id;
  c.body = std::move(body);
  {
    std::lock_guard lock(mu_);
    if (stopping_) co_return make_error_code(Errc::shutting_down);
    if (removed_locked()) co_return make_error_code(Errc::removed);
    // The Core would refuse it (no leader to forward to): say so now. Other refusals (a
    // leadership transfer, a removed leader) come when the batch is stepped.
    if (core_->leader() == raft::kNone) co_return make_error_code(Errc::not_leader);
    if (proposals_.size() >= options_.max_pending_proposals) {
      ++stats_.proposals_refused;
      co_return make_error_code(Errc::overloaded);
    }
    c.proposal_id = next_proposal_id_++;
    proposals_.emplace(c.proposal_id, w);
    pending_proposals_.push_back(PendingProposal{c.proposal_id, encode_command(c)});
    ++stats_.proposals;
    notify_locked();
  }
  const auto start = Clock::now();
  auto result = co_await w.done.wait();
  proposal_latency_.observe(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()));
  co_return result;
}
asio::awaitable<Result<void>> Node::wait_applied(uint64_t index) {
  AppliedWaiter w{index, {}, Clock::now() + std::chrono::milliseconds(options_.read_timeout_ms)};
  {
    std::lock_guard lock(mu_);
    if (applied_ >= index) co_return ok();
    if (stopping_) co_return make_error_code(Errc::shutting_down);
    applied_waiters_.push_back(w);
  }
  STRATA_CO_TRY(co_await w.done.wait());
  co_return ok();
}

// ---- KvService ----

asio::awaitable<Result<uint64_t>> Node::write(WriteBatch batch, WriteOptions) {
  BatchChecker checker(options_.db_options);
  STRATA_CO_TRY(batch.iterate(checker));
  if (checker.bad) co_return make_error_code(Errc::invalid_argument);
  co_return co_await propose_and_wait(CommandKind::write, WriteBatchInternal::contents(batch));
}

asio::awaitable<Result<void>> Node::read_barrier() {
  ReadWaiter w;
  w.deadline = Clock::now() + std::chrono::milliseconds(options_.read_timeout_ms);
  {
    std::lock_guard lock(mu_);
    if (stopping_) co_return make_error_code(Errc::shutting_down);
    if (removed_locked()) co_return make_error_code(Errc::removed);
    if (core_->leader() == raft::kNone) co_return make_error_code(Errc::not_leader);
    reads_waiting_.push_back(w);
    if (read_ctx_.empty()) issue_read_index_locked();
  }
  STRATA_CO_TRY_ASSIGN(uint64_t index, co_await w.index.wait());
  co_return co_await wait_applied(index);
}

bool Node::removed_locked() const { return removed_self_.load(); }

// Every HTTP request asks: an atomic, not mu_.
bool Node::removed() const { return removed_self_.load(); }

Result<void> Node::check_serving() const {
  if (removed()) return make_error_code(Errc::removed);
  return ok();
}

asio::awaitable<Result<std::optional<std::string>>> Node::get(std::string key, ReadConsistency c) {
  STRATA_CO_TRY(check_serving());
  if (c == ReadConsistency::linearizable) STRATA_CO_TRY(co_await read_barrier());
  auto db = this->db();
  co_return co_await db->get(user_key(key));
}

asio::awaitable<Result<std::vector<std::optional<std::string>>>> Node::multi_get(std::vector<std::string> keys,
                                                                                 ReadConsistency c) {
  STRATA_CO_TRY(check_serving());
  if (c == ReadConsistency::linearizable) STRATA_CO_TRY(co_await read_barrier());
  for (auto& k : keys) k = user_key(k);
  auto db = this->db();
  co_return co_await db->multi_get(std::move(keys));
}

asio::awaitable<Result<std::vector<KeyValue>>> Node::scan(ScanOptions options) {
  STRATA_CO_TRY(check_serving());
  if (options.consistency == ReadConsistency::linearizable) STRATA_CO_TRY(co_await read_barrier());
  auto db = this->db();
  co_return co_await scan_db(*db, std::move(options), std::string(kUserPrefix));
}

DbStats Node::stats() const { return db()->stats(); }
uint64_t Node::latest_sequence() const { return db()->latest_sequence(); }

asio::awaitable<Result<std::optional<std::string>>> Node::get_at(std::string, uint64_t) {
  co_return make_error_code(Errc::not_supported);
}

asio::awaitable<Result<LookupTrace>> Node::trace(std::string key, std::optional<uint64_t> seq) {
  if (seq) co_return make_error_code(Errc::not_supported);
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

asio::awaitable<Result<uint64_t>> Node::checkpoint(std::string dir) {
  if (removed()) co_return make_error_code(Errc::removed);
  auto db = this->db();
  co_return co_await db->checkpoint(std::move(dir));
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
  s.removed = removed_locked();
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
  s.stats = node_stats_locked();
  if (transport_ != nullptr) s.transport = transport_->stats();
  return s;
}

NodeStats Node::node_stats() const {
  std::lock_guard lock(mu_);
  return node_stats_locked();
}

NodeStats Node::node_stats_locked() const {
  NodeStats s = stats_;
  s.messages_invalid = core_->dropped();
  s.persist_latency = persist_latency_.snapshot();
  s.proposal_latency = proposal_latency_.snapshot();
  return s;
}

std::map<uint64_t, std::string> Node::peer_addresses() const {
  std::lock_guard lock(mu_);
  return peer_addresses_;
}

// ---- TransportHandler ----

void Node::log_invalid_message_locked(const MessageHead& m) {
  ++invalid_since_log_;
  auto now = std::chrono::steady_clock::now();
  if (now - last_invalid_log_ < std::chrono::seconds(1)) return;
  last_invalid_log_ = now;
  STRATA_LOG(warn,
             "node %" PRIu64 ": dropped an invalid %s from node %" PRIu64 " (term %" PRIu64 ", index %" PRIu64
             ", commit %" PRIu64 ", %zu entries): %s; %" PRIu64 " invalid message(s) since the last report",
             options_.id, raft::to_string(m.type), m.from, m.term, m.index, m.commit, m.entries,
             raft::to_string(core_->last_drop()), invalid_since_log_);
  invalid_since_log_ = 0;
}

void Node::on_message(raft::Message m) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  uint64_t invalid_before = core_->dropped_total();
  MessageHead head{m.type, m.from, m.term, m.index, m.commit, m.entries.size()};
  auto r = core_->step(std::move(m));
  (void)r;  // stale messages are ignored; invalid ones are counted by the Core
  if (core_->dropped_total() != invalid_before) log_invalid_message_locked(head);
  if (early_apply_limit_ != 0) {
    // A leader's Ready is being persisted (or applied): an acknowledgement that commits entries
    // already durable here sends them to the apply task now, so their writes are answered
    // without waiting for this Ready's fsync and the next Ready (see node_ready.cc).
    auto committed = core_->take_committed_entries(early_apply_limit_);
    stats_.entries_applied_early += committed.size();
    enqueue_apply_locked(committed, 0, committed.size());
  }
  notify_locked();
}

void Node::on_peer_hello(uint64_t id, std::string http_url) {
  std::lock_guard lock(mu_);
  peer_urls_[id] = std::move(http_url);
}

}  // namespace strata::replication
