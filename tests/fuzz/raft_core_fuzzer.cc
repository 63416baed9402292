// Fuzz target: semantically random but well-formed Raft messages stepped into live raft::Cores
// (issue 18, RELIABILITY.md promise 5). Three voters (1-3) and a non-member (4) run in the Raft
// simulation of tests/unit/raft (sim_harness.h: MemoryStorage, the Ready loop, a network queue).
// The input is a program, one opcode byte after another: ticks, deliveries of queued messages,
// proposals, crashes and restarts, log compaction, reads, campaigns, conf changes, and above all
// forged messages: every field chosen near the receiver's own state (its term, last index, commit
// index, so that most forgeries get past the cheap checks), or copies of real queued messages
// with one field changed.
// Checks: nothing aborts (no STRATA_ASSERT reached from a peer message, no exception), every
// Ready the Core produces can be persisted (MemoryStorage), and after every operation the log's
// own invariants hold: applied <= committed <= last index, first index <= last index + 1.
// A forged message may break Raft's safety (nobody is authenticated yet), so the simulation's
// safety records are not checked here; tests/reliability/raft_simulation_test does, without
// forgeries.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "lib/raft/core.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/unit/raft/sim_harness.h"

using namespace strata;
using namespace strata::raft;

namespace {

// Reads the program; past the end it yields zeros (and done() turns true).
class Program {
 public:
  Program(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : byte() % n; }
  uint64_t u64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }
  // A value near `base`: mostly base + [-3, +4], sometimes 0, a large jump, or any 64-bit value.
  uint64_t near(uint64_t base) {
    uint8_t b = byte();
    switch (b >> 5) {
      case 0: return 0;
      case 1: return base + (b & 31);
      case 2: return base > (b & 31) ? base - (b & 31) : 0;
      case 3: return u64();
      case 4: return base + (uint64_t{1} << (b & 63));
      default: return base + (b & 7) > 3 ? base + (b & 7) - 3 : 0;
    }
  }
  std::string text(size_t max) {
    std::string s(below(max + 1), '\0');
    for (char& c : s) c = static_cast<char>(byte());
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

uint64_t pick_node(Program& p) {
  // Mostly a member; sometimes the non-member 4, 0 (none) or a stranger.
  static constexpr uint64_t kIds[] = {1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 0, 77};
  return kIds[p.below(sizeof kIds / sizeof kIds[0])];
}

std::vector<uint64_t> pick_ids(Program& p) {
  std::vector<uint64_t> ids;
  uint64_t n = p.below(5);
  uint64_t last = 0;
  for (uint64_t i = 0; i < n; ++i) {
    last += p.byte() & 3;  // usually increasing; sometimes repeats (invalid)
    ids.push_back(last);
  }
  return ids;
}

Message forge(Program& p, sim::Cluster& c, uint64_t to) {
  const Core& core = c.core(to);
  const RaftLog& log = core.log();
  Message m;
  m.type = static_cast<MessageType>(p.below(kMaxMessageType + 2));  // one unknown type
  m.to = p.below(16) == 0 ? pick_node(p) : to;
  m.from = pick_node(p);
  m.term = p.near(core.term());
  uint64_t anchor = p.byte() & 1 ? log.last_index() : log.committed();
  m.index = p.near(anchor);
  m.log_term = p.near(log.term_or_zero(m.index < kMaxTermOrIndex ? m.index : 0));
  m.commit = p.near(anchor);
  uint8_t flags = p.byte();
  m.reject = flags & 1;
  m.force = flags & 2;
  m.reject_hint = p.near(m.index);
  // Mostly the fields the type carries (so that most forgeries reach the Core's handlers), now
  // and then the wrong ones (flags bit 4).
  bool wrong_fields = flags & 16;
  bool carries_entries = m.type == MessageType::app || m.type == MessageType::prop;
  uint64_t n = carries_entries || wrong_fields ? p.below(5) : 0;
  uint64_t term = m.log_term;
  for (uint64_t i = 0; i < n; ++i) {
    Entry e;
    term = p.byte() & 1 ? term : p.near(term);
    e.term = term;
    e.index = p.byte() & 7 ? m.index + 1 + i : p.near(m.index + 1 + i);
    e.type = p.below(4) == 0 ? EntryType::conf_change : EntryType::normal;
    e.data = p.text(8);
    m.entries.push_back(std::move(e));
  }
  if (m.type == MessageType::snap ? !(flags & 4) : (wrong_fields && (flags & 4))) {
    Snapshot s;
    s.metadata.index = p.near(anchor);
    s.metadata.term = p.near(core.term());
    s.metadata.conf_state.voters = pick_ids(p);
    s.metadata.conf_state.learners = pick_ids(p);
    s.data = p.byte() & 1 ? sim::encode_state_machine({}, 0) : p.text(8);
    m.snapshot = std::move(s);
  }
  bool carries_context = m.type == MessageType::heartbeat || m.type == MessageType::heartbeat_resp ||
                         m.type == MessageType::read_index || m.type == MessageType::read_index_resp;
  if ((carries_context || wrong_fields) && (flags & 8)) m.context = p.text(6);
  return m;
}

// A real queued message with one field changed.
bool mutate_queued(Program& p, sim::Cluster& c, Message* out) {
  auto& q = c.queue();
  if (q.empty()) return false;
  Message m = q[p.below(q.size())];
  switch (p.below(10)) {
    case 0: m.term = p.near(m.term); break;
    case 1: m.index = p.near(m.index); break;
    case 2: m.log_term = p.near(m.log_term); break;
    case 3: m.commit = p.near(m.commit); break;
    case 4:
      m.reject = !m.reject;
      m.reject_hint = p.near(m.reject_hint);
      break;
    case 5: m.from = pick_node(p); break;
    case 6:
      if (!m.entries.empty()) {
        Entry& e = m.entries[p.below(m.entries.size())];
        e.term = p.near(e.term);
        e.index = p.near(e.index);
      }
      break;
    case 7: m.type = static_cast<MessageType>(p.below(kMaxMessageType + 1)); break;
    case 8:
      if (m.snapshot) m.snapshot->metadata.index = p.near(m.snapshot->metadata.index);
      break;
    default:
      m.entries.erase(m.entries.begin(), m.entries.begin() + static_cast<ptrdiff_t>(m.entries.size() / 2));
      break;
  }
  *out = std::move(m);
  return true;
}

void check_invariants(sim::Cluster& c) {
  for (uint64_t id : c.ids()) {
    if (!c.up(id)) continue;
    const RaftLog& log = c.core(id).log();
    FUZZ_CHECK(log.applied() <= log.committed());
    FUZZ_CHECK(log.committed() <= log.last_index());
    FUZZ_CHECK(log.first_index() <= log.last_index() + 1);
  }
}

void step_forged(sim::Cluster& c, uint64_t to, Message m) {
  if (!c.up(to)) return;
  (void)c.core(to).step(std::move(m));
  c.process_ready(to);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Program p(data, size);
  uint64_t seed = p.byte();
  sim::Cluster c({1, 2, 3}, {}, seed + 1, [&](Config& cfg) {
    cfg.election_tick = 4;
    cfg.heartbeat_tick = 1;
    cfg.pre_vote = seed & 1;
    cfg.check_quorum = seed & 2;
    cfg.max_size_per_msg_bytes = seed & 4 ? 1 : 1 << 20;
    cfg.max_inflight = seed & 8 ? 2 : 256;
  });
  c.add_node(4);  // a node outside the configuration
  for (int op = 0; op < 4000 && !p.done(); ++op) {
    uint8_t code = p.byte();
    uint64_t id = 1 + p.below(3);
    switch (code % 16) {
      case 0:
      case 1: c.tick(id); break;
      case 2:
      case 3: c.deliver_one(); break;
      case 4: c.stabilize(64); break;
      case 5:
        if (c.up(id)) (void)c.core(id).propose(p.text(8));
        c.process_ready(id);
        break;
      case 6:
      case 7:
      case 8: {
        if (!c.up(id)) break;
        Message m = forge(p, c, id);
        step_forged(c, id, std::move(m));
        break;
      }
      case 9:
      case 10: {
        Message m;
        if (mutate_queued(p, c, &m)) step_forged(c, m.to, std::move(m));
        break;
      }
      case 11:
        if (c.up(id)) {
          c.crash(id);
        } else {
          c.restart(id);
        }
        break;
      case 12: c.compact(id, p.below(4)); break;
      case 13:
        if (c.up(id)) c.read_index(id, "r" + std::to_string(op));
        break;
      case 14:
        if (c.up(id)) c.core(id).campaign();
        c.process_ready(id);
        break;
      case 15:
        if (c.up(id)) {
          uint64_t target = 1 + p.below(4);
          switch (p.below(4)) {
            case 0: (void)c.core(id).propose_conf_change(ConfChange{ConfChangeType::add_learner, target}); break;
            case 1: (void)c.core(id).propose_conf_change(ConfChange{ConfChangeType::add_voter, target}); break;
            case 2: (void)c.core(id).propose_conf_change(ConfChange{ConfChangeType::remove, target}); break;
            default: c.core(id).transfer_leadership(target); break;
          }
          c.process_ready(id);
        }
        break;
    }
    check_invariants(c);
  }
  c.stabilize(1000);
  check_invariants(c);
  if (std::getenv("STRATA_FUZZ_VERBOSE") != nullptr) {  // what an input exercised, for corpus curation
    for (uint64_t id : c.ids()) {
      if (!c.up(id)) continue;
      std::fprintf(stderr,
                   "node %llu term=%llu last=%llu commit=%llu role=%s dropped:", static_cast<unsigned long long>(id),
                   static_cast<unsigned long long>(c.core(id).term()),
                   static_cast<unsigned long long>(c.core(id).log().last_index()),
                   static_cast<unsigned long long>(c.core(id).log().committed()), to_string(c.core(id).role()));
      for (size_t r = 1; r < kDropReasonCount; ++r) {
        if (uint64_t n = c.core(id).dropped()[r])
          std::fprintf(stderr, " %s=%llu", to_string(static_cast<DropReason>(r)), static_cast<unsigned long long>(n));
      }
      std::fprintf(stderr, "\n");
    }
  }
  return 0;
}
