#include <doctest/doctest.h>

#include "lib/compaction/compaction_picker.h"

using namespace strata;

namespace {

FileMetaData file(uint64_t number, std::string smallest, std::string largest, uint64_t size = 1000) {
  FileMetaData f;
  f.number = number;
  f.file_size = size;
  f.smallest = make_internal_key(smallest, 100, ValueType::value);
  f.largest = make_internal_key(largest, 1, ValueType::value);
  f.num_entries = 1;
  return f;
}

std::shared_ptr<const Version> make_version(std::vector<std::pair<int, FileMetaData>> files) {
  VersionEdit edit;
  for (auto& [level, f] : files) edit.add_file(level, f);
  auto v = Version().apply(edit);
  REQUIRE(v.has_value());
  return *v;
}

std::vector<uint64_t> numbers(const Version::FileList& files) {
  std::vector<uint64_t> out;
  for (const auto& f : files) out.push_back(f->number);
  return out;
}

CompactionPickerOptions small_options() {
  return CompactionPickerOptions{.l0_compaction_trigger = 2,
                                 .max_bytes_for_level_base = 3000,
                                 .max_bytes_for_level_multiplier = 10,
                                 .target_file_size_bytes = 1000};
}

}  // namespace

TEST_CASE("overlapping_files widens the range over overlapping L0 files") {
  // L0: 3=[a,c] 2=[c,f] 1=[x,z]; asking for [a,a] must also take 2 (it overlaps 3's range).
  auto v = make_version({{0, file(1, "x", "z")}, {0, file(2, "c", "f")}, {0, file(3, "a", "c")}});
  CHECK(numbers(v->overlapping_files(0, "a", "a")) == std::vector<uint64_t>{3, 2});
  CHECK(numbers(v->overlapping_files(0, "g", "h")).empty());
  CHECK(numbers(v->overlapping_files(0, "", "")) == std::vector<uint64_t>{3, 2, 1});
  CHECK(numbers(v->overlapping_files(0, "y", "")) == std::vector<uint64_t>{1});
}

TEST_CASE("overlapping_files and find_file on a sorted level") {
  auto v = make_version({{1, file(5, "m", "p")}, {1, file(4, "a", "c")}, {1, file(6, "t", "v")}});
  CHECK(numbers(v->files(1)) == std::vector<uint64_t>{4, 5, 6});
  CHECK(numbers(v->overlapping_files(1, "b", "n")) == std::vector<uint64_t>{4, 5});
  CHECK(numbers(v->overlapping_files(1, "d", "l")).empty());
  CHECK(v->find_file(1, "a") == 0);
  CHECK(v->find_file(1, "d") == 1);
  CHECK(v->find_file(1, "p") == 1);
  CHECK(v->find_file(1, "q") == 2);
  CHECK(v->find_file(1, "w") == 3);
}

TEST_CASE("no compaction below the triggers") {
  auto v = make_version({{0, file(1, "a", "b")}, {1, file(2, "a", "z", 2000)}});
  CompactionPickerState state;
  CHECK_FALSE(pick_compaction(v, small_options(), &state).has_value());
}

TEST_CASE("L0 compaction takes every L0 file and the overlapping L1 files") {
  auto v = make_version({{0, file(10, "c", "e")},
                         {0, file(11, "a", "b")},
                         {1, file(1, "a", "b", 500)},
                         {1, file(2, "d", "f", 500)},
                         {1, file(3, "x", "z", 500)},
                         {2, file(4, "a", "z")}});
  CompactionPickerState state;
  auto c = pick_compaction(v, small_options(), &state);
  REQUIRE(c.has_value());
  CHECK(c->level == 0);
  CHECK(c->output_level() == 1);
  CHECK(numbers(c->inputs[0]) == std::vector<uint64_t>{11, 10});
  CHECK(numbers(c->inputs[1]) == std::vector<uint64_t>{1, 2});
  CHECK(numbers(c->grandparents) == std::vector<uint64_t>{4});
  CHECK_FALSE(c->is_trivial_move());
  CHECK(c->smallest_user_key() == "a");
  CHECK(c->largest_user_key() == "f");

  // While an L0 file is busy, no second L0 compaction starts.
  state.busy_files = {10};
  CHECK_FALSE(pick_compaction(v, small_options(), &state).has_value());
  // Nor while another compaction writes into L1.
  state.busy_files.clear();
  state.busy_output_levels = {1};
  CHECK_FALSE(pick_compaction(v, small_options(), &state).has_value());
}

