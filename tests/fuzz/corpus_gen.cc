// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) with the real
// writers, so that the fuzzers start from valid inputs of every kind:
//   wal_reader   WAL segments (log number 7): small records, a record spanning blocks, a torn tail
//   block        data blocks (internal keys) and a bytewise block, byte 0 selecting the order
//   sstable      small tables: several data blocks, with and without bloom filter, lz4 and zstd
//   manifest     a MANIFEST written by a DB (flushes, compaction) and single VersionEdits
//   raft_codec   encoded messages of several types, a hard state, a conf change
//   raft_core    programs for raft_core_fuzzer.cc: an election and replication, then forged
//                messages (a heartbeat committing far past the log, an append with a gap, a
//                TimeoutNow from a non-leader, a snapshot without voters), and pseudo-random ones
//   http_router  hand-written requests (the target's text format, see http_router_fuzzer.cc)
// Usage: fuzz_corpus_gen <corpus dir>. Deterministic: the same binary writes the same files.
#include <boost/asio/this_coro.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "lib/raft/codec.h"
#include "lib/sstable/block_builder.h"
#include "lib/sstable/table_builder.h"
#include "lib/util/internal_key.h"
#include "lib/util/logging.h"
#include "lib/version/file_names.h"
#include "lib/version/version_edit.h"
#include "lib/version/version_set.h"
#include "lib/wal/wal_writer.h"
#include "tests/test_util.h"

using namespace strata;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

fs::path g_root;

void put_file(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_root / target);
  std::ofstream out(g_root / target / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s/%s\n", target.c_str(), name.c_str());
    std::exit(1);
  }
}

