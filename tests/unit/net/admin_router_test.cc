// Admin endpoints through the Router over a real DB on io::MemFileSystem (no sockets): stats,
// metrics, trace, config, flush, compact, reads at a sequence number and reverse scans, with
// their error answers.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "net/http/json_codec.h"
#include "net/http/router.h"
#include "tests/unit/net/router_test_util.h"

using namespace strata;
using namespace strata::net::http;
using namespace strata::net::http::testing;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

NodeInfo admin_node_info() {
  NodeInfo info;
  info.node_id = "admin-node";
  return info;
}

class AdminNode : public RouterNode {
 public:
  AdminNode() : RouterNode(admin_node_info()) {}

  // PUT and the sequence number it returned.
  uint64_t put(const std::string& key, const std::string& value) {
    auto r = call(Method::put, "/v1/kv/" + percent_encode(key), value);
    REQUIRE(r.status == 200);
    return json::parse(r.body).as_object()["sequence"].to_number<uint64_t>();
  }
};

}  // namespace

TEST_CASE("GET /v1/stats has TinyLSM's names, the ratios and the nested groups, and agrees with DB::stats") {
  AdminNode n;
  for (int i = 0; i < 50; ++i) n.put("k" + std::to_string(i), std::string(100, 'v'));
  REQUIRE(n.call(Method::post, "/v1/admin/flush").status == 200);
  CHECK(n.call(Method::get, "/v1/kv/k1").status == 200);
  CHECK(n.call(Method::get, "/v1/kv/zzz").status == 404);
  for (const char* path : {"/v1/stats", "/stats"}) {
    CAPTURE(path);
    auto r = n.call(Method::get, path);
    REQUIRE(r.status == 200);
    auto o = body_json(r);
    DbStats s = n.db().stats();
    for (const char* name : {"sstable_count",
                             "sstables_per_level",
                             "total_size_bytes",
                             "memtable_size_bytes",
                             "memtable_keys",
                             "bytes_written_disk",
                             "bytes_written_user",
                             "write_amplification",
                             "read_amplification",
                             "space_amplification",
                             "block_cache_hit_rate",
                             "table_cache_hit_rate",
                             "bloom_negative_rate",
                             "stall_micros",
                             "compaction_micros",
                             "bytes_read_compaction",
                             "bytes_written_compaction",
                             "running_compactions",
                             "levels",
                             "amplification",
                             "block_cache",
                             "table_cache",
                             "bloom",
                             "compaction",
                             "stall"}) {
      CAPTURE(name);
      CHECK(o.contains(name));
    }
    CHECK(o["sstable_count"].to_number<uint64_t>() == 1);
    CHECK(o["sstable_count"].to_number<uint64_t>() == s.sstable_count);
    CHECK(o["total_size_bytes"].to_number<uint64_t>() == s.total_sstable_size_bytes);
    CHECK(o["bytes_written_user"].to_number<uint64_t>() == s.bytes_written_user);
    CHECK(o["bytes_written_disk"].to_number<uint64_t>() == s.bytes_written_disk());
    CHECK(o["bytes_written_disk"].to_number<uint64_t>() > o["bytes_written_user"].to_number<uint64_t>());
    CHECK(o["write_amplification"].to_number<double>() == doctest::Approx(s.write_amplification()));
    CHECK(o["amplification"].as_object()["write"].to_number<double>() == doctest::Approx(s.write_amplification()));
    CHECK(o["memtable_keys"].to_number<uint64_t>() == 0);
    const auto& per_level = o["sstables_per_level"].as_array();
    const auto& levels = o["levels"].as_array();
    REQUIRE(per_level.size() == s.levels.size());
    REQUIRE(levels.size() == s.levels.size());
    CHECK(per_level[0].to_number<uint64_t>() == 1);  // the flush wrote one L0 file
    CHECK(levels[0].as_object().at("file_count").to_number<uint64_t>() == 1);
    CHECK(levels[1].as_object().contains("target_bytes"));
    CHECK(levels[1].as_object().contains("compaction_score"));
    double hit_rate = o["block_cache"].as_object()["hit_rate"].to_number<double>();
    CHECK(hit_rate >= 0);
    CHECK(hit_rate <= 1);
    CHECK(o["gets"].to_number<uint64_t>() == 2);
    CHECK(o["node_id"] == "admin-node");
    // The CLI reads it back.
    auto back = stats_from_json(o);
    REQUIRE(back.has_value());
    CHECK(back->sstable_count == s.sstable_count);
    CHECK(back->levels.size() == s.levels.size());
    CHECK(back->bytes_written_flush == s.bytes_written_flush);
  }
}