TEST_CASE("a level over its byte target compacts one file round robin, skipping busy ones") {
  // L1 target is 3000 bytes; 4 files of 1000 = score 1.33.
  auto v = make_version({{1, file(1, "a", "b")},
                         {1, file(2, "c", "d")},
                         {1, file(3, "e", "f")},
                         {1, file(4, "g", "h")},
                         {2, file(5, "c", "c")}});
  CompactionPickerState state;
  auto c1 = pick_compaction(v, small_options(), &state);
  REQUIRE(c1.has_value());
  CHECK(c1->level == 1);
  CHECK(numbers(c1->inputs[0]) == std::vector<uint64_t>{1});
  CHECK(c1->is_trivial_move());  // nothing overlaps in L2
  auto c2 = pick_compaction(v, small_options(), &state);
  REQUIRE(c2.has_value());
  CHECK(numbers(c2->inputs[0]) == std::vector<uint64_t>{2});
  CHECK(numbers(c2->inputs[1]) == std::vector<uint64_t>{5});
  CHECK_FALSE(c2->is_trivial_move());
  // File 3 is busy: the picker goes on to 4.
  state.busy_files = {3};
  auto c3 = pick_compaction(v, small_options(), &state);
  REQUIRE(c3.has_value());
  CHECK(numbers(c3->inputs[0]) == std::vector<uint64_t>{4});
  // Wraps around to the start of the level.
  state.busy_files.clear();
  auto c4 = pick_compaction(v, small_options(), &state);
  REQUIRE(c4.has_value());
  CHECK(numbers(c4->inputs[0]) == std::vector<uint64_t>{1});
  // A busy file in the next level blocks the file that overlaps it.
  state.busy_files = {5};
  state.compact_pointer[1] = "b";
  auto c5 = pick_compaction(v, small_options(), &state);
  REQUIRE(c5.has_value());
  CHECK(numbers(c5->inputs[0]) == std::vector<uint64_t>{3});
}

TEST_CASE("the most urgent level goes first") {
  // L0 score 1.5 (3 files, trigger 2); L1 score 4000/3000 = 1.33.
  auto v = make_version(
      {{0, file(10, "a", "b")}, {0, file(11, "a", "b")}, {0, file(12, "a", "b")}, {1, file(1, "m", "n", 4000)}});
  auto scores = compaction_scores(*v, small_options());
  CHECK(scores[0] == doctest::Approx(1.5));
  CHECK(scores[1] == doctest::Approx(4000.0 / 3000.0));
  CompactionPickerState state;
  auto c = pick_compaction(v, small_options(), &state);
  REQUIRE(c.has_value());
  CHECK(c->level == 0);
  state.busy_output_levels = {1};
  // With L1 taken as an output, the next level in line compacts instead.
  auto d = pick_compaction(v, small_options(), &state);
  REQUIRE(d.has_value());
  CHECK(d->level == 1);
}

TEST_CASE("level targets grow by the multiplier") {
  auto o = small_options();
  CHECK(max_bytes_for_level(o, 1) == 3000);
  CHECK(max_bytes_for_level(o, 2) == 30000);
  CHECK(max_bytes_for_level(o, 3) == 300000);
}

TEST_CASE("range compaction picks only overlapping files and is never a trivial move") {
  auto v = make_version({{1, file(1, "a", "b")}, {1, file(2, "c", "d")}, {2, file(3, "z", "z")}});
  auto c = pick_range_compaction(v, small_options(), 1, "c", "c");
  REQUIRE(c.has_value());
  CHECK(numbers(c->inputs[0]) == std::vector<uint64_t>{2});
  CHECK(c->manual);
  CHECK_FALSE(c->is_trivial_move());
  CHECK_FALSE(pick_range_compaction(v, small_options(), 2, "a", "b").has_value());
}

