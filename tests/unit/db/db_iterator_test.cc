// DB::new_iterator: forward and reverse iteration, seeks, bounds and prefixes, snapshots, across
// memtables and every level, checked against a std::map; and iterators pinning obsolete files.
#include <doctest/doctest.h>

#include <boost/asio/this_coro.hpp>

#include <map>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "lib/util/random.h"
#include "lib/version/file_names.h"
#include "tests/test_util.h"
#include "tests/unit/db/db_test_util.h"

using namespace strata;
using strata::testing::open_db;
using strata::testing::run;
namespace asio = boost::asio;

namespace {

using Model = std::map<std::string, std::string>;

Options tree_options(io::FileSystem& fs) {
  Options o = strata::testing::small_tree_options(fs);
  o.memtable_size_bytes = 16 << 10;
  o.block_size_bytes = 512;
  o.target_file_size_bytes = 8 << 10;
  o.max_bytes_for_level_base = 32 << 10;
  return o;
}

std::vector<std::pair<std::string, std::string>> expected(const Model& m, const std::string& lo, const std::string& hi,
                                                          bool reverse) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : m) {
    if (!lo.empty() && k < lo) continue;
    if (!hi.empty() && k >= hi) continue;
    out.emplace_back(k, v);
  }
  if (reverse) std::reverse(out.begin(), out.end());
  return out;
}

asio::awaitable<std::vector<std::pair<std::string, std::string>>> collect(Iterator& it, bool reverse) {
  std::vector<std::pair<std::string, std::string>> out;
  auto r = reverse ? co_await it.seek_to_last() : co_await it.seek_to_first();
  while (true) {
    REQUIRE(r.has_value());
    if (!it.valid()) break;
    out.emplace_back(std::string(it.key()), std::string(it.value()));
    r = reverse ? co_await it.prev() : co_await it.next();
  }
  co_return out;
}

std::string key_of(uint64_t i) {
  char buf[16];
  snprintf(buf, sizeof buf, "k%05llu", static_cast<unsigned long long>(i));
  return buf;
}

}  // namespace

TEST_CASE("iterators agree with a model in both directions, with bounds, across all levels") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(tree_options(fs));
    Model model;
    Random rnd(7);
    for (int i = 0; i < 6000; ++i) {
      std::string k = key_of(rnd.uniform(1500));
      if (rnd.one_in(5)) {
        REQUIRE((co_await db->del(k)).has_value());
        model.erase(k);
      } else {
        std::string v = "v" + std::to_string(i) + std::string(rnd.uniform(40), 'x');
        REQUIRE((co_await db->put(k, v)).has_value());
        model[k] = v;
      }
    }
    auto s = db->stats();
    CHECK(s.sstable_count > 0);
    CHECK(s.memtable_keys > 0);
    for (bool reverse : {false, true}) {
      auto it = db->new_iterator();
      CHECK((co_await collect(*it, reverse)) == expected(model, "", "", reverse));
      for (int t = 0; t < 20; ++t) {
        std::string lo = rnd.one_in(4) ? "" : key_of(rnd.uniform(1600));
        std::string hi = rnd.one_in(4) ? "" : key_of(rnd.uniform(1600));
        auto b = db->new_iterator(ReadOptions{.lower_bound = lo, .upper_bound = hi});
        CHECK((co_await collect(*b, reverse)) == expected(model, lo, hi, reverse));
      }
    }
    // Random walks: seek / seek_for_prev then mixed next/prev, compared step by step.
    auto it = db->new_iterator();
    for (int walk = 0; walk < 200; ++walk) {
      std::string target = key_of(rnd.uniform(1600));
      Model::const_iterator pos;
      bool model_valid;
      if (rnd.one_in(2)) {
        REQUIRE((co_await it->seek(target)).has_value());
        pos = model.lower_bound(target);
        model_valid = pos != model.end();
      } else {
        REQUIRE((co_await it->seek_for_prev(target)).has_value());
        pos = model.upper_bound(target);
        model_valid = pos != model.begin();
        if (model_valid) --pos;
      }
      for (int step = 0; step < 12; ++step) {
        REQUIRE(it->valid() == model_valid);
        if (!model_valid) break;
        CHECK(it->key() == pos->first);
        CHECK(it->value() == pos->second);
        if (rnd.one_in(2)) {
          REQUIRE((co_await it->next()).has_value());
          ++pos;
          model_valid = pos != model.end();
        } else {
          REQUIRE((co_await it->prev()).has_value());
          model_valid = pos != model.begin();
          if (model_valid) --pos;
        }
      }
    }
    REQUIRE((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("prefix iteration and an iterator at a snapshot") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    auto db = co_await open_db(tree_options(fs));
    for (std::string k : {"app", "apple", "apply", "apricot", "banana", "ap", "aq", "a"}) {
      REQUIRE((co_await db->put(k, "1")).has_value());
    }
    REQUIRE((co_await db->put(std::string("ap\xff", 3), "ff")).has_value());
    auto snap = db->snapshot();
    REQUIRE((co_await db->flush()).has_value());
    REQUIRE((co_await db->del("apple")).has_value());
    REQUIRE((co_await db->put("apply", "2")).has_value());
    REQUIRE((co_await db->put("apz", "3")).has_value());

    auto it = db->new_iterator(ReadOptions{.prefix = "ap"});
    auto now = co_await collect(*it, false);
    std::vector<std::pair<std::string, std::string>> want_now = {
        {"ap", "1"}, {"app", "1"}, {"apply", "2"}, {"apricot", "1"}, {"apz", "3"}, {std::string("ap\xff", 3), "ff"}};
    CHECK(now == want_now);
    auto back = co_await collect(*it, true);
    std::reverse(back.begin(), back.end());
    CHECK(back == want_now);

    auto old = db->new_iterator(ReadOptions{.snapshot = snap.sequence(), .prefix = "app"});
    std::vector<std::pair<std::string, std::string>> want_old = {{"app", "1"}, {"apple", "1"}, {"apply", "1"}};
    CHECK((co_await collect(*old, false)) == want_old);
    old.reset();
    it.reset();
    REQUIRE((co_await db->close()).has_value());
  };
  run(body());
}