TEST_CASE("GET /metrics carries the new counters in the Prometheus format") {
  AdminNode n;
  n.put("a", "1");
  auto r = n.call(Method::get, "/metrics");
  REQUIRE(r.status == 200);
  for (const char* name :
       {"strata_read_amplification ", "strata_space_amplification ", "strata_bytes_written_disk_total ",
        "strata_compactions_total ", "strata_compaction_seconds_total ", "strata_block_cache_hit_rate ",
        "strata_table_cache_hit_rate ", "strata_bloom_negative_rate ", "strata_running_compactions ",
        "strata_level_target_bytes{level=\"1\"} ", "strata_level_compaction_score{level=\"0\"} "}) {
    CAPTURE(name);
    CHECK(r.body.find(name) != std::string::npos);
  }
  // Every sample line is "name[{labels}] value" with a parseable value.
  size_t pos = 0;
  while (pos < r.body.size()) {
    size_t eol = r.body.find('\n', pos);
    REQUIRE(eol != std::string::npos);
    std::string line = r.body.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.starts_with("#")) continue;
    size_t sp = line.rfind(' ');
    REQUIRE(sp != std::string::npos);
    CAPTURE(line);
    char* end = nullptr;
    std::string value = line.substr(sp + 1);
    std::strtod(value.c_str(), &end);
    CHECK(end == value.c_str() + value.size());
  }
}

// The naming rules `promtool check metrics` enforces (Prometheus' promlint), checked here
// because promtool is not installed on the build machines: every family has HELP and TYPE; a
// counter ends in _total; no family ends in _count, _sum or _bucket (reserved for histograms and
// summaries) or carries its type in its name; names are snake_case; units are base units
// spelled out (no _ms, _us, _sec, _kb, ...).
TEST_CASE("GET /metrics follows Prometheus' naming rules (promtool's lint)") {
  AdminNode n;
  n.put("a", "1");
  REQUIRE(n.call(Method::post, "/v1/admin/flush").status == 200);
  auto r = n.call(Method::get, "/metrics");
  REQUIRE(r.status == 200);
  std::map<std::string, std::string> types;  // family -> type
  std::set<std::string> helps;
  size_t pos = 0;
  while (pos < r.body.size()) {
    size_t eol = r.body.find('\n', pos);
    REQUIRE(eol != std::string::npos);
    std::string line = r.body.substr(pos, eol - pos);
    pos = eol + 1;
    std::istringstream in(line);
    std::string hash, kind, name, type;
    in >> hash >> kind >> name;
    if (hash != "#") continue;
    if (kind == "HELP") helps.insert(name);
    if (kind == "TYPE") {
      in >> type;
      types[name] = type;
    }
  }
  REQUIRE(types.size() > 20);
  for (const auto& [name, type] : types) {
    CAPTURE(name);
    CHECK(helps.count(name) == 1);
    // process_* are the client libraries' standard names, unprefixed (process_metrics.h).
    CHECK((name.starts_with("strata_") || name.starts_with("process_")));
    for (char c : name) CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
    if (type == "counter") CHECK(name.ends_with("_total"));
    if (type != "counter") CHECK_FALSE(name.ends_with("_total"));
    for (const char* reserved : {"_count", "_sum", "_bucket", "_counter", "_gauge"})
      CHECK_FALSE(name.ends_with(reserved));
    for (const char* unit :
         {"_ms", "_msec", "_us", "_usec", "_ns", "_sec", "_kb", "_mb", "_kib", "_mib", "_millis", "_micros"}) {
      CHECK(name.find(std::string(unit) + "_") == std::string::npos);
      CHECK_FALSE(name.ends_with(unit));
    }
    // A histogram is in seconds and has its three kinds of series, the +Inf bucket included.
    if (type == "histogram") {
      CHECK(name.ends_with("_seconds"));
      CHECK(r.body.find("\n" + name + "_bucket{") != std::string::npos);
      CHECK(r.body.find("le=\"+Inf\"}") != std::string::npos);
      CHECK(r.body.find("\n" + name + "_sum") != std::string::npos);
      CHECK(r.body.find("\n" + name + "_count") != std::string::npos);
    }
  }
  CHECK(types.count("strata_wal_sync_duration_seconds") == 1);
  CHECK(types.count("strata_build_info") == 1);
  CHECK(types.count("process_cpu_seconds_total") == 1);
  CHECK(types.count("process_resident_memory_bytes") == 1);
}