TEST_CASE("a pending seek compaction is picked when no level needs a size compaction, then cleared") {
  // Below every trigger: L0 has 1 file (trigger 2), L1 is under its target.
  auto v = make_version({{1, file(2, "a", "f")}, {1, file(3, "g", "m")}, {2, file(4, "h", "k")}});
  CompactionPickerState state;
  CHECK_FALSE(pick_compaction(v, small_options(), &state).has_value());
  state.seek_compaction.emplace(1, 3);
  auto c = pick_compaction(v, small_options(), &state);
  REQUIRE(c.has_value());
  CHECK(c->seek_triggered);
  CHECK(c->level == 1);
  CHECK(numbers(c->inputs[0]) == std::vector<uint64_t>{3});
  CHECK(numbers(c->inputs[1]) == std::vector<uint64_t>{4});
  CHECK_FALSE(state.seek_compaction.has_value());

  // A busy input keeps it pending; a file gone from that level drops it.
  state.seek_compaction.emplace(1, 3);
  state.busy_files.insert(4);
  CHECK_FALSE(pick_compaction(v, small_options(), &state).has_value());
  CHECK(state.seek_compaction.has_value());
  state.busy_files.clear();
  state.seek_compaction.emplace(1, 99);
  CHECK_FALSE(pick_compaction(v, small_options(), &state).has_value());
  CHECK_FALSE(state.seek_compaction.has_value());
}

TEST_CASE("a seek compaction at L0 takes every L0 file, as a size compaction would") {
  auto v = make_version({{0, file(7, "c", "e")}, {1, file(2, "a", "d")}, {1, file(3, "x", "z")}});
  CompactionPickerState state;
  state.seek_compaction.emplace(0, 7);
  auto c = pick_compaction(v, CompactionPickerOptions{.l0_compaction_trigger = 4}, &state);
  REQUIRE(c.has_value());
  CHECK(c->level == 0);
  CHECK(numbers(c->inputs[0]) == std::vector<uint64_t>{7});
  CHECK(numbers(c->inputs[1]) == std::vector<uint64_t>{2});
}

TEST_CASE("a seek budget is used up exactly once, after max(100, compaction bytes / 16 KiB) seeks") {
  FileMetaData small = file(1, "a", "b", 1000);
  int sized = 0;
  auto bytes = [&](uint64_t n) {
    return [&sized, n] {
      ++sized;
      return n;
    };
  };
  int ran_out = 0;
  for (int i = 0; i < 99; ++i) ran_out += small.seeks.charge(1, bytes(1000)) ? 1 : 0;
  CHECK(ran_out == 0);
  CHECK(small.seeks.charge(1, bytes(1000)));
  CHECK_FALSE(small.seeks.charge(1, bytes(1000)));
  CHECK(sized == 1);  // sized once, at the first charge
  FileMetaData big = file(2, "a", "b", 1000);
  CHECK_FALSE(big.seeks.charge(999, bytes(1000 * 16384)));
  CHECK(big.seeks.charge(1, bytes(1000 * 16384)));
}

TEST_CASE("a seek compaction's input bytes count the next level's overlapping files, and at L0 every L0 file") {
  auto v = make_version({{0, file(8, "c", "e", 100)},
                         {0, file(9, "m", "n", 200)},
                         {1, file(2, "a", "d", 1000)},
                         {1, file(3, "f", "g", 2000)},
                         {1, file(4, "m", "z", 4000)},
                         {2, file(5, "a", "b", 8000)},
                         {2, file(6, "x", "y", 16000)}});
  const auto& l0 = v->files(0);
  // L0: both L0 files (their range [c, n] spans 2, 3 and 4 of L1).
  CHECK(seek_compaction_input_bytes(*v, 0, *l0.back()) == 100 + 200 + 1000 + 2000 + 4000);
  // L1: the file and the L2 files it overlaps.
  CHECK(seek_compaction_input_bytes(*v, 1, *v->files(1)[0]) == 1000 + 8000);
  CHECK(seek_compaction_input_bytes(*v, 1, *v->files(1)[1]) == 2000);
  CHECK(seek_compaction_input_bytes(*v, 1, *v->files(1)[2]) == 4000 + 16000);
}
