// Issue 16's offline tools through the real strata-tool binary: a DB written by the engine from
// part of the Debian packages data set (flushed, compacted, with a live WAL), every kind of file
// dumped with --json and checked against what was written, then corrupted copies that `verify`
// must fail naming the file and offset; and the Raft log of a real one-node cluster.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "strata/db.h"
#include "tests/system/cluster_harness.h"
#include "tests/system/data_set.h"
#include "tests/test_util.h"

using namespace strata;
namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

struct ToolRun {
  int status = -1;  // the exit status; -1 if it did not exit normally
  std::string out;
  std::string err;
  json::object json() const {
    boost::system::error_code ec;
    json::value v = json::parse(out, ec);
    REQUIRE_MESSAGE(!ec, "not JSON: " << out.substr(0, 400) << " stderr: " << err);
    REQUIRE(v.is_object());
    return v.as_object();
  }
};

// Runs strata-tool with `args`, capturing stdout and stderr.
ToolRun run_tool(const std::vector<std::string>& args) {
  static testing::TempDir scratch;
  std::string out_path = scratch.path() + "/out", err_path = scratch.path() + "/err";
  std::vector<std::string> argv = {testing::env_binary("STRATA_TOOL")};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    std::vector<char*> cargs;
    for (auto& a : argv) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    ::execv(cargs[0], cargs.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  ToolRun r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = testing::read_file(out_path);
  r.err = testing::read_file(err_path);
  return r;
}

// The first `n` records of the data set, in key order. The data set comes from meson
// (STRATA_DATA_SET: ../shared/data from the repository root); the test fails without it.
std::vector<std::pair<std::string, std::string>> records(size_t n) {
  static const auto all = [] {
    std::string error;
    const char* path = std::getenv("STRATA_DATA_SET");
    auto loaded = testing::load_data_set(path ? path : "", &error);
    REQUIRE_MESSAGE(loaded, "data set: " << error);
    return std::move(*loaded);
  }();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : all) {
    if (out.size() == n) break;
    out.push_back(kv);
  }
  REQUIRE(out.size() == n);
  return out;
}

void flip_byte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  REQUIRE(f);
}

std::string copy_dir(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive);
  return to;
}

// What the DB holds: phase 1 (compacted to L1), phase 2 (flushed to L0, with deletes of phase-1
// keys), phase 3 (only in the WAL).
struct Written {
  std::vector<std::pair<std::string, std::string>> flushed;  // phases 1 and 2
  std::set<std::string> deleted;
  std::vector<std::pair<std::string, std::string>> in_wal;
};

constexpr uint64_t kWalBlock = 32768;  // docs/format/wal.md
constexpr size_t kPhase1 = 3000, kPhase2 = 1000, kDeletes = 100, kPhase3 = 200;

Written write_db(const std::string& dir) {
  auto recs = records(kPhase1 + kPhase2 + kPhase3);
  Written w;
  w.flushed.assign(recs.begin(), recs.begin() + kPhase1 + kPhase2);
  w.in_wal.assign(recs.begin() + kPhase1 + kPhase2, recs.end());
  for (size_t i = 0; i < kDeletes; ++i) w.deleted.insert(recs[i * 7].first);
  testing::run([&]() -> asio::awaitable<void> {
    Options o;
    o.sync = SyncPolicy::none;
    o.memtable_size_bytes = 512 << 10;  // several L0 flushes in phase 1
    o.wal_preallocate_bytes = 1 << 20;
    o.compression = sstable::Compression::lz4;
    auto ex = co_await asio::this_coro::executor;
    auto db = co_await DB::open(ex, dir, o);
    REQUIRE(db);
    for (size_t i = 0; i < kPhase1; ++i) REQUIRE(co_await (*db)->put(recs[i].first, recs[i].second));
    REQUIRE(co_await (*db)->compact_range());
    for (size_t i = kPhase1; i < kPhase1 + kPhase2; ++i) REQUIRE(co_await (*db)->put(recs[i].first, recs[i].second));
    for (const auto& k : w.deleted) REQUIRE(co_await (*db)->del(k));
    REQUIRE(co_await (*db)->flush());
    for (const auto& [k, v] : w.in_wal) REQUIRE(co_await (*db)->put(k, v));
    REQUIRE(co_await (*db)->close());
  }());
  return w;
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

}  // namespace