TEST_CASE("GET /v1/trace follows a lookup through the memtable and SSTables") {
  AdminNode n;
  n.put("flushed", "old");
  REQUIRE(n.call(Method::post, "/v1/admin/flush").status == 200);
  n.put("fresh", "new");

  auto mem = body_json(n.call(Method::get, "/v1/trace?key=fresh"));
  CHECK(mem["found"] == true);
  CHECK(mem["value"] == "new");
  CHECK(mem["key"] == "fresh");
  REQUIRE(mem["steps"].as_array().size() >= 1);
  CHECK(mem["steps"].as_array()[0].as_object().at("source") == "memtable");
  CHECK(mem["steps"].as_array()[0].as_object().at("outcome") == "found");
  CHECK(mem["sstables_consulted"].to_number<uint64_t>() == 0);

  auto sst = body_json(n.call(Method::get, "/v1/trace?key=flushed"));
  CHECK(sst["found"] == true);
  CHECK(sst["value"] == "old");
  CHECK(sst["sstables_consulted"].to_number<uint64_t>() == 1);
  const auto& steps = sst["steps"].as_array();
  REQUIRE(steps.size() >= 2);
  const auto& last = steps.back().as_object();
  CHECK(last.at("level").to_number<int64_t>() == 0);
  CHECK(last.at("outcome") == "found");
  CHECK(last.at("file_number").to_number<uint64_t>() > 0);

  auto absent = body_json(n.call(Method::get, "/v1/trace?key=nope"));
  CHECK(absent["found"] == false);
  CHECK(absent["value"].is_null());

  // The JSON reads back into the same LookupTrace.
  auto back = trace_from_json(sst);
  REQUIRE(back.has_value());
  CHECK(back->key == "flushed");
  CHECK(back->value == std::optional<std::string>("old"));
  CHECK(back->steps.size() == steps.size());
  CHECK(back->sstables_consulted() == 1);

  // A binary key comes back base64-encoded.
  n.put(std::string("b\xff", 2), "x");
  auto bin = body_json(n.call(Method::get, "/v1/trace?key=b%FF"));
  CHECK(bin["encoding"] == "base64");
  auto bin_back = trace_from_json(bin);
  REQUIRE(bin_back.has_value());
  CHECK(bin_back->key == std::string("b\xff", 2));
}

TEST_CASE("GET /v1/trace?at=SEQ traces the state as of SEQ; bad input answers 400") {
  AdminNode n;
  uint64_t s1 = n.put("k", "v1");
  n.put("k", "v2");
  auto at = body_json(n.call(Method::get, "/v1/trace?key=k&at=" + std::to_string(s1)));
  CHECK(at["value"] == "v1");
  CHECK(at["read_sequence"].to_number<uint64_t>() == s1);
  CHECK(error_code_of(n.call(Method::get, "/v1/trace")) == "bad_query");
  CHECK(n.call(Method::get, "/v1/trace").status == 400);
  CHECK(error_code_of(n.call(Method::get, "/v1/trace?key=")) == "bad_key");
  CHECK(error_code_of(n.call(Method::get, "/v1/trace?key=k&at=x1")) == "bad_query");
  CHECK(error_code_of(n.call(Method::get, "/v1/trace?key=k&at=-1")) == "bad_query");
  auto beyond = n.call(Method::get, "/v1/trace?key=k&at=1000");
  CHECK(beyond.status == 400);
  CHECK(body_json(beyond)["error"].as_string().find("beyond") != std::string::npos);
  CHECK(n.call(Method::post, "/v1/trace?key=k").status == 405);
}

TEST_CASE("GET /v1/kv/{key}?at=SEQ and TinyLSM's /get?key=&at= read as of a sequence number") {
  AdminNode n;
  // Pinned snapshots keep the versions they see through flushes (ReadOptions).
  uint64_t s1 = n.put("k", "one");
  Snapshot snap1 = n.db().snapshot();
  uint64_t s2 = n.put("k", "two");
  Snapshot snap2 = n.db().snapshot();
  REQUIRE(n.call(Method::del, "/v1/kv/k").status == 200);
  uint64_t s3 = n.db().latest_sequence();
  REQUIRE(n.call(Method::post, "/v1/admin/flush").status == 200);
  CHECK(n.call(Method::get, "/v1/kv/k?at=" + std::to_string(s1)).body == "one");
  CHECK(n.call(Method::get, "/v1/kv/k?at=" + std::to_string(s2)).body == "two");
  CHECK(n.call(Method::get, "/v1/kv/k?at=" + std::to_string(s3)).status == 404);
  CHECK(n.call(Method::get, "/v1/kv/k?at=0").status == 404);
  CHECK(n.call(Method::get, "/v1/kv/k").status == 404);
  auto tiny = body_json(n.call(Method::get, "/get?key=k&at=" + std::to_string(s1)));
  CHECK(tiny["value"] == "one");
  CHECK(body_json(n.call(Method::get, "/get?key=k&at=" + std::to_string(s3)))["value"].is_null());
  CHECK(error_code_of(n.call(Method::get, "/v1/kv/k?at=abc")) == "bad_query");
  CHECK(error_code_of(n.call(Method::get, "/get?key=k&at=")) == "bad_query");
  auto beyond = n.call(Method::get, "/v1/kv/k?at=99999");
  CHECK(beyond.status == 400);
  CHECK(error_code_of(beyond) == "bad_query");
  (void)snap1;
  (void)snap2;
}

