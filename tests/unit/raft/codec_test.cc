#include <doctest/doctest.h>

#include "lib/raft/codec.h"
#include "lib/util/random.h"

using namespace strata;
using namespace strata::raft;

namespace {

Message full_message() {
  Message m{.type = MessageType::app,
            .to = 2,
            .from = 1,
            .term = 7,
            .log_term = 6,
            .index = 41,
            .commit = 40,
            .reject = true,
            .force = true,
            .reject_hint = 39};
  m.entries = {Entry{7, 42, EntryType::normal, "a"}, Entry{7, 43, EntryType::conf_change, std::string("\0b", 2)}};
  m.snapshot = Snapshot{SnapshotMetadata{40, 6, ConfState{{1, 2, 3}, {4}}}, "image"};
  m.context = "ctx";
  return m;
}

}  // namespace

TEST_CASE("every message field round-trips through the codec") {
  Message m = full_message();
  auto got = decode_message(encode_message(m));
  REQUIRE(got.has_value());
  CHECK(*got == m);
  for (uint8_t t = 0; t <= kMaxMessageType; ++t) {
    Message small{.type = static_cast<MessageType>(t), .to = 1, .from = 2, .term = 3};
    auto r = decode_message(encode_message(small));
    REQUIRE(r.has_value());
    CHECK(*r == small);
  }
}

TEST_CASE("hard state and conf change round-trip; bad conf changes are rejected") {
  HardState hs{9, 2, 100};
  CHECK(*decode_hard_state(encode_hard_state(hs)) == hs);
  ConfChange cc{ConfChangeType::add_learner, 12};
  CHECK(*decode_conf_change(encode_conf_change(cc)) == cc);
  CHECK(!decode_conf_change(std::string("\x07\x01", 2)));  // unknown type
  CHECK(!decode_conf_change(std::string("\x00\x00", 2)));  // node 0
  CHECK(!decode_hard_state(encode_hard_state(hs) + "x"));  // trailing bytes
}

TEST_CASE("every truncation of an encoded message is rejected as corruption, never misread") {
  std::string enc = encode_message(full_message());
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    auto r = decode_message(std::string_view(enc.data(), cut));
    CHECK(!r.has_value());
  }
}

TEST_CASE("decoding random and mutated bytes never crashes and bounds every count") {
  Random rng(42);
  std::string base = encode_message(full_message());
  int decoded = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string s;
    if (i % 2 == 0) {
      s = base;
      for (int k = 0; k < 3; ++k) s[rng.uniform(s.size())] = static_cast<char>(rng.next());
    } else {
      s.resize(rng.uniform(64));
      for (char& ch : s) ch = static_cast<char>(rng.next());
      if (!s.empty()) s[0] = static_cast<char>(kMessageFormatVersion);
    }
    auto r = decode_message(s);
    if (r) ++decoded;
  }
  CHECK(decoded < 100000);
  // A huge entry count with no bytes behind it is rejected before anything is reserved.
  std::string huge = base.substr(0, 2);
  for (int k = 0; k < 7; ++k) huge.push_back(0);
  huge.push_back(0);                                           // flags
  huge += std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8);  // entry count ~2^56
  CHECK(!decode_message(huge));
}

TEST_CASE("snapshot metadata with unsorted or overlapping members is corruption") {
  std::string enc;
  encode_snapshot_metadata(&enc, SnapshotMetadata{5, 2, ConfState{{1, 2}, {2}}});
  std::string_view in(enc);
  CHECK(!decode_snapshot_metadata(&in));
}