TEST_CASE("strata-tool dumps every file of a DB written from the data set and verify fails corrupted copies") {
  testing::TempDir tmp;
  const std::string db = tmp.path() + "/db";
  Written w = write_db(db);

  // The MANIFEST, through the directory's CURRENT: files per level.
  ToolRun manifest = run_tool({"manifest", db, "--json"});
  REQUIRE_MESSAGE(manifest.status == 0, manifest.out << manifest.err);
  json::object m = manifest.json();
  CHECK(str(m["status"]) == "ok");
  CHECK(m["edits"].as_array().size() >= 2);
  const json::array& levels = m["levels"].as_array();
  REQUIRE(levels.size() == 7);
  size_t l0 = levels[0].at("files").as_array().size(), deeper = 0;
  for (size_t l = 1; l < levels.size(); ++l) deeper += levels[l].at("files").as_array().size();
  CHECK(l0 >= 1);      // phase 2's flush
  CHECK(deeper >= 1);  // phase 1, compacted
  CHECK(m["last_sequence"].to_number<uint64_t>() >= kPhase1 + kPhase2 + kDeletes);
  uint64_t log_number = m["log_number"].to_number<uint64_t>();

  // Every live SSTable with its entries: the flushed keys are all there, and nothing else.
  std::map<std::string, std::pair<std::string, uint64_t>> newest;  // user key -> (type, value bytes) of the newest
  std::map<std::string, uint64_t> newest_seq;
  std::vector<std::string> live_tables;
  uint64_t manifest_entries = 0;
  for (const auto& level : levels) {
    for (const auto& f : level.at("files").as_array()) {
      char name[32];
      std::snprintf(name, sizeof name, "/%06llu.sst",
                    static_cast<unsigned long long>(f.at("number").to_number<uint64_t>()));
      std::string path = db + name;
      live_tables.push_back(path);
      manifest_entries += f.at("num_entries").to_number<uint64_t>();
      ToolRun sst = run_tool({"sst", path, "--json", "--entries"});
      REQUIRE_MESSAGE(sst.status == 0, sst.out << sst.err);
      json::object s = sst.json();
      CHECK(str(s["status"]) == "ok");
      CHECK(s["engine_open_ok"].as_bool());
      CHECK(s["entries"].to_number<uint64_t>() == f.at("num_entries").to_number<uint64_t>());
      CHECK(s["properties"].at("num_entries") == s["entries"]);
      CHECK(s["checksums"].at("blocks_verified").to_number<uint64_t>() >=
            s["data_blocks"].at("count").to_number<uint64_t>() + 2);
      CHECK(str(s["bloom"].at("encoding")) == "cache_local");
      CHECK(s["data_blocks"].at("compressed").to_number<uint64_t>() > 0);  // LZ4 on Debian control text
      const json::array& listed = s["listed"].as_array();
      CHECK(listed.size() == s["entries"].to_number<uint64_t>());
      for (const auto& e : listed) {
        std::string key = str(e.at("key"));
        uint64_t seq = e.at("sequence").to_number<uint64_t>();
        if (newest_seq.contains(key) && newest_seq[key] >= seq) continue;
        newest_seq[key] = seq;
        newest[key] = {str(e.at("type")), e.at("value_bytes").to_number<uint64_t>()};
      }
    }
  }
  CHECK(manifest_entries >= kPhase1 + kPhase2);
  size_t checked = 0;
  for (const auto& [k, v] : w.flushed) {
    REQUIRE_MESSAGE(newest.contains(k), k << " is in no SSTable");
    if (w.deleted.contains(k)) {
      CHECK(newest[k].first == "deletion");
    } else {
      CHECK(newest[k].first == "value");
      CHECK(newest[k].second == v.size());
    }
    ++checked;
  }
  CHECK(newest.size() == w.flushed.size());
  CHECK(checked == kPhase1 + kPhase2);

  // The live WAL segment holds exactly phase 3.
  std::string wal_path;
  for (const auto& e : fs::directory_iterator(db + "/wal")) {
    uint64_t n = std::stoull(e.path().filename().string());
    if (n >= log_number) {
      REQUIRE(wal_path.empty());
      wal_path = e.path().string();
    }
  }
  REQUIRE(!wal_path.empty());
  ToolRun wal = run_tool({"wal", wal_path, "--json", "--entries"});
  REQUIRE_MESSAGE(wal.status == 0, wal.out << wal.err);
  json::object wj = wal.json();
  CHECK(wj["puts"].to_number<uint64_t>() == kPhase3);
  CHECK(wj["deletes"].to_number<uint64_t>() == 0);
  CHECK(str(wj["end"].at("verdict")) == "clean");
  std::vector<std::string> wal_keys;
  uint64_t last_end = 0, middle_record = 0;
  for (const auto& b : wj["batches"].as_array()) {
    for (const auto& op : b.at("ops").as_array()) wal_keys.push_back(str(op.at("key")));
    last_end = b.at("end_offset").to_number<uint64_t>();
    uint64_t offset = b.at("offset").to_number<uint64_t>();
    // A record in the middle whose first fragment holds more than its header (not at a block's end).
    if (wal_keys.size() >= kPhase3 / 2 && middle_record == 0 && offset % kWalBlock < kWalBlock - 100) {
      middle_record = offset;
    }
  }
  REQUIRE(middle_record > 0);
  REQUIRE(wal_keys.size() == kPhase3);
  for (size_t i = 0; i < kPhase3; ++i) CHECK(wal_keys[i] == w.in_wal[i].first);

  // The whole directory is clean.
  ToolRun clean = run_tool({"verify", db, "--json"});
  REQUIRE_MESSAGE(clean.status == 0, clean.out << clean.err);
  CHECK(str(clean.json()["status"]) == "clean");
  CHECK(run_tool({"verify", db}).out.find("clean") != std::string::npos);
  CHECK(run_tool({"manifest", db}).status == 0);
  CHECK(run_tool({"sst", live_tables[0]}).status == 0);

  auto first_corruption = [](const ToolRun& r) {
    CHECK_MESSAGE(r.status == 1, r.out << r.err);
    json::object o = r.json();
    CHECK(str(o["status"]) == "corrupt");
    REQUIRE(o["first_corruption"].is_object());
    return o["first_corruption"].as_object();
  };

  SUBCASE("a flipped byte inside an SSTable data block") {
    std::string copy = copy_dir(db, tmp.path() + "/sst-flip");
    std::string table = copy + live_tables.back().substr(db.size());
    const uint64_t at = 1000;  // inside the first data block (blocks are ~4 KiB)
    flip_byte(table, at);
    json::object c = first_corruption(run_tool({"verify", copy, "--json"}));
    CHECK(str(c["file"]) == table);
    REQUIRE(c["offset"].is_number());
    CHECK(c["offset"].to_number<uint64_t>() <= at);
    CHECK(str(c["message"]).find("checksum mismatch") != std::string::npos);
    ToolRun sst = run_tool({"sst", table, "--json"});
    CHECK(sst.status == 1);
    CHECK(str(sst.json()["problem"].at("file")) == table);
    CHECK(run_tool({"verify", copy}).out.find("CORRUPT: first corruption in " + table + " at offset") !=
          std::string::npos);
  }
  SUBCASE("a flipped byte in the middle of the WAL") {
    std::string copy = copy_dir(db, tmp.path() + "/wal-flip");
    std::string segment = copy + wal_path.substr(db.size());
    const uint64_t at = middle_record + 20;  // in the payload of its first fragment
    flip_byte(segment, at);
    json::object c = first_corruption(run_tool({"verify", copy, "--json"}));
    CHECK(str(c["file"]) == segment);
    uint64_t off = c["offset"].to_number<uint64_t>();
    CHECK(off == middle_record);
    CHECK(run_tool({"wal", segment, "--json"}).status == 1);
  }
  SUBCASE("a WAL truncated inside its last record is a torn tail: a warning, not corruption") {
    std::string copy = copy_dir(db, tmp.path() + "/wal-torn");
    std::string segment = copy + wal_path.substr(db.size());
    fs::resize_file(segment, last_end - 3);
    ToolRun r = run_tool({"wal", segment, "--json"});
    CHECK(r.status == 0);
    json::object o = r.json();
    CHECK(str(o["end"].at("verdict")) == "torn_tail");
    CHECK(o["puts"].to_number<uint64_t>() == kPhase3 - 1);
    ToolRun v = run_tool({"verify", copy, "--json"});
    CHECK(v.status == 0);
    CHECK(str(v.json()["findings"].as_array().at(0).at("severity")) == "warning");
  }
  SUBCASE("a flipped byte in a MANIFEST edit that later edits follow") {
    std::string copy = copy_dir(db, tmp.path() + "/manifest-flip");
    std::string manifest_path = copy + "/" + str(m["file"]).substr(db.size() + 1);
    const json::array& edits = m["edits"].as_array();
    uint64_t edit_offset = edits.at(edits.size() / 2).at("offset").to_number<uint64_t>();
    flip_byte(manifest_path, edit_offset + 11);  // the first payload byte, after the 11-byte header
    json::object c = first_corruption(run_tool({"verify", copy, "--json"}));
    CHECK(str(c["file"]) == manifest_path);
    CHECK(c["offset"].to_number<uint64_t>() == edit_offset);
    CHECK(str(c["message"]).find("checksum_mismatch") != std::string::npos);
    CHECK(run_tool({"manifest", manifest_path, "--json"}).status == 1);
  }
  SUBCASE("a flipped byte in the MANIFEST's last edit, which recovery would take for a torn append") {
    // The last edit committed phase 2's last flush; its WAL segment is gone, so the table it added
    // holds writes that nothing else does.
    std::string copy = copy_dir(db, tmp.path() + "/manifest-last");
    std::string manifest_path = copy + "/" + str(m["file"]).substr(db.size() + 1);
    uint64_t last_edit = m["edits"].as_array().back().at("offset").to_number<uint64_t>();
    flip_byte(manifest_path, last_edit + 11);
    ToolRun alone = run_tool({"manifest", manifest_path, "--json"});
    CHECK(alone.status == 0);  // by itself, a damaged last record looks like a torn append
    CHECK(str(alone.json()["end"].at("verdict")) == "torn_tail");
    json::object c = first_corruption(run_tool({"verify", copy, "--json"}));
    CHECK(str(c["file"]) == manifest_path);
    CHECK(c["offset"].to_number<uint64_t>() == last_edit);
    CHECK(str(c["message"]).find("not a torn append") != std::string::npos);
  }
  SUBCASE("a deleted live SSTable") {
    std::string copy = copy_dir(db, tmp.path() + "/sst-gone");
    std::string table = copy + live_tables.front().substr(db.size());
    fs::remove(table);
    json::object c = first_corruption(run_tool({"verify", copy, "--json"}));
    CHECK(str(c["file"]) == table);
    CHECK(c["offset"].is_null());
    CHECK(str(c["message"]).find("missing") != std::string::npos);
  }
  SUBCASE("a truncated SSTable") {
    std::string copy = copy_dir(db, tmp.path() + "/sst-short");
    std::string table = copy + live_tables.front().substr(db.size());
    fs::resize_file(table, fs::file_size(table) - 10);
    json::object c = first_corruption(run_tool({"verify", copy, "--json"}));
    CHECK(str(c["file"]) == table);
    CHECK(run_tool({"sst", table}).status == 1);
  }
  SUBCASE("the tool changes nothing in the directory") {
    std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> before, after;
    auto snapshot = [&](auto* out) {
      for (const auto& e : fs::recursive_directory_iterator(db)) {
        (*out)[e.path().string()] = {e.is_regular_file() ? e.file_size() : 0, e.last_write_time()};
      }
    };
    snapshot(&before);
    run_tool({"verify", db});
    run_tool({"manifest", db});
    run_tool({"wal", wal_path});
    snapshot(&after);
    CHECK(before == after);
  }
}

