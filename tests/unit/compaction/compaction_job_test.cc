// run_compaction: which versions survive (snapshot stripes, bottom-level tombstones) and how
// outputs are cut. Inputs are real SSTables in a MemFileSystem.
#include <doctest/doctest.h>

#include <chrono>

#include "lib/compaction/compaction_job.h"
#include "lib/version/file_names.h"
#include "tests/unit/sstable/sstable_test_util.h"

using namespace strata;
using sstable::testing::KV;
using strata::testing::run;
namespace asio = boost::asio;

namespace {

struct Entry {
  std::string key;
  SequenceNumber seq;
  ValueType type;
  std::string value;
};

struct Fixture {
  io::MemFileSystem fs;
  uint64_t next_number = 100;

  Fixture() { REQUIRE(run(fs.create_dir("/db")).has_value()); }

  // Writes `entries` (any order) as SSTable `number`; returns its metadata.
  FileMetaData table(uint64_t number, std::vector<Entry> entries) {
    std::vector<KV> kvs;
    for (const auto& e : entries) kvs.emplace_back(make_internal_key(e.key, e.seq, e.type), e.value);
    std::sort(kvs.begin(), kvs.end(),
              [](const KV& a, const KV& b) { return compare_internal_keys(a.first, b.first) < 0; });
    auto props = run(sstable::testing::build_table(fs, table_file_name("/db", number), kvs, sstable::TableOptions{}));
    REQUIRE(props.has_value());
    FileMetaData f;
    f.number = number;
    f.file_size = *run(file_size(number));
    f.smallest = kvs.front().first;
    f.largest = kvs.back().first;
    f.num_entries = kvs.size();
    return f;
  }

  asio::awaitable<Result<uint64_t>> file_size(uint64_t number) {
    STRATA_CO_TRY_ASSIGN(auto file,
                         co_await fs.open(table_file_name("/db", number), io::OpenOptions{.read_only = true}));
    co_return file->size();
  }

  CompactionJobContext context(std::vector<SequenceNumber> snapshots, uint64_t target = 64 << 20) {
    (void)target;
    CompactionJobContext ctx;
    ctx.fs = &fs;
    ctx.db_dir = "/db";
    ctx.snapshots = std::move(snapshots);
    ctx.new_file_number = [this] { return next_number++; };
    ctx.open = [this](const FileMetaData& f) -> asio::awaitable<Result<std::unique_ptr<InternalIterator>>> {
      STRATA_CO_TRY_ASSIGN(auto file,
                           co_await fs.open(table_file_name("/db", f.number), io::OpenOptions{.read_only = true}));
      std::shared_ptr<io::File> shared = std::move(file);
      STRATA_CO_TRY_ASSIGN(auto reader,
                           co_await sstable::TableReader::open(shared, f.file_size, sstable::TableReadOptions{}));
      co_return reader->new_iterator();
    };
    return ctx;
  }

  // Every entry of the output files, in order, as "key@seq:type=value".
  std::vector<std::string> contents(const CompactionJobOutput& out) {
    std::vector<std::string> all;
    for (const auto& f : out.files) {
      auto body = [&]() -> asio::awaitable<void> {
        auto it = co_await context({}).open(f);
        REQUIRE(it.has_value());
        REQUIRE((co_await (*it)->seek_to_first()).has_value());
        while ((*it)->valid()) {
          ParsedInternalKey k;
          REQUIRE(parse_internal_key((*it)->key(), &k));
          all.push_back(std::string(k.user_key) + "@" + std::to_string(k.sequence) +
                        (k.type == ValueType::deletion ? ":del" : ":" + std::string((*it)->value())));
          REQUIRE((co_await (*it)->next()).has_value());
        }
      };
      run(body());
    }
    return all;
  }
};

std::shared_ptr<const Version> version_of(std::vector<std::pair<int, FileMetaData>> files) {
  VersionEdit edit;
  for (auto& [level, f] : files) edit.add_file(level, f);
  auto v = Version().apply(edit);
  REQUIRE(v.has_value());
  return *v;
}

Compaction l0_compaction(std::shared_ptr<const Version> v, uint64_t target = 64 << 20) {
  Compaction c;
  c.level = 0;
  c.version = v;
  c.inputs[0] = v->files(0);
  c.inputs[1] = v->files(1);
  c.target_file_size_bytes = target;
  return c;
}

constexpr auto V = ValueType::value;
constexpr auto D = ValueType::deletion;

}  // namespace