TEST_CASE("a live iterator keeps compacted-away SSTables on disk until it is destroyed") {
  io::MemFileSystem fs;
  auto body = [&]() -> asio::awaitable<void> {
    Options o = tree_options(fs);
    o.l0_compaction_trigger = 100;  // only the manual compaction below
    o.l0_slowdown_writes_trigger = 100;
    o.l0_stop_writes_trigger = 100;
    auto db = co_await open_db(o);
    Model model;
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 300; ++i) {
        std::string k = key_of(i), v = "r" + std::to_string(round) + std::string(20, 'x');
        REQUIRE((co_await db->put(k, v)).has_value());
        model[k] = v;
      }
      REQUIRE((co_await db->flush()).has_value());
    }
    auto tables_on_disk = [&]() -> asio::awaitable<std::set<std::string>> {
      std::set<std::string> out;
      auto names = co_await fs.list_dir("/db");
      REQUIRE(names.has_value());
      for (const auto& n : *names) {
        auto p = parse_file_name(n);
        if (p && p->kind == FileKind::table) out.insert(n);
      }
      co_return out;
    };
    auto before = co_await tables_on_disk();
    CHECK(before.size() >= 3);
    auto it = db->new_iterator();
    REQUIRE((co_await it->seek_to_first()).has_value());
    REQUIRE((co_await db->compact_range()).has_value());
    // The three L0 inputs are obsolete but pinned by the iterator, which still reads them.
    auto during = co_await tables_on_disk();
    for (const auto& n : before) CHECK(during.contains(n));
    CHECK(db->stats().levels[0].file_count == 0);
    auto rest = co_await collect(*it, false);
    CHECK(rest == expected(model, "", "", false));
    it.reset();
    // The next cleanup (after any flush or compaction) removes them.
    REQUIRE((co_await db->put("zz", "1")).has_value());
    REQUIRE((co_await db->compact_range()).has_value());
    auto after = co_await tables_on_disk();
    for (const auto& n : before) CHECK_FALSE(after.contains(n));
    REQUIRE((co_await db->close()).has_value());
  };
  run(body());
}