std::string must(Result<std::string> r) {
  if (!r) {
    std::fprintf(stderr, "generator step failed: %s\n", r.error().message().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

asio::awaitable<Result<std::string>> wal_log(std::vector<std::string> records, size_t cut_tail) {
  io::MemFileSystem mfs;
  STRATA_CO_TRY_ASSIGN(auto file, co_await mfs.open("/000007.log", io::OpenOptions{.create = true}));
  wal::WalWriter writer(std::move(file), 7);
  for (const auto& r : records) {
    writer.add_record(r);
    STRATA_CO_TRY(co_await writer.flush(true));
  }
  STRATA_CO_TRY_ASSIGN(std::string bytes, mfs.contents("/000007.log"));
  bytes.resize(bytes.size() - std::min(cut_tail, bytes.size()));
  co_return bytes;
}

std::string ikey(const std::string& user, SequenceNumber seq, ValueType t = ValueType::value) {
  return make_internal_key(user, seq, t);
}

asio::awaitable<Result<std::string>> table(int n, sstable::TableOptions options) {
  io::MemFileSystem mfs;
  STRATA_CO_TRY_ASSIGN(auto file, co_await mfs.open("/000009.sst", io::OpenOptions{.create = true}));
  sstable::TableBuilder builder(options, file.get());
  for (int i = 0; i < n; ++i) {
    char user[16];
    std::snprintf(user, sizeof user, "key%05d", i);
    bool del = i % 7 == 3;
    builder.add(ikey(user, 1000 - i, del ? ValueType::deletion : ValueType::value),
                del ? std::string() : "value-" + std::to_string(i) + std::string(i % 23, 'v'));
    if (builder.should_write()) STRATA_CO_TRY(co_await builder.write_pending());
  }
  STRATA_CO_TRY(co_await builder.finish());
  co_return mfs.contents("/000009.sst");
}

// A DB's MANIFEST after a few flushes and a compaction.
asio::awaitable<Result<std::string>> manifest() {
  io::MemFileSystem mfs;
  Options o;
  o.file_system = &mfs;
  o.memtable_size_bytes = 16 << 10;
  o.wal_preallocate_bytes = 0;
  auto ex = co_await asio::this_coro::executor;
  STRATA_CO_TRY_ASSIGN(auto db, co_await DB::open(ex, "/db", o));
  for (int i = 0; i < 300; ++i) {
    STRATA_CO_TRY(co_await db->put("k" + std::to_string(i % 120), std::string(40, 'a' + i % 26)));
  }
  STRATA_CO_TRY(co_await db->flush());
  STRATA_CO_TRY(co_await db->compact_range());
  STRATA_CO_TRY(co_await db->put("late", "x"));
  STRATA_CO_TRY(co_await db->flush());
  STRATA_CO_TRY(co_await db->close());
  STRATA_CO_TRY_ASSIGN(std::string current, mfs.contents(current_file_name("/db")));
  while (!current.empty() && current.back() == '\n') current.pop_back();
  co_return mfs.contents("/db/" + current);
}

// A MANIFEST written by VersionSet itself: a snapshot edit, then edits adding and removing files.
asio::awaitable<Result<std::string>> manifest_edits() {
  io::MemFileSystem mfs;
  STRATA_CO_TRY(co_await mfs.create_dir("/db"));
  VersionSet versions(mfs, "/db");
  STRATA_CO_TRY(co_await versions.create_manifest());
  for (int i = 0; i < 6; ++i) {
    VersionEdit e;
    uint64_t n = versions.new_file_number();
    std::string lo = "k" + std::to_string(10 * i), hi = "k" + std::to_string(10 * i + 9);
    e.add_file(i % 3, FileMetaData{.number = n,
                                   .file_size = 1000 + n,
                                   .smallest = ikey(lo, 100 + i),
                                   .largest = ikey(hi, 100 + i),
                                   .smallest_seq = 100u + i,
                                   .largest_seq = 100u + i,
                                   .num_entries = 10});
    if (i == 4) e.delete_file(0, n - 4);
    e.last_sequence = 100 + i;
    e.log_number = n;
    STRATA_CO_TRY(co_await versions.log_and_apply(std::move(e)));
  }
  STRATA_CO_TRY_ASSIGN(std::string current, mfs.contents(current_file_name("/db")));
  while (!current.empty() && current.back() == '\n') current.pop_back();
  co_return mfs.contents("/db/" + current);
}

void gen_wal() {
  put_file("wal_reader", "empty", "");
  put_file("wal_reader", "small_records",
           must(strata::testing::run(wal_log({"a", "hello world", std::string(300, 'x'), ""}, 0))));
  put_file("wal_reader", "spanning_blocks",
           must(strata::testing::run(wal_log({"first", std::string(40000, 'y'), "last"}, 0))));
  put_file("wal_reader", "torn_tail", must(strata::testing::run(wal_log({"kept", "torn record"}, 5))));
}

void gen_block() {
  sstable::BlockBuilder data(4);
  for (int i = 0; i < 20; ++i) data.add(ikey("user" + std::to_string(100 + i), 50 - i), "v" + std::to_string(i));
  put_file("block", "internal_keys", std::string(1, '\0') + std::string(data.finish()));
  sstable::BlockBuilder names(1);
  for (const char* k : {"alpha", "beta", "gamma"}) names.add(k, "1");
  put_file("block", "bytewise_keys", std::string(1, '\1') + std::string(names.finish()));
  sstable::BlockBuilder empty(16);
  put_file("block", "empty_block", std::string(1, '\0') + std::string(empty.finish()));
}

void gen_sstable() {
  put_file("sstable", "bloom_small_blocks",
           must(strata::testing::run(table(60, {.block_size_bytes = 256, .bloom_bits_per_key = 10}))));
  put_file("sstable", "no_filter",
           must(strata::testing::run(table(20, {.block_size_bytes = 512, .bloom_bits_per_key = 0}))));
  put_file("sstable", "lz4",
           must(strata::testing::run(table(40, {.block_size_bytes = 512, .compression = sstable::Compression::lz4}))));
  put_file("sstable", "zstd",
           must(strata::testing::run(table(40, {.block_size_bytes = 512, .compression = sstable::Compression::zstd}))));
  put_file("sstable", "one_entry", must(strata::testing::run(table(1, {}))));
}

void gen_manifest() {
  put_file("manifest", "db_after_compaction", must(strata::testing::run(manifest())));
  put_file("manifest", "version_set_edits", must(strata::testing::run(manifest_edits())));
  VersionEdit e;
  e.log_number = 12;
  e.next_file_number = 20;
  e.last_sequence = 999;
  e.delete_file(0, 7);
  e.add_file(1, FileMetaData{.number = 13,
                             .file_size = 4096,
                             .smallest = ikey("a", 5),
                             .largest = ikey("m", 9),
                             .smallest_seq = 5,
                             .largest_seq = 9,
                             .num_entries = 10});
  put_file("manifest", "single_edit", e.encode());
}

void gen_raft() {
  using namespace strata::raft;
  Message app;
  app.type = MessageType::app;
  app.to = 2;
  app.from = 1;
  app.term = 3;
  app.log_term = 2;
  app.index = 10;
  app.commit = 9;
  app.entries = {Entry{.term = 3, .index = 11, .type = EntryType::normal, .data = "put k v"},
                 Entry{.term = 3,
                       .index = 12,
                       .type = EntryType::conf_change,
                       .data = encode_conf_change(ConfChange{.type = ConfChangeType::add_voter, .node_id = 4})}};
  put_file("raft_codec", "append", encode_message(app));
  Message vote;
  vote.type = MessageType::pre_vote_resp;
  vote.to = 1;
  vote.from = 3;
  vote.term = 7;
  vote.reject = true;
  vote.reject_hint = 5;
  put_file("raft_codec", "pre_vote_resp", encode_message(vote));
  Message snap;
  snap.type = MessageType::snap;
  snap.to = 3;
  snap.from = 1;
  snap.term = 4;
  snap.snapshot =
      raft::Snapshot{.metadata = {.index = 100, .term = 4, .conf_state = {.voters = {1, 2, 3}, .learners = {5}}},
                     .data = "snapshot bytes"};
  put_file("raft_codec", "snapshot", encode_message(snap));
  Message ri;
  ri.type = MessageType::read_index;
  ri.context = "ctx-123";
  put_file("raft_codec", "read_index", encode_message(ri));
  put_file("raft_codec", "hard_state", encode_hard_state(HardState{.term = 9, .vote = 2, .commit = 40}));
  put_file("raft_codec", "conf_change", encode_conf_change(ConfChange{.type = ConfChangeType::remove, .node_id = 2}));
}

// Programs of raft_core_fuzzer.cc: a seed byte, then opcodes (opcode byte, node byte, operands).
struct CoreProgram {
  std::string bytes;
  explicit CoreProgram(uint8_t seed) { bytes.push_back(static_cast<char>(seed)); }
  CoreProgram& op(uint8_t code, uint8_t node, std::initializer_list<uint8_t> operands = {}) {
    bytes.push_back(static_cast<char>(code));
    bytes.push_back(static_cast<char>(node));
    for (uint8_t b : operands) bytes.push_back(static_cast<char>(b));
    return *this;
  }
  // Ticks node 0 (id 1) until it campaigns, then lets the messages flow.
  CoreProgram& elect() {
    for (int i = 0; i < 12; ++i) op(0, 0);
    for (int i = 0; i < 4; ++i) op(4, 0);
    return *this;
  }
  CoreProgram& propose(uint8_t node) {
    op(5, node, {3, 'a', 'b', 'c'});
    return op(4, 0);
  }
};

void gen_raft_core() {
  auto base = [] {
    CoreProgram p(3);  // pre-vote and check-quorum on
    p.elect().propose(0).propose(0);
    for (int i = 0; i < 3; ++i) p.op(0, 0).op(4, 0);
    return p;
  };
  put_file("raft_core", "elect_and_replicate", base().bytes);
  // forge(): type, to selector (non-zero: the node), from (pick_node index), term, anchor, index,
  // log_term, commit, flags, reject_hint, entry count, [entries], [snapshot], [context].
  CoreProgram hb = base();
  // A heartbeat to node 2 from node 1 at the current term (near(term): 0x20 = term + 0) whose
  // commit is a random 64-bit value (case 3: 0x60 then 8 bytes).
  hb.op(6, 1, {7, 1, 0, 0x20, 1, 0x20, 0x20, 0x60, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x20, 0});
  put_file("raft_core", "forged_heartbeat_huge_commit", hb.bytes);
  CoreProgram gap = base();
  // An append with two entries whose second index jumps.
  gap.op(6, 2, {5, 1, 0, 0x20, 1, 0x20, 0x20, 0x20, 0, 0x20, 2, 1, 0, 0, 1, 'x', 0, 0, 0x80 | 0x09, 0, 1, 'y'});
  put_file("raft_core", "forged_append_gap", gap.bytes);
  CoreProgram tn = base();
  tn.op(6, 1, {10, 1, 2, 0x20, 1, 0x20, 0x20, 0x20, 0, 0x20, 0});  // TimeoutNow from node 3
  put_file("raft_core", "forged_timeout_now", tn.bytes);
  CoreProgram snap = base();
  // flags 0: a snap carries its snapshot: index last + 5, the current term, no voters.
  snap.op(6, 1, {9, 1, 0, 0x21, 1, 0x20, 0x20, 0x20, 0, 0x20, 0x25, 0x20, 0, 0, 1});
  put_file("raft_core", "forged_snapshot_no_voters", snap.bytes);
  CoreProgram mutate = base();
  for (int i = 0; i < 8; ++i) mutate.op(0, 0).op(9, 0, {static_cast<uint8_t>(i), static_cast<uint8_t>(i), 0x27});
  put_file("raft_core", "mutated_queued_messages", mutate.bytes);
  CoreProgram churn = base();
  churn.op(11, 1).op(0, 0).op(4, 0).op(11, 1).op(12, 0, {1}).op(13, 0).op(15, 0, {3, 1}).op(14, 2).op(4, 0);
  for (int i = 0; i < 20; ++i) churn.op(static_cast<uint8_t>(i % 5), static_cast<uint8_t>(i % 3));
  put_file("raft_core", "crash_compact_transfer", churn.bytes);
  uint64_t x = 0x9e3779b97f4a7c15ull;  // xorshift: deterministic pseudo-random programs
  for (int f = 0; f < 4; ++f) {
    std::string bytes = base().bytes;
    for (int i = 0; i < 512; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      bytes.push_back(static_cast<char>(x));
    }
    put_file("raft_core", "random_" + std::to_string(f), bytes);
  }
}

void gen_http() {
  put_file("http_router", "kv_put_get", "PUT /v1/kv/hello\napplication/octet-stream\nworld\n===\nGET /v1/kv/hello\n");
  put_file("http_router", "kv_delete", "DELETE /v1/kv/a\n===\nGET /v1/kv/a\n");
  put_file("http_router", "kv_scan", "GET /v1/kv?start=a&end=z&limit=5&encoding=base64\n");
  put_file("http_router", "kv_prefix", "GET /v1/kv?prefix=b%2F&consistency=stale\n");
  put_file("http_router", "batch",
           "POST /v1/batch\napplication/json\n{\"ops\":[{\"op\":\"put\",\"key\":\"x\",\"value\":\"1\"},"
           "{\"op\":\"delete\",\"key\":\"a\"}]}\n");
  put_file("http_router", "tiny_set_get",
           "POST /set\napplication/json\n{\"key\":\"k1\",\"value\":\"v1\"}\n===\nGET /get?key=k1&consistent=true\n");
  put_file("http_router", "tiny_delete", "POST /delete\napplication/json\n{\"key\":\"key\"}\n");
  put_file("http_router", "status_stats_metrics",
           "GET /status\n===\nGET /v1/status\n===\nGET /v1/stats\n===\nGET /metrics\n");
  put_file("http_router", "members",
           "GET /v1/cluster/members\n===\nPOST /add_node\napplication/json\n{\"node_url\":\"http://127.0.0.1:9\"}\n");
  put_file("http_router", "bad_method", "PATCH /v1/kv/a\n");
  put_file("http_router", "admin_trace_at",
           "GET /v1/trace?key=a&at=2\n===\nGET /v1/kv/a?at=1\n===\nGET /get?key=a&at=1\n");
  put_file(
      "http_router", "admin_config",
      "GET /v1/config\n===\nPOST /v1/config\napplication/json\n{\"name\":\"memtable_size_bytes\",\"value\":\"65536\"}\n");
  put_file("http_router", "admin_flush_compact",
           "POST /v1/admin/flush\n===\nPOST /v1/admin/compact\napplication/json\n{\"begin\":\"a\",\"end\":\"z\"}\n"
           "===\nGET /stats\n");
  put_file("http_router", "reverse_scan", "GET /v1/kv?reverse=true&limit=2&start=a\n");
  put_file("http_router", "percent_key", "PUT /v1/kv/a%00b%FF\n\n\x01\x02\xff\n===\nGET /v1/kv/a%00b%FF\n");
  // Browser safety (the body's first line is also the Host and Origin the guard sees): the issue's
  // text/plain POST /set from evil.example, a form-typed write, a loopback Host with an origin.
  put_file("http_router", "guard_evil_host",
           "POST /set\ntext/plain\nevil.example:8000\n{\"key\":\"k\",\"value\":\"v\"}\n===\n"
           "PUT /v1/kv/x\napplication/x-www-form-urlencoded\na=b\n===\n"
           "DELETE /v1/kv/x\napplication/json\nlocalhost:8000\n===\n"
           "OPTIONS /v1/kv/x\n\nhttps://console.example\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  set_log_level(LogLevel::error);
  gen_wal();
  gen_block();
  gen_sstable();
  gen_manifest();
  gen_raft();
  gen_raft_core();
  gen_http();
  std::printf("corpus written to %s\n", g_root.c_str());
  return 0;
}