TEST_CASE("without snapshots only the newest version of each key survives") {
  Fixture fx;
  auto a = fx.table(1, {{"a", 5, V, "a5"}, {"b", 4, V, "b4"}});
  auto b = fx.table(2, {{"a", 3, V, "a3"}, {"b", 2, V, "b2"}, {"c", 1, V, "c1"}});
  auto v = version_of({{0, a}, {1, b}});
  auto out = run(run_compaction(l0_compaction(v), fx.context({})));
  REQUIRE(out.has_value());
  CHECK(fx.contents(*out) == std::vector<std::string>{"a@5:a5", "b@4:b4", "c@1:c1"});
  CHECK(out->stats.dropped_hidden == 2);
  CHECK(out->stats.input_entries == 5);
  CHECK(out->stats.output_entries == 3);
  REQUIRE(out->files.size() == 1);
  CHECK(out->files[0].smallest_seq == 1);
  CHECK(out->files[0].largest_seq == 5);
}

TEST_CASE("the newest version in each snapshot stripe survives") {
  Fixture fx;
  // Snapshots at 2 and 4: stripes (..2], (2..4], (4..].
  auto a = fx.table(1, {{"k", 5, V, "v5"}, {"k", 4, V, "v4"}, {"k", 3, V, "v3"}, {"k", 1, V, "v1"}});
  auto v = version_of({{0, a}});
  auto out = run(run_compaction(l0_compaction(v), fx.context({2, 4})));
  REQUIRE(out.has_value());
  CHECK(fx.contents(*out) == std::vector<std::string>{"k@5:v5", "k@4:v4", "k@1:v1"});
}

TEST_CASE("a tombstone is dropped at the bottom, with what it hides") {
  Fixture fx;
  auto a = fx.table(1, {{"b", 6, D, ""}, {"c", 7, V, "c7"}});
  auto b = fx.table(2, {{"b", 2, V, "b2"}});
  auto v = version_of({{0, a}, {1, b}});
  auto out = run(run_compaction(l0_compaction(v), fx.context({})));
  REQUIRE(out.has_value());
  CHECK(fx.contents(*out) == std::vector<std::string>{"c@7:c7"});
  CHECK(out->stats.dropped_tombstones == 1);
  CHECK(out->stats.dropped_hidden == 1);
}

TEST_CASE("a tombstone stays while a deeper level may hold the key") {
  Fixture fx;
  auto a = fx.table(1, {{"b", 6, D, ""}});
  auto b = fx.table(2, {{"b", 2, V, "b2"}});
  auto deep = fx.table(3, {{"a", 1, V, "old"}, {"z", 1, V, "old"}});  // L2 covers [a, z]
  auto v = version_of({{0, a}, {1, b}, {2, deep}});
  auto out = run(run_compaction(l0_compaction(v), fx.context({})));
  REQUIRE(out.has_value());
  CHECK(fx.contents(*out) == std::vector<std::string>{"b@6:del"});
}

TEST_CASE("a tombstone stays while a snapshot sees what it deletes") {
  Fixture fx;
  auto a = fx.table(1, {{"b", 6, D, ""}, {"b", 2, V, "b2"}});
  auto v = version_of({{0, a}});
  auto out = run(run_compaction(l0_compaction(v), fx.context({3})));
  REQUIRE(out.has_value());
  CHECK(fx.contents(*out) == std::vector<std::string>{"b@6:del", "b@2:b2"});
  // Once the snapshot is gone, both go.
  auto out2 = run(run_compaction(l0_compaction(v), fx.context({})));
  REQUIRE(out2.has_value());
  CHECK(fx.contents(*out2).empty());
  CHECK(out2->files.empty());
}

