// Fuzz target: Block::parse and BlockIterator on arbitrary bytes as one uncompressed block.
// Input: byte 0 selects the key order (even: internal, odd: bytewise), the rest is the block.
// Moves forward over every entry, backward over every entry, and seeks to each key it met and to
// a few synthetic targets.
// Checks: no crash or out-of-bounds read (ASan/UBSan); an iterator stops (never loops) within
// one step per byte; once corrupt it stays !valid(); an entry's key and value lie inside the block.
#include <string>
#include <vector>

#include "lib/sstable/block.h"
#include "tests/fuzz/fuzz_util.h"

using namespace strata;
using namespace strata::sstable;

namespace {

void check_entry(const BlockIterator& it, size_t block_size) {
  FUZZ_CHECK(it.value().size() <= block_size);
  FUZZ_CHECK(it.key().size() <= block_size * 2 + 8);  // prefix-compressed, never more than the block holds
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  KeyOrder order = data[0] % 2 == 0 ? KeyOrder::internal : KeyOrder::bytewise;
  auto parsed = Block::parse(std::string(fuzz::as_view(data + 1, size - 1)), order);
  if (!parsed) return 0;
  const Block& block = *parsed;
  const size_t limit = block.size() + 1;  // an entry takes at least one byte

  std::vector<std::string> keys;
  BlockIterator it = block.new_iterator();
  size_t steps = 0;
  for (it.seek_to_first(); it.valid(); it.next()) {
    check_entry(it, block.size());
    if (keys.size() < 64) keys.emplace_back(it.key());
    FUZZ_CHECK(++steps <= limit);
  }
  if (!it.status()) FUZZ_CHECK(!it.valid());

  BlockIterator back = block.new_iterator();
  steps = 0;
  for (back.seek_to_last(); back.valid(); back.prev()) {
    check_entry(back, block.size());
    FUZZ_CHECK(++steps <= limit);
  }

  std::vector<std::string> targets = keys;
  targets.push_back(std::string(8, '\0'));
  targets.push_back(std::string(16, '\xff'));
  for (auto& t : targets) {
    if (order == KeyOrder::internal && t.size() < 8) t.resize(8, '\0');  // REQUIRES of seek()
    BlockIterator s = block.new_iterator();
    s.seek(t);
    if (s.valid()) {
      check_entry(s, block.size());
      s.next();
      if (s.valid()) check_entry(s, block.size());
    }
  }
  return 0;
}
