#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "net/http/json_codec.h"

using namespace strata::net::http;

TEST_CASE("percent_decode handles escapes, plus and malformed input") {
  CHECK(percent_decode("a%2Fb", false) == "a/b");
  CHECK(percent_decode("%00", false) == std::string("\0", 1));
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK(percent_decode("%C3%A9", false) == "\xC3\xA9");
  CHECK_FALSE(percent_decode("%", false));
  CHECK_FALSE(percent_decode("%4", false));
  CHECK_FALSE(percent_decode("abc%4", false));
  CHECK_FALSE(percent_decode("%zz", false));
}

TEST_CASE("percent_encode round-trips every byte value") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  CHECK(percent_decode(percent_encode(all), false) == all);
  CHECK(percent_encode("a/b c") == "a%2Fb%20c");
}

TEST_CASE("parse_query decodes pairs and rejects bad escapes") {
  auto q = parse_query("a=1&&b=%20x&flag&c=a+b");
  REQUIRE(q);
  REQUIRE(q->size() == 4);
  CHECK((*q)[0] == std::pair<std::string, std::string>("a", "1"));
  CHECK((*q)[1] == std::pair<std::string, std::string>("b", " x"));
  CHECK((*q)[2] == std::pair<std::string, std::string>("flag", ""));
  CHECK((*q)[3] == std::pair<std::string, std::string>("c", "a b"));
  CHECK_FALSE(parse_query("a=%G0"));
}

TEST_CASE("is_valid_utf8 rejects overlongs, surrogates, truncation and bytes above U+10FFFF") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xC3\xA9t\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong 3-byte
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xC3"));              // truncated
  CHECK_FALSE(is_valid_utf8("\x80"));              // lone continuation
  CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("base64 round-trips every length and rejects malformed text") {
  std::string s;
  for (int n = 0; n < 40; ++n) {
    CHECK(base64_decode(base64_encode(s)) == s);
    s.push_back(static_cast<char>(n * 37));
  }
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK_FALSE(base64_decode("Zm9"));
  CHECK_FALSE(base64_decode("Zm=v"));
  CHECK_FALSE(base64_decode("Z!9v"));
  CHECK_FALSE(base64_decode("=Zm9"));
}

TEST_CASE("put_key_value base64-encodes invalid UTF-8 so that the output is valid JSON") {
  boost::json::object o;
  put_key_value(o, std::string("k\xFF", 2), std::string("v"), false);
  CHECK(o["encoding"] == "base64");
  CHECK(base64_decode(o["key"].as_string()) == std::string("k\xFF", 2));
  std::string text = boost::json::serialize(o);
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  CHECK_FALSE(ec);

  boost::json::object plain;
  put_key_value(plain, "k", std::nullopt, false);
  CHECK(plain["value"].is_null());
  CHECK_FALSE(plain.contains("encoding"));
}

TEST_CASE("prometheus rendering has HELP and TYPE lines and escapes labels") {
  strata::DbStats s;
  s.puts = 3;
  s.sync_policy = "always";
  s.levels.push_back({0, 2, 100});
  std::string text = stats_to_prometheus(s, "node\"1");
  CHECK(text.find("# TYPE strata_puts_total counter\nstrata_puts_total 3\n") != std::string::npos);
  CHECK(text.find("strata_level_files{level=\"0\"} 2") != std::string::npos);
  CHECK(text.find("node_id=\"node\\\"1\"") != std::string::npos);
}

TEST_CASE("stats, trace and options JSON read back exactly; malformed input is refused") {
  strata::DbStats s;
  s.last_sequence = 7;
  s.sstable_count = 3;
  s.block_cache_hits = 5;
  s.block_cache_misses = 15;
  s.sync_policy = "batch";
  s.read_only = true;
  s.read_only_reason = "disk full";
  s.levels = {{0, 2, 100, 0, 0.5}, {1, 1, 4000, 1 << 20, 0.25}};
  boost::json::object o = stats_to_json(s);
  CHECK(o["block_cache_hit_rate"].to_number<double>() == doctest::Approx(0.25));
  CHECK(o["sstables_per_level"].as_array().size() == 2);
  // Through text, as the CLI receives it.
  auto back = stats_from_json(boost::json::parse(boost::json::serialize(o)).as_object());
  REQUIRE(back.has_value());
  CHECK(back->last_sequence == 7);
  CHECK(back->block_cache_hit_rate() == doctest::Approx(0.25));
  CHECK(back->read_only_reason == "disk full");
  REQUIRE(back->levels.size() == 2);
  CHECK(back->levels[1].target_bytes == (1u << 20));
  CHECK(back->levels[1].compaction_score == doctest::Approx(0.25));
  o.erase("bloom_checks");
  CHECK_FALSE(stats_from_json(o).has_value());

  strata::LookupTrace t;
  t.key = "k";
  t.found = true;
  t.value = "v";
  t.read_sequence = 9;
  t.steps.push_back({"memtable", -1, 0, "absent", false, 0, 0, 0});
  t.steps.push_back({"L2 000012.sst", 2, 12, "found", true, 1, 2, 300});
  auto tj = trace_to_json(t);
  CHECK(tj["sstables_consulted"].to_number<uint64_t>() == 1);
  auto tb = trace_from_json(boost::json::parse(boost::json::serialize(tj)).as_object());
  REQUIRE(tb.has_value());
  CHECK(tb->steps.size() == 2);
  CHECK(tb->steps[1].file_number == 12);
  CHECK(tb->steps[1].bytes_read == 300);
  CHECK(tb->value == std::optional<std::string>("v"));
  CHECK_FALSE(tb->found_sequence.has_value());
  tj["steps"].as_array()[0].as_object().erase("outcome");
  CHECK_FALSE(trace_from_json(tj).has_value());

  std::vector<strata::OptionInfo> opts = {{"a", "1", true}, {"b", "x", false}};
  auto ob = options_from_json(options_to_json(opts));
  REQUIRE(ob.has_value());
  REQUIRE(ob->size() == 2);
  CHECK((*ob)[1].name == "b");
  CHECK_FALSE((*ob)[1].mutable_at_runtime);
  CHECK_FALSE(options_from_json(boost::json::object{{"options", 3}}).has_value());
}