TEST_CASE("outputs are cut at user-key boundaries past the target size") {
  Fixture fx;
  std::vector<Entry> entries;
  std::string value(100, 'x');
  for (int i = 0; i < 400; ++i) {
    char key[16];
    snprintf(key, sizeof key, "key%05d", i);
    // Three versions per key, kept by snapshots, so a cut inside a key's versions would show.
    for (SequenceNumber s : {SequenceNumber(3000 + i), SequenceNumber(2000 + i), SequenceNumber(1000 + i)}) {
      entries.push_back({key, s, V, value});
    }
  }
  auto a = fx.table(1, entries);
  auto v = version_of({{0, a}});
  auto out = run(run_compaction(l0_compaction(v, 4096), fx.context({1500, 2500})));
  REQUIRE(out.has_value());
  CHECK(out->files.size() > 5);
  CHECK(out->stats.output_entries == 1200);
  for (size_t i = 0; i < out->files.size(); ++i) {
    if (i + 1 < out->files.size()) {
      CHECK(extract_user_key(out->files[i].largest) < extract_user_key(out->files[i + 1].smallest));
      CHECK(out->files[i].file_size >= 4096);
    }
  }
  CHECK(fx.contents(*out).size() == 1200);
}

TEST_CASE("a cancelled job fails with shutting_down and leaves no output") {
  Fixture fx;
  std::vector<Entry> entries;
  for (int i = 0; i < 5000; ++i) entries.push_back({"k" + std::to_string(100000 + i), SequenceNumber(i + 1), V, "v"});
  auto a = fx.table(1, entries);
  auto v = version_of({{0, a}});
  std::atomic<bool> cancel{true};
  auto ctx = fx.context({});
  ctx.cancel = &cancel;
  auto out = run(run_compaction(l0_compaction(v, 1024), std::move(ctx)));
  REQUIRE_FALSE(out.has_value());
  CHECK(out.error() == make_error_code(Errc::shutting_down));
  auto names = run(fx.fs.list_dir("/db"));
  REQUIRE(names.has_value());
  CHECK(names->size() == 1);  // only the input
}

TEST_CASE("a paced job writes no faster than its rate, and runs free once the rate is lifted") {
  Fixture fx;
  std::vector<Entry> entries;
  std::string value(100, 'x');
  for (int i = 0; i < 5000; ++i) entries.push_back({"k" + std::to_string(100000 + i), SequenceNumber(i + 1), V, value});
  auto a = fx.table(1, entries);
  auto v = version_of({{0, a}});

  // 1 MB/s over ~560 KB of output: the checks at 1,024-entry steps hold it back to >= ~0.45 s.
  int asked = 0;
  auto ctx = fx.context({});
  ctx.max_bytes_per_second = [&asked]() -> uint64_t {
    ++asked;
    return 1000000;
  };
  auto t0 = std::chrono::steady_clock::now();
  auto out = run(run_compaction(l0_compaction(v), std::move(ctx)));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(out.has_value());
  CHECK(out->stats.output_entries == 5000);
  CHECK(asked == 4);
  CHECK(seconds >= 0.35);
  CHECK(fx.contents(*out).size() == 5000);

  // A limit of 0 lifts pacing for the rest of the job: asked once.
  asked = 0;
  auto free_ctx = fx.context({});
  free_ctx.max_bytes_per_second = [&asked]() -> uint64_t {
    ++asked;
    return 0;
  };
  auto free_out = run(run_compaction(l0_compaction(v), std::move(free_ctx)));
  REQUIRE(free_out.has_value());
  CHECK(asked == 1);
  CHECK(free_out->stats.output_entries == 5000);
}
