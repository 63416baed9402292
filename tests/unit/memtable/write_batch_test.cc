#include <doctest/doctest.h>

#include <vector>

#include "lib/memtable/write_batch_internal.h"

using namespace strata;

namespace {
struct Recorder : WriteBatch::Handler {
  std::vector<std::string> ops;
  void put(SequenceNumber seq, std::string_view k, std::string_view v) override {
    ops.push_back("put(" + std::string(k) + "," + std::string(v) + ")@" + std::to_string(seq));
  }
  void del(SequenceNumber seq, std::string_view k) override {
    ops.push_back("del(" + std::string(k) + ")@" + std::to_string(seq));
  }
};
}  // namespace

TEST_CASE("write batch replays its records in order with consecutive sequence numbers") {
  WriteBatch b;
  b.put("a", "1");
  b.del("b");
  b.put("c", "");
  WriteBatchInternal::set_sequence(&b, 100);
  CHECK(b.count() == 3);
  auto copy = WriteBatchInternal::from_contents(WriteBatchInternal::contents(b));
  REQUIRE(copy.has_value());
  Recorder r;
  REQUIRE(copy->iterate(r));
  CHECK(r.ops == std::vector<std::string>{"put(a,1)@100", "del(b)@101", "put(c,)@102"});
}

TEST_CASE("a write batch with a truncated record or a wrong count is corruption") {
  WriteBatch b;
  b.put("key", "value");
  std::string rep = WriteBatchInternal::contents(b);
  for (size_t cut = WriteBatchInternal::kHeaderSize + 1; cut < rep.size(); ++cut) {
    auto t = WriteBatchInternal::from_contents(rep.substr(0, cut));
    REQUIRE(t.has_value());
    Recorder r;
    CHECK_FALSE(t->iterate(r));
  }
  CHECK_FALSE(WriteBatchInternal::from_contents("short").has_value());
  std::string bad = rep;
  bad[8] = 2;  // count says 2, one record present
  Recorder r;
  CHECK_FALSE(WriteBatchInternal::from_contents(bad)->iterate(r));
}

TEST_CASE("appending batches concatenates records and counts") {
  WriteBatch a, b;
  a.put("x", "1");
  b.del("y");
  b.put("z", "2");
  a.append(b);
  CHECK(a.count() == 3);
  Recorder r;
  REQUIRE(a.iterate(r));
  CHECK(r.ops.size() == 3);
}
