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