TEST_CASE("GET /v1/config lists the options; POST changes one or answers 400 with the reason") {
  AdminNode n;
  auto list = body_json(n.call(Method::get, "/v1/config"));
  auto opts = options_from_json(list);
  REQUIRE(opts.has_value());
  bool found = false;
  for (const auto& o : *opts) {
    if (o.name == "l0_compaction_trigger") {
      found = true;
      CHECK(o.mutable_at_runtime);
    }
  }
  CHECK(found);

  auto set = n.call(Method::post, "/v1/config", R"({"name":"l0_compaction_trigger","value":"7"})");
  REQUIRE(set.status == 200);
  auto after = options_from_json(body_json(set));
  REQUIRE(after.has_value());
  for (const auto& o : *after) {
    if (o.name == "l0_compaction_trigger") CHECK(o.value == "7");
  }
  // A JSON number works too.
  CHECK(n.call(Method::post, "/v1/config", R"({"name":"bloom_bits_per_key","value":12})").status == 200);
  for (const auto& o : n.db().option_list()) {
    if (o.name == "bloom_bits_per_key") CHECK(o.value == "12");
    if (o.name == "l0_compaction_trigger") CHECK(o.value == "7");
  }

  auto range = n.call(Method::post, "/v1/config", R"({"name":"l0_compaction_trigger","value":"0"})");
  CHECK(range.status == 400);
  CHECK(error_code_of(range) == "invalid_option");
  CHECK(body_json(range)["error"].as_string().find("l0_compaction_trigger") != std::string::npos);
  auto unknown = n.call(Method::post, "/v1/config", R"({"name":"no_such_option","value":"1"})");
  CHECK(unknown.status == 400);
  CHECK(error_code_of(unknown) == "invalid_option");
  auto immutable = n.call(Method::post, "/v1/config", R"({"name":"block_size_bytes","value":"8192"})");
  CHECK(immutable.status == 400);
  CHECK(error_code_of(n.call(Method::post, "/v1/config", "{not json")) == "bad_json");
  CHECK(error_code_of(n.call(Method::post, "/v1/config", R"({"value":"1"})")) == "missing_field");
  CHECK(error_code_of(n.call(Method::post, "/v1/config", R"({"name":"bloom_bits_per_key"})")) == "missing_field");
  CHECK(error_code_of(n.call(Method::post, "/v1/config", R"({"name":"bloom_bits_per_key","value":true})")) ==
        "missing_field");
  CHECK(n.call(Method::del, "/v1/config").status == 405);
  // Nothing changed by the refused requests.
  for (const auto& o : n.db().option_list()) {
    if (o.name == "l0_compaction_trigger") CHECK(o.value == "7");
  }
}

TEST_CASE("POST /v1/admin/flush empties the memtable into an SSTable") {
  AdminNode n;
  for (int i = 0; i < 10; ++i) n.put("f" + std::to_string(i), "v");
  CHECK(n.db().stats().memtable_keys == 10);
  CHECK(n.db().stats().sstable_count == 0);
  auto r = n.call(Method::post, "/v1/admin/flush");
  REQUIRE(r.status == 200);
  auto o = body_json(r);
  CHECK(o["ok"] == true);
  CHECK(o["sstable_count"].to_number<uint64_t>() == 1);
  CHECK(o["memtable_keys"].to_number<uint64_t>() == 0);
  CHECK(n.db().stats().sstable_count == 1);
  CHECK(n.call(Method::get, "/v1/admin/flush").status == 405);
}

