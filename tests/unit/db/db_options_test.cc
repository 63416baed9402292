// Runtime-mutable options: validation, effect, and the option list.
#include <doctest/doctest.h>

#include <boost/asio/this_coro.hpp>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "tests/test_util.h"

using namespace strata;
using strata::testing::run;
namespace asio = boost::asio;

TEST_CASE("set_option validates and applies; option_list reports every option") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o;
    o.file_system = &fs;
    o.wal_preallocate_bytes = 0;
    auto opened = co_await DB::open(co_await asio::this_coro::executor, "/db", o);
    REQUIRE(opened.has_value());
    auto& db = **opened;
    std::string why;
    CHECK(db.set_option("memtable_size_bytes", "1048576", &why).has_value());
    CHECK(db.set_option("bloom_bits_per_key", "16", &why).has_value());

    auto refused = db.set_option("bloom_bits_per_key", "65", &why);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error() == make_error_code(Errc::invalid_argument));
    CHECK(why.find("bloom_bits_per_key") != std::string::npos);
    CHECK_FALSE(db.set_option("no_such_option", "1", &why).has_value());
    CHECK(why.find("unknown") != std::string::npos);
    CHECK_FALSE(db.set_option("memtable_size_bytes", "12abc", &why).has_value());
    CHECK_FALSE(db.set_option("memtable_size_bytes", "", &why).has_value());
    CHECK_FALSE(db.set_option("sync", "none", &why).has_value());  // not mutable
    // Ordering rules: the stop trigger may not fall below the slowdown trigger.
    CHECK_FALSE(db.set_option("l0_stop_writes_trigger", "10", &why).has_value());
    CHECK(db.set_option("l0_slowdown_writes_trigger", "8", &why).has_value());
    CHECK(db.set_option("l0_stop_writes_trigger", "10", &why).has_value());
    CHECK_FALSE(db.set_option("max_background_compactions", "0", &why).has_value());
    CHECK(db.set_option("max_background_compactions", "1", &why).has_value());

    auto list = db.option_list();
    auto find = [&](std::string name) -> const OptionInfo* {
      for (const auto& i : list) {
        if (i.name == name) return &i;
      }
      return nullptr;
    };
    REQUIRE(find("memtable_size_bytes") != nullptr);
    CHECK(find("memtable_size_bytes")->value == "1048576");
    CHECK(find("memtable_size_bytes")->mutable_at_runtime);
    CHECK(find("bloom_bits_per_key")->value == "16");
    CHECK(find("l0_stop_writes_trigger")->value == "10");
    REQUIRE(find("sync") != nullptr);
    CHECK_FALSE(find("sync")->mutable_at_runtime);

    // A smaller memtable takes effect on the next writes: they switch memtables and flush.
    REQUIRE(db.set_option("memtable_size_bytes", "4096", &why).has_value());
    for (int i = 0; i < 200; ++i)
      REQUIRE((co_await db.put("k" + std::to_string(i), std::string(100, 'v'))).has_value());
    REQUIRE((co_await db.flush()).has_value());
    CHECK(db.stats().flushes >= 3);
    REQUIRE((co_await db.close()).has_value());
  };
  run(body());
}

TEST_CASE("open refuses inconsistent options") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o;
    o.file_system = &fs;
    o.l0_compaction_trigger = 10;
    o.l0_slowdown_writes_trigger = 5;
    auto opened = co_await DB::open(co_await asio::this_coro::executor, "/db", o);
    REQUIRE_FALSE(opened.has_value());
    CHECK(opened.error() == make_error_code(Errc::invalid_argument));
  };
  run(body());
}