TEST_CASE("strata-tool is strict about its command line") {
  testing::TempDir tmp;
  ToolRun help = run_tool({"--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("usage: strata-tool") != std::string::npos);
  CHECK(run_tool({"--version"}).out.find("strata-tool") != std::string::npos);
  ToolRun unknown = run_tool({"verify", tmp.path(), "--bogus"});
  CHECK(unknown.status == 2);
  CHECK(unknown.err.find("bogus") != std::string::npos);
  ToolRun stray = run_tool({"sst", "a.sst", "b.sst"});
  CHECK(stray.status == 2);
  CHECK(stray.err.find("b.sst") != std::string::npos);
  ToolRun wrong_flag = run_tool({"manifest", tmp.path(), "--entries"});
  CHECK(wrong_flag.status == 2);
  CHECK(wrong_flag.err.find("--entries") != std::string::npos);
  CHECK(run_tool({"frobnicate", tmp.path()}).status == 2);
  CHECK(run_tool({"verify", tmp.path() + "/nothing-here"}).status == 2);
  CHECK(run_tool({"verify", tmp.path()}).status == 2);    // an empty directory is no data directory
  CHECK(run_tool({"raft-log", tmp.path()}).status == 2);  // nor a cluster node's
  CHECK(run_tool({}).status == 2);
  // Not an SSTable: a clear error, exit 1.
  std::ofstream(tmp.path() + "/junk.sst") << std::string(200, 'x');
  ToolRun junk = run_tool({"sst", tmp.path() + "/junk.sst"});
  CHECK(junk.status == 1);
  CHECK(junk.out.find("bad magic number") != std::string::npos);
}

TEST_CASE("strata-tool reads the Raft log of a one-node cluster and verify fails corrupted copies") {
  // A small snapshot threshold: the node flushes its DB and compacts its log during the test, so
  // the log starts with a snapshot record and the DB's applied index lives in an SSTable.
  testing::Cluster cluster(testing::env_binary("STRATA_SERVER"), 1,
                           {"--snapshot-threshold", "20", "--snapshot-trailing", "5"});
  cluster.start_all();
  REQUIRE(cluster.wait_leader() == 1);
  auto recs = records(60);
  for (const auto& [k, v] : recs) {
    auto r = cluster.put(1, k, v);
    REQUIRE_MESSAGE(r.status == 200, r.body);
  }
  const std::string dir = cluster.node(1).dir;
  auto compacted = [&] {
    for (const auto& e : fs::directory_iterator(dir + "/raft")) {
      if (e.path().filename() != "000001.log" && e.path().extension() == ".log") return true;
    }
    return false;
  };
  REQUIRE(testing::eventually(compacted, std::chrono::seconds(10)));
  cluster.kill9(1);

  ToolRun raft = run_tool({"raft-log", dir, "--json"});
  REQUIRE_MESSAGE(raft.status == 0, raft.out << raft.err);
  json::object r = raft.json();
  CHECK(str(r["status"]) == "ok");
  REQUIRE(r["hard_state"].is_object());
  REQUIRE(r["snapshot"].is_object());
  uint64_t snapshot_index = r["snapshot"].at("index").to_number<uint64_t>();
  CHECK(snapshot_index >= 1);
  CHECK(r["snapshot"].at("voters").as_array().size() == 1);
  CHECK(r["first_index"].to_number<uint64_t>() == snapshot_index + 1);
  uint64_t last = r["last_index"].to_number<uint64_t>();
  CHECK(last >= recs.size());  // one entry per put, and the leader's first entry
  CHECK(r["hard_state"].at("commit").to_number<uint64_t>() <= last);
  CHECK(r["hard_state"].at("commit").to_number<uint64_t>() >= snapshot_index);
  CHECK(r["hard_state"].at("term").to_number<uint64_t>() >= 1);
  size_t writes = 0;
  uint64_t prev_index = snapshot_index, write_record = 0;
  for (const auto& e : r["entries"].as_array()) {
    uint64_t index = e.at("index").to_number<uint64_t>();
    CHECK(index == prev_index + 1);
    prev_index = index;
    CHECK(str(e.at("type")) == "normal");
    if (str(e.at("detail")).starts_with("write: 1 operations")) {
      ++writes;
      uint64_t offset = e.at("record_offset").to_number<uint64_t>();
      if (write_record == 0 && offset % kWalBlock < kWalBlock - 100) write_record = offset;
    }
  }
  CHECK(prev_index == last);
  CHECK(writes == last - snapshot_index);  // every entry after the snapshot is a put
  REQUIRE(write_record > 0);

  ToolRun clean = run_tool({"verify", dir, "--json"});
  REQUIRE_MESSAGE(clean.status == 0, clean.out << clean.err);
  json::object v = clean.json();
  CHECK(str(v["layout"]) == "cluster_node");
  CHECK(str(v["status"]) == "clean");
  size_t tables = 0, applied_checks = 0;
  for (const auto& f : v["files"].as_array()) {
    if (str(f.at("kind")) == "sstable") ++tables;
    if (str(f.at("kind")) == "applied_index") {
      ++applied_checks;
      CHECK(str(f.at("status")) == "ok");
    }
  }
  CHECK(tables >= 1);  // the flush before the log compaction
  CHECK(applied_checks == 1);

  testing::TempDir tmp;
  SUBCASE("a flipped byte in an entries record that later records follow") {
    std::string copy = copy_dir(dir, tmp.path() + "/node");
    std::string segment = copy + str(r["segment"]).substr(dir.size());
    flip_byte(segment, write_record + 20);  // in the record's payload
    ToolRun bad = run_tool({"verify", copy, "--json"});
    CHECK_MESSAGE(bad.status == 1, bad.out << bad.err);
    json::object c = bad.json()["first_corruption"].as_object();
    CHECK(str(c["file"]) == segment);
    CHECK(c["offset"].to_number<uint64_t>() == write_record);
    CHECK(run_tool({"raft-log", copy}).status == 1);
  }
  SUBCASE("a DB whose applied index is behind the log's snapshot") {
    // The node's db/ replaced by an empty DB: the log no longer holds the entries it lacks.
    std::string copy = copy_dir(dir, tmp.path() + "/node");
    fs::remove_all(copy + "/db");
    testing::run([&]() -> asio::awaitable<void> {
      auto ex = co_await asio::this_coro::executor;
      auto db = co_await DB::open(ex, copy + "/db", Options{});
      REQUIRE(db);
      REQUIRE(co_await (*db)->close());
    }());
    ToolRun bad = run_tool({"verify", copy, "--json"});
    CHECK_MESSAGE(bad.status == 1, bad.out << bad.err);
    json::object c = bad.json()["first_corruption"].as_object();
    CHECK(str(c["file"]) == copy + "/db");
    CHECK(str(c["message"]).find("applied index 0 is behind") != std::string::npos);
  }
}
