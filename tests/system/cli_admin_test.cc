// System test: the `strata` REPL driven through a pipe, with the embedded backend (--data-dir)
// and with the HTTP backend (--url) against a real strata-server, over a slice of the Debian
// packages data set: SET, GET, GET key AT seq, SCAN ... REVERSE, RSCAN, FLUSH, COMPACT, STATS,
// TRACE, CONFIG, CONFIG SET. Both backends must print the same answers for the same script.
//
// Environment: STRATA_CLI (the strata binary), STRATA_SERVER (strata-server), STRATA_DATA_SET.
// Fails when any is missing.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/system/cluster_harness.h"
#include "tests/system/data_set.h"
#include "tests/system/spawn.h"
#include "tests/free_port.h"
#include "tests/test_util.h"

namespace {

constexpr size_t kRecords = 1500;  // every 40th record of the data set

std::string env(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE_MESSAGE(v != nullptr, name << " is not set");
  return v;
}

// A REPL "quoted string" for arbitrary bytes.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\0': out += "\\0"; break;
      default: out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

struct Run {
  int exit_code = -1;
  std::string out;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `strata <backend args> repl` with `script` on stdin.
Run run_repl(const std::string& cli, const std::string& backend_args, const std::string& script,
             const std::string& tmp) {
  std::string in = tmp + "/script.txt";
  std::string out = tmp + "/out.txt";
  std::ofstream(in, std::ios::binary) << script;
  std::string cmd = cli + " " + backend_args + " repl < " + in + " > " + out + " 2> " + tmp + "/err.txt";
  int status = std::system(cmd.c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  return r;
}

// Runs a one-shot `strata <args>`; returns the exit code and stdout.
Run run_cli(const std::string& cli, const std::string& args, const std::string& tmp) {
  std::string out = tmp + "/oneshot.txt";
  int status = std::system((cli + " " + args + " > " + out + " 2>> " + tmp + "/err.txt").c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  return r;
}

// The records of the slice, the script that loads them, and the answers it must print.
struct Workload {
  std::vector<std::pair<std::string, std::string>> records;  // sorted by key
  std::string load;            // SET every record (sequence numbers 1..kRecords), overwrite the first
  std::string queries;         // deterministic queries
  std::string expected;        // what `queries` prints
  std::string stable_queries;  // the queries whose answers survive flush and compaction
  std::string stable_expected;
};

std::string value_line(const std::string& v) { return v + "\n"; }

Workload make_workload(const std::map<std::string, std::string>& data) {
  Workload w;
  size_t i = 0;
  for (const auto& kv : data) {
    if (i++ % 40 == 0 && w.records.size() < kRecords) w.records.push_back(kv);
  }
  REQUIRE(w.records.size() == kRecords);
  for (const auto& [k, v] : w.records) w.load += "SET " + quote(k) + " " + quote(v) + "\n";
  const auto& first = w.records.front();
  w.load += "SET " + quote(first.first) + " \"overwritten\"\n";  // sequence kRecords + 1

  // GET, GET AT (before and after the overwrite), a forward and two reverse scans. `stable`
  // queries answer the same after a flush and a compaction; GET AT of an unpinned, overwritten
  // version need not (its version may be compacted away).
  auto add = [&w](const std::string& q, const std::string& expected, bool stable) {
    w.queries += q;
    w.expected += expected;
    if (stable) {
      w.stable_queries += q;
      w.stable_expected += expected;
    }
  };
  const auto& mid = w.records[kRecords / 2];  // written at sequence kRecords / 2 + 1
  add("GET " + quote(mid.first) + "\n", value_line(mid.second), true);
  add("GET " + quote(first.first) + "\n", "overwritten\n", true);
  add("GET " + quote(first.first) + " AT " + std::to_string(kRecords) + "\n", value_line(first.second), false);
  add("GET " + quote(mid.first) + " AT " + std::to_string(kRecords / 2) + "\n", "(nil)\n", true);
  add("GET " + quote(mid.first) + " AT " + std::to_string(kRecords / 2 + 1) + "\n", value_line(mid.second), true);
  // Every scan below stops at its limit inside a longer range, so the CLI says there is more.
  auto pairs = [](auto begin, auto end) {
    std::string out;
    size_t n = 0;
    for (auto it = begin; it != end; ++it, ++n) out += it->first + " = " + it->second + "\n";
    return out + "(" + std::to_string(n) + " item" + (n == 1 ? "" : "s") +
           "; the range holds more: raise the limit, or scan on from past the last key)\n";
  };
  // The last 3 keys, backward.
  add("RSCAN \"\" \"\" 3\n", pairs(w.records.rbegin(), w.records.rbegin() + 3), true);
  // [records[100], records[110]) backward, 4 of them: records 109..106; with SCAN ... REVERSE too.
  std::string range = quote(w.records[100].first) + " " + quote(w.records[110].first);
  std::string back4 = pairs(w.records.rbegin() + (kRecords - 110), w.records.rbegin() + (kRecords - 106));
  add("SCAN " + range + " 4 REVERSE\n", back4, true);
  add("RSCAN " + range + " 4\n", back4, true);
  // Forward, for comparison.
  add("SCAN " + range + " 2\n", pairs(w.records.begin() + 100, w.records.begin() + 102), true);
  // KEYS prefix limit: keys only, and whether more match.
  const std::string prefix = w.records[300].first.substr(0, 6);
  std::vector<std::string> matching;
  for (const auto& [k, v] : w.records) {
    if (k.starts_with(prefix)) matching.push_back(k);
  }
  REQUIRE(matching.size() >= 1);
  const size_t shown = std::min<size_t>(matching.size(), 3);
  std::string keys;
  for (size_t i = 0; i < shown; ++i) keys += matching[i] + "\n";
  keys += "(" + std::to_string(shown) + " key" + (shown == 1 ? "" : "s") +
          (matching.size() > 3 ? "; more keys match: raise the limit" : "") + ")\n";
  add("KEYS " + quote(prefix) + " 3\n", keys, true);
  add("KEYS \"no-such-prefix/\"\n", "(0 keys)\n", true);
  add("CLEAR\n", "", true);  // into a pipe: no escape bytes
  return w;
}

void check_admin_output(const std::string& out, const std::string& trace_key) {
  // CONFIG lists options; CONFIG SET echoes the new value.
  CHECK(out.find("l0_compaction_trigger") != std::string::npos);
  CHECK(out.find("OK l0_compaction_trigger = 6 (until the DB is reopened: runtime changes are not persisted)") !=
        std::string::npos);
  size_t refused = out.find("ERROR: ");
  CHECK(refused != std::string::npos);
  CHECK(out.find("l0_compaction_trigger must be in", refused) != std::string::npos);
  // STATS after COMPACT: L0 is empty and the SSTables sit in one level.
  size_t stats = out.rfind("Levels\n");
  REQUIRE(stats != std::string::npos);
  size_t l0 = out.find("  L0 ", stats);
  REQUIRE(l0 != std::string::npos);
  std::istringstream l0_line(out.substr(l0, out.find('\n', l0) - l0));
  std::string name;
  uint64_t files = 99;
  l0_line >> name >> files;
  CHECK(files == 0);
  CHECK(out.find("Amplification\n  write ") != std::string::npos);
  CHECK(out.find("block cache           hit rate") != std::string::npos);
  CHECK(out.find("bloom filters         negative rate") != std::string::npos);
  CHECK(out.find("compactions           ") != std::string::npos);
  // TRACE of a flushed, compacted key: found in an SSTable below L0 after the memtable.
  size_t t = out.find("TRACE \"" + trace_key + "\"");
  REQUIRE(t != std::string::npos);
  size_t result = out.find("result: found", t);
  CHECK(result != std::string::npos);
  std::string steps = out.substr(t, result - t);
  CHECK(steps.find("memtable") != std::string::npos);
  CHECK(steps.find(" L1 ") != std::string::npos);
  CHECK(out.find("1 SSTable(s) consulted", t) != std::string::npos);
  CHECK(out.find("result: not found") != std::string::npos);  // TRACE of an absent key
}

}  // namespace

TEST_CASE("the REPL's admin commands work the same through the embedded and the HTTP backends") {
  std::string cli = env("STRATA_CLI");
  std::string server = env("STRATA_SERVER");
  std::string error;
  auto data = strata::testing::load_data_set(env("STRATA_DATA_SET"), &error);
  REQUIRE_MESSAGE(data.has_value(), error);
  Workload w = make_workload(*data);
  std::string trace_key = w.records[kRecords / 3].first;
  std::string admin =
      "CONFIG\nCONFIG SET l0_compaction_trigger 6\nCONFIG SET l0_compaction_trigger 0\nFLUSH\nCOMPACT\n"
      "STATS\nTRACE " +
      quote(trace_key) + "\nTRACE \"no such key\"\n";

  strata::testing::TempDir tmp;

  // Embedded: load, query (deterministic part alone first), then the admin commands.
  auto loaded = run_repl(cli, "--data-dir " + tmp.path() + "/embedded", w.load + w.queries, tmp.path());
  CHECK(loaded.exit_code == 0);
  std::string oks;
  for (size_t i = 0; i <= kRecords; ++i) oks += "OK\n";
  REQUIRE(loaded.out.size() >= oks.size());
  CHECK(loaded.out.substr(0, oks.size()) == oks);
  std::string embedded_answers = loaded.out.substr(oks.size());
  CHECK(embedded_answers == w.expected);
  auto embedded_admin = run_repl(cli, "--data-dir " + tmp.path() + "/embedded", admin, tmp.path());
  CHECK(embedded_admin.exit_code == 1);  // the refused CONFIG SET
  check_admin_output(embedded_admin.out, trace_key);
  // After the reopen, the flush and the compaction, the stable answers are unchanged.
  auto again = run_repl(cli, "--data-dir " + tmp.path() + "/embedded", w.stable_queries, tmp.path());
  CHECK(again.exit_code == 0);
  CHECK(again.out == w.stable_expected);

  // HTTP: a fresh server, the same script, the same answers.
  uint16_t port = strata::testing::free_loopback_port();
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::string dir = tmp.path() + "/server";
  // Engine flags that differ from the defaults: `config` must show them in effect.
  pid_t pid = strata::testing::spawn_process(
      {server, "--listen", "127.0.0.1:" + std::to_string(port), "--data-dir", dir, "--sync", "none", "--block-cache-mb",
       "8", "--compression", "zstd", "--memtable-mb", "16", "--log-level", "warn"},
      tmp.path() + "/server.log");
  REQUIRE(pid > 0);
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    ready = run_cli(cli, "--url " + url + " config", tmp.path()).exit_code == 0;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (ready) {
    auto config = run_cli(cli, "--url " + url + " config", tmp.path()).out;
    CHECK(config.find("compression                      zstd") != std::string::npos);
    CHECK(config.find("block_cache_bytes                8388608") != std::string::npos);
    CHECK(config.find("memtable_size_bytes              16777216") != std::string::npos);
    // --log-level warn: the server logged no INFO line.
    CHECK(read_file(tmp.path() + "/server.log").find(" INFO ") == std::string::npos);
    auto http = run_repl(cli, "--url " + url, w.load + w.queries, tmp.path());
    CHECK(http.exit_code == 0);
    REQUIRE(http.out.size() >= oks.size());
    CHECK(http.out.substr(0, oks.size()) == oks);
    CHECK(http.out.substr(oks.size()) == w.expected);
    auto http_admin = run_repl(cli, "--url " + url, admin, tmp.path());
    CHECK(http_admin.exit_code == 1);
    check_admin_output(http_admin.out, trace_key);
    // One-shot commands.
    auto rscan = run_cli(cli, "--url " + url + " scan --reverse --limit 2", tmp.path());
    CHECK(rscan.exit_code == 0);
    CHECK(rscan.out.starts_with(w.records[kRecords - 1].first + " = "));
    auto trace = run_cli(cli, "--url " + url + " trace nosuchkey", tmp.path());
    CHECK(trace.exit_code == 0);
    CHECK(trace.out.find("result: not found") != std::string::npos);
    auto at = run_cli(
        cli, "--url " + url + " get " + w.records[kRecords / 2].first + " --at " + std::to_string(kRecords / 2 + 1),
        tmp.path());
    CHECK(at.exit_code == 0);
    CHECK(at.out.starts_with(w.records[kRecords / 2].second));
    CHECK(
        run_cli(cli, "--url " + url + " config set bloom_bits_per_key 12", tmp.path()).out.find("bloom_bits_per_key") !=
        std::string::npos);
    CHECK(run_cli(cli, "--url " + url + " config set bloom_bits_per_key 999", tmp.path()).exit_code == 1);
    CHECK(run_cli(cli, "--url " + url + " flush", tmp.path()).exit_code == 0);
    CHECK(run_cli(cli, "--url " + url + " compact", tmp.path()).exit_code == 0);
    auto stats = run_cli(cli, "--url " + url + " stats", tmp.path());
    CHECK(stats.exit_code == 0);
    CHECK(stats.out.find("Amplification") != std::string::npos);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE_MESSAGE(ready, "strata-server did not come up; see " << tmp.path() << "/server.log");
}

namespace {

// Runs a shell command line; its exit status and standard output (stderr to `tmp`/err.txt).
Run run_shell(const std::string& cmd, const std::string& tmp) {
  std::string out = tmp + "/shell_out.txt";
  int status = std::system((cmd + " > " + out + " 2> " + tmp + "/err.txt").c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  return r;
}

}  // namespace

TEST_CASE("strict inputs: stray arguments, abbreviated flags and mistyped paths are refused; '-' reads stdin") {
  const std::string cli = env("STRATA_CLI");
  const std::string server = env("STRATA_SERVER");
  strata::testing::TempDir tmp;
  const std::string dir = tmp.path() + "/db";
  // A read against a path with no DB fails and creates nothing.
  Run missing = run_shell(cli + " get k --data-dir " + dir, tmp.path());
  CHECK(missing.exit_code == 1);
  CHECK(read_file(tmp.path() + "/err.txt").find("no database in") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir));
  // A write creates the DB; a value of "-" is standard input, bytes as they are.
  std::string binary("line one\nline two\0tail", 22);
  std::ofstream(tmp.path() + "/value.bin", std::ios::binary) << binary;
  CHECK(
      run_shell(cli + " put file-key - --data-dir " + dir + " < " + tmp.path() + "/value.bin", tmp.path()).exit_code ==
      0);
  Run got = run_shell(cli + " get file-key --data-dir " + dir, tmp.path());
  CHECK(got.exit_code == 0);
  CHECK(got.out == binary + "\n");
  // --help is an answer (stdout, exit 0); no command is a usage error (stderr, exit 2).
  Run help = run_shell(cli + " --help", tmp.path());
  CHECK(help.exit_code == 0);
  CHECK(help.out.starts_with("usage: strata"));
  CHECK(run_shell(cli, tmp.path()).exit_code == 2);
  // Abbreviated flags are unknown flags (exit 2), for the CLI and the server alike.
  CHECK(run_shell(cli + " get file-key --data " + dir, tmp.path()).exit_code == 2);
  CHECK(run_shell(server + " --liste 127.0.0.1:0 --data-dir " + dir, tmp.path()).exit_code == 2);
  // A stray word is refused, not ignored (it used to start a server on ./data).
  Run stray = run_shell(server + " extra --listen 127.0.0.1:0 --data-dir " + dir, tmp.path());
  CHECK(stray.exit_code == 2);
  CHECK(read_file(tmp.path() + "/err.txt").find("positional") != std::string::npos);
}

TEST_CASE("-o json: one JSON object per one-shot command, in the HTTP API's shapes; SCAN says when there is more") {
  const std::string cli = env("STRATA_CLI");
  strata::testing::TempDir tmp;
  const std::string db = " --data-dir " + tmp.path() + "/db";
  auto json_of = [&](const std::string& args, int want_exit) {
    Run r = run_shell(cli + " " + args + db + " -o json", tmp.path());
    CAPTURE(args);
    CHECK(r.exit_code == want_exit);
    boost::system::error_code ec;
    auto v = boost::json::parse(r.out, ec);
    REQUIRE_MESSAGE(!ec, r.out);
    REQUIRE(v.is_object());
    return v.as_object();
  };
  CHECK(json_of("put a 1", 0).at("ok") == true);
  CHECK(json_of("put b 2", 0).at("ok") == true);
  CHECK(json_of("put c \"three words\"", 0).at("ok") == true);
  auto got = json_of("get c", 0);
  CHECK(got.at("key") == "c");
  CHECK(got.at("value") == "three words");
  auto absent = json_of("get nope", 1);
  CHECK(absent.at("value").is_null());
  auto page = json_of("scan --limit 2", 0);
  CHECK(page.at("count") == 2);
  CHECK(page.at("more") == true);
  CHECK(page.at("items").as_array()[1].as_object().at("key") == "b");
  CHECK(json_of("scan --limit 3", 0).at("more") == false);
  CHECK(json_of("stats", 0).at("last_sequence").to_number<uint64_t>() >= 3);  // counters are per process
  CHECK(json_of("trace a", 0).at("found") == true);
  CHECK(json_of("config", 0).at("options").as_array().size() > 5);
  CHECK(json_of("flush", 0).at("ok") == true);
  CHECK(json_of("del a", 0).at("ok") == true);
  // Text scans say so too.
  Run text = run_shell(cli + " scan --limit 1" + db, tmp.path());
  CHECK(text.out == "b = 2\n(1 item; the range holds more: raise the limit, or scan on from past the last key)\n");
  CHECK(run_shell(cli + " get b -o yaml" + db, tmp.path()).exit_code == 2);
  CHECK(run_shell(cli + " repl -o json" + db, tmp.path()).exit_code == 2);
}

TEST_CASE("checkpoint a live server under writes, restore it, and read exactly what the checkpoint held") {
  const std::string cli = env("STRATA_CLI");
  const std::string server = env("STRATA_SERVER");
  std::string error;
  auto data = strata::testing::load_data_set(env("STRATA_DATA_SET"), &error);
  REQUIRE_MESSAGE(data.has_value(), error);
  Workload w = make_workload(*data);
  strata::testing::TempDir tmp;
  const std::string backups = tmp.path() + "/backups";
  uint16_t port = strata::testing::free_loopback_port();
  const std::string url = "--url http://127.0.0.1:" + std::to_string(port);
  pid_t pid = strata::testing::spawn_process({server, "--listen", "127.0.0.1:" + std::to_string(port), "--data-dir",
                                              tmp.path() + "/server", "--backup-dir", backups},
                                             tmp.path() + "/server.log");
  REQUIRE(pid > 0);
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGKILL);
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
  } reap{pid};
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    ready = run_cli(cli, url + " stats", tmp.path()).exit_code == 0;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(ready);
  // The data set's slice, then a checkpoint while a writer keeps writing other keys.
  REQUIRE(run_repl(cli, url, w.load, tmp.path()).exit_code == 0);
  std::string later;
  for (int i = 0; i < 300; ++i) later += "SET after-" + std::to_string(i) + " x\n";
  const std::string writer_dir = tmp.path() + "/writer";  // its own script and output files
  std::filesystem::create_directories(writer_dir);
  int writer_exit = -1;
  std::thread writer([&] { writer_exit = run_repl(cli, url, later, writer_dir).exit_code; });
  Run made = run_cli(cli, url + " checkpoint nightly-1", tmp.path());
  writer.join();
  CHECK(writer_exit == 0);
  CHECK(made.exit_code == 0);
  CHECK(made.out.find(backups + "/nightly-1") != std::string::npos);
  // $STRATA_URL names the server when --url is absent.
  Run via_env =
      run_shell("STRATA_URL=http://127.0.0.1:" + std::to_string(port) + " " + cli + " get " + quote(w.records[2].first),
                tmp.path());
  CHECK(via_env.exit_code == 0);
  CHECK(via_env.out == w.records[2].second + "\n");
  // The name is a name: no paths, and no reuse of an existing checkpoint.
  CHECK(run_cli(cli, url + " checkpoint ../escape", tmp.path()).exit_code == 1);
  CHECK(run_cli(cli, url + " checkpoint nightly-1", tmp.path()).exit_code == 1);
  CHECK_FALSE(std::filesystem::exists(tmp.path() + "/escape"));
  // After the checkpoint: an overwrite and a delete that the restored copy must not show.
  const auto& mid = w.records[kRecords / 2];
  REQUIRE(run_cli(cli, url + " put " + quote(mid.first) + " changed-later", tmp.path()).exit_code == 0);
  REQUIRE(run_cli(cli, url + " del " + quote(w.records[1].first), tmp.path()).exit_code == 0);

  const std::string restored = tmp.path() + "/restored";
  Run r = run_cli(cli, "restore " + backups + "/nightly-1 --data-dir " + restored, tmp.path());
  CHECK(r.exit_code == 0);
  CHECK(run_cli(cli, "restore " + backups + "/nightly-1 --data-dir " + restored, tmp.path()).exit_code ==
        1);  // not empty
  // Every record of the slice, as it was at the checkpoint (the first one overwritten in w.load).
  std::string script;
  std::string expected;
  for (size_t i = 1; i < w.records.size(); i += 37) {
    script += "GET " + quote(w.records[i].first) + "\n";
    expected += w.records[i].second + "\n";
  }
  script += "GET " + quote(mid.first) + "\n";
  expected += mid.second + "\n";
  Run got = run_repl(cli, "--data-dir " + restored, script, tmp.path());
  CHECK(got.exit_code == 0);
  CHECK(got.out == expected);
}

namespace {

// Every record of `data` is in the store at `data_dir` (read back through the embedded backend).
void check_all_records(const std::string& cli, const std::string& data_dir,
                       const std::map<std::string, std::string>& data, const std::string& tmp) {
  Run scan = run_cli(cli, "--data-dir " + data_dir + " -o json scan --limit 100000", tmp);
  REQUIRE(scan.exit_code == 0);
  boost::system::error_code ec;
  auto doc = boost::json::parse(scan.out, ec);
  REQUIRE(!ec);
  const auto& items = doc.as_object().at("items").as_array();
  CHECK(items.size() == data.size());
  size_t same = 0;
  for (const auto& item : items) {
    const auto& o = item.as_object();
    auto it = data.find(std::string(o.at("key").as_string()));
    if (it != data.end() && o.at("value").as_string() == it->second) ++same;
  }
  CHECK(same == data.size());
}

}  // namespace

TEST_CASE("import loads the whole Debian data set (zstd JSON lines) embedded and over HTTP; a bad line stops it") {
  const std::string cli = env("STRATA_CLI");
  const std::string server = env("STRATA_SERVER");
  const std::string data_set = env("STRATA_DATA_SET");
  std::string error;
  auto data = strata::testing::load_data_set(data_set, &error);
  REQUIRE_MESSAGE(data.has_value(), error);
  REQUIRE(data->size() == strata::testing::kDataSetRecords);
  strata::testing::TempDir tmp;

  // Embedded: the compressed file as it is.
  Run embedded = run_cli(cli, "--data-dir " + tmp.path() + "/embedded -o json import " + data_set, tmp.path());
  REQUIRE_MESSAGE(embedded.exit_code == 0, read_file(tmp.path() + "/err.txt"));
  auto report = boost::json::parse(embedded.out).as_object();
  CHECK(report.at("records").to_number<uint64_t>() == data->size());
  CHECK(report.at("lines").to_number<uint64_t>() == data->size());
  check_all_records(cli, tmp.path() + "/embedded", *data, tmp.path());

  // Over HTTP, in smaller batches, into a real server; read back from its directory afterwards.
  uint16_t port = strata::testing::free_loopback_port();
  const std::string dir = tmp.path() + "/server";
  pid_t pid = strata::testing::spawn_process(
      {server, "--listen", "127.0.0.1:" + std::to_string(port), "--data-dir", dir, "--sync", "none"},
      tmp.path() + "/server.log");
  REQUIRE(pid > 0);
  const std::string url = "--url http://127.0.0.1:" + std::to_string(port);
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    ready = run_cli(cli, url + " stats", tmp.path()).exit_code == 0;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(ready);
  Run over_http = run_cli(cli, url + " import " + data_set + " --batch-bytes 262144", tmp.path());
  CHECK_MESSAGE(over_http.exit_code == 0, read_file(tmp.path() + "/err.txt"));
  CHECK(over_http.out.starts_with("imported 63436 records"));
  ::kill(pid, SIGTERM);  // a clean shutdown closes the DB; then its directory is ours
  int st = 0;
  ::waitpid(pid, &st, 0);
  CHECK((WIFEXITED(st) && WEXITSTATUS(st) == 0));
  check_all_records(cli, dir, *data, tmp.path());

  // A bad line: what came before it is in, nothing after it; exit 1 naming the line.
  const std::string small = tmp.path() + "/small";
  std::ofstream(tmp.path() + "/bad.jsonl") << R"({"key":"a","value":"1"})"
                                              "\n"
                                           << R"({"key":"YmluAP8=","value":"AAE=","encoding":"base64"})"
                                              "\n"
                                           << "\n"
                                           << R"({"key":"c","value":"3","ttl":5})"
                                              "\n"
                                           << R"({"key":"d","value":"4"})"
                                              "\n";
  Run bad = run_cli(cli, "--data-dir " + small + " import " + tmp.path() + "/bad.jsonl", tmp.path());
  CHECK(bad.exit_code == 1);
  std::string err = read_file(tmp.path() + "/err.txt");
  CHECK(err.find("line 4: unknown member \"ttl\"") != std::string::npos);
  CHECK(err.find("(2 records imported before it)") != std::string::npos);
  CHECK(run_cli(cli, "--data-dir " + small + " get a", tmp.path()).out == "1\n");
  CHECK(run_cli(cli, "--data-dir " + small + " get d", tmp.path()).exit_code == 1);
  Run binary = run_cli(cli, "--data-dir " + small + " -o json scan --start bin --end bio", tmp.path());
  CHECK(binary.out.find(R"("encoding":"base64")") != std::string::npos);
  // Standard input, and strict flags.
  Run piped = run_shell("printf '{\"key\":\"e\",\"value\":\"5\"}\\n' | " + cli + " --data-dir " + small + " import -",
                        tmp.path());
  CHECK(piped.exit_code == 0);
  CHECK(run_cli(cli, "--data-dir " + small + " get e", tmp.path()).out == "5\n");
  CHECK(run_cli(cli, "--data-dir " + small + " get e --batch-bytes 10", tmp.path()).exit_code == 2);
  CHECK(run_cli(cli, "--data-dir " + small + " import " + tmp.path() + "/missing.jsonl", tmp.path()).exit_code == 1);
}

TEST_CASE("a cluster's data moves into a new cluster: checkpoint a node, export its user keys, import them") {
  const std::string cli = env("STRATA_CLI");
  const std::string server = env("STRATA_SERVER");
  std::string error;
  auto data = strata::testing::load_data_set(env("STRATA_DATA_SET"), &error);
  REQUIRE_MESSAGE(data.has_value(), error);
  strata::testing::TempDir tmp;
  // Every 30th record of the data set as JSON lines.
  std::map<std::string, std::string> records;
  size_t i = 0;
  for (const auto& kv : *data) {
    if (i++ % 30 == 0) records.insert(kv);
  }
  const std::string source = tmp.path() + "/source.jsonl";
  {
    std::ofstream out(source, std::ios::binary);
    for (const auto& [k, v] : records) {
      boost::json::object o{{"key", k}, {"value", v}};
      out << boost::json::serialize(o) << "\n";
    }
  }
  const std::string backups = tmp.path() + "/backups";
  strata::testing::Cluster old_cluster(server, 3, {"--backup-dir", backups});
  old_cluster.start_all();
  uint64_t leader = old_cluster.wait_leader();
  REQUIRE(leader != 0);
  const std::string old_url = "--url " + old_cluster.url(leader);
  Run loaded = run_cli(cli, old_url + " import " + source, tmp.path());
  REQUIRE_MESSAGE(loaded.exit_code == 0, read_file(tmp.path() + "/err.txt"));
  // The leader applied every write it acknowledged: its checkpoint holds them all.
  Run checkpoint = run_cli(cli, old_url + " checkpoint snap-1", tmp.path());
  REQUIRE_MESSAGE(checkpoint.exit_code == 0, read_file(tmp.path() + "/err.txt"));
  REQUIRE(old_cluster.put(leader, "after-checkpoint", "x").status == 200);

  const std::string exported = tmp.path() + "/exported.jsonl";
  Run ex = run_cli(cli, "--data-dir " + backups + "/snap-1 -o json export " + exported, tmp.path());
  REQUIRE_MESSAGE(ex.exit_code == 0, read_file(tmp.path() + "/err.txt"));
  auto summary = boost::json::parse(ex.out).as_object();
  CHECK(summary.at("records").to_number<uint64_t>() == records.size());
  CHECK(summary.at("cluster_layout").as_bool());
  // --raw: every key as stored, the state machine's metadata too.
  Run raw =
      run_cli(cli, "--data-dir " + backups + "/snap-1 -o json export " + tmp.path() + "/raw.jsonl --raw", tmp.path());
  REQUIRE(raw.exit_code == 0);
  CHECK(boost::json::parse(raw.out).as_object().at("records").to_number<uint64_t>() > records.size());

  strata::testing::Cluster new_cluster(server, 3);
  new_cluster.start_all();
  uint64_t new_leader = new_cluster.wait_leader();
  REQUIRE(new_leader != 0);
  const std::string new_url = "--url " + new_cluster.url(new_leader);
  Run moved = run_cli(cli, new_url + " import " + exported, tmp.path());
  REQUIRE_MESSAGE(moved.exit_code == 0, read_file(tmp.path() + "/err.txt"));
  // Read back from the new cluster over HTTP, exported again: exactly the checkpoint's records.
  const std::string again = tmp.path() + "/again.jsonl";
  Run back = run_cli(cli, new_url + " export " + again, tmp.path());
  REQUIRE_MESSAGE(back.exit_code == 0, read_file(tmp.path() + "/err.txt"));
  std::map<std::string, std::string> got;
  std::ifstream in(again, std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    auto o = boost::json::parse(line).as_object();
    got[std::string(o.at("key").as_string())] = std::string(o.at("value").as_string());
  }
  CHECK(got.size() == records.size());
  CHECK(got == records);
  CHECK(got.count("after-checkpoint") == 0);
}