TEST_CASE("POST /v1/admin/compact merges L0 into one level, with or without a range") {
  AdminNode n;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; ++i) n.put("c" + std::to_string(i), "round" + std::to_string(round));
    REQUIRE(n.call(Method::post, "/v1/admin/flush").status == 200);
  }
  DbStats before = n.db().stats();
  REQUIRE(before.levels[0].file_count == 3);
  auto r = n.call(Method::post, "/v1/admin/compact");  // no body: everything
  REQUIRE(r.status == 200);
  DbStats after = n.db().stats();
  CHECK(after.levels[0].file_count == 0);
  CHECK(after.sstable_count >= 1);
  CHECK(after.sstable_count < before.sstable_count);
  CHECK(after.compactions > before.compactions);
  CHECK(n.call(Method::get, "/v1/kv/c5").body == "round2");

  auto ranged = n.call(Method::post, "/v1/admin/compact", R"({"start":"c1","end":"c3"})");
  CHECK(ranged.status == 200);
  CHECK(body_json(ranged)["start"] == "c1");
  CHECK(n.call(Method::post, "/v1/admin/compact", R"({"start":"c1"})").status == 200);
  CHECK(n.call(Method::post, "/v1/admin/compact", "{}").status == 200);

  CHECK(error_code_of(n.call(Method::post, "/v1/admin/compact", R"({"start":"z","end":"a"})")) == "bad_request");
  CHECK(error_code_of(n.call(Method::post, "/v1/admin/compact", R"({"start":1})")) == "missing_field");
  CHECK(error_code_of(n.call(Method::post, "/v1/admin/compact", "[1,2")) == "bad_json");
  CHECK(error_code_of(n.call(Method::post, "/v1/admin/compact", "[]")) == "bad_json");
  CHECK(n.call(Method::put, "/v1/admin/compact").status == 405);
}

TEST_CASE("GET /v1/kv?reverse=true scans backward within the bounds, across memtable and SSTables") {
  AdminNode n;
  for (char c = 'a'; c <= 'j'; ++c) n.put(std::string(1, c), "v");
  REQUIRE(n.call(Method::post, "/v1/admin/flush").status == 200);
  n.call(Method::del, "/v1/kv/e");
  n.put("f", "newer");
  n.put("bb", "v");

  auto all = n.call(Method::get, "/v1/kv?reverse=true");
  REQUIRE(all.status == 200);
  CHECK(scan_keys(all) == std::vector<std::string>{"j", "i", "h", "g", "f", "d", "c", "bb", "b", "a"});
  CHECK(scan_keys(n.call(Method::get, "/v1/kv?reverse=true&start=b&end=f")) ==
        std::vector<std::string>{"d", "c", "bb", "b"});
  auto page = n.call(Method::get, "/v1/kv?reverse=true&limit=3");
  CHECK(scan_keys(page) == std::vector<std::string>{"j", "i", "h"});
  CHECK(body_json(page)["truncated"] == true);
  // The next page continues below the last key (end is exclusive).
  CHECK(scan_keys(n.call(Method::get, "/v1/kv?reverse=true&limit=3&end=h")) == std::vector<std::string>{"g", "f", "d"});
  CHECK(scan_keys(n.call(Method::get, "/v1/kv?reverse=true&prefix=b")) == std::vector<std::string>{"bb", "b"});
  CHECK(scan_keys(n.call(Method::get, "/v1/kv?reverse=false&limit=2")) == std::vector<std::string>{"a", "b"});
  auto f = body_json(n.call(Method::get, "/v1/kv?reverse=true&start=f&end=g"));
  CHECK(f["items"].as_array()[0].as_object().at("value") == "newer");
  CHECK(error_code_of(n.call(Method::get, "/v1/kv?reverse=maybe")) == "bad_query");
  CHECK(scan_keys(n.call(Method::get, "/v1/kv?reverse=true&start=x&end=c")).empty());
}

TEST_CASE("admin routes answer 405 for wrong methods with Allow") {
  AdminNode n;
  struct Case {
    Method method;
    const char* path;
    const char* allow;
  };
  for (const Case& c : {Case{Method::put, "/v1/trace", "GET, HEAD"}, Case{Method::put, "/v1/config", "GET, HEAD, POST"},
                        Case{Method::get, "/v1/admin/flush", "POST"}, Case{Method::del, "/v1/admin/compact", "POST"},
                        Case{Method::post, "/stats", "GET, HEAD"}}) {
    CAPTURE(c.path);
    auto r = n.call(c.method, c.path);
    CHECK(r.status == 405);
    CHECK(error_code_of(r) == "method_not_allowed");
    bool has_allow = false;
    for (const auto& [k, v] : r.headers) {
      if (k == "Allow") has_allow = v == c.allow;
    }
    CHECK(has_allow);
  }
}
