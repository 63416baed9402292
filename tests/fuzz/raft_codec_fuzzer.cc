// Fuzz target: decoding of Raft messages and records (lib/raft/codec.h) from arbitrary bytes, as
// a peer could send them. Every decoder runs on the same input; whatever decodes must re-encode
// to something that decodes to the same value (decode(encode(x)) == x).
// Checks: no crash, no out-of-bounds read, no allocation beyond what the input justifies (ASan's
// -rss_limit/-malloc_limit in the fuzz build); the round trips.
#include <string>

#include "lib/raft/codec.h"
#include "lib/raft/message_check.h"
#include "tests/fuzz/fuzz_util.h"

using namespace strata;
using namespace strata::raft;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::as_view(data, size);

  if (auto m = decode_message(in)) {
    (void)check_message_shape(*m);  // whatever decodes can be validated
    auto again = decode_message(encode_message(*m));
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *m);
  }
  if (auto hs = decode_hard_state(in)) {
    auto again = decode_hard_state(encode_hard_state(*hs));
    FUZZ_CHECK(again.has_value() && *again == *hs);
  }
  if (auto cc = decode_conf_change(in)) {
    auto again = decode_conf_change(encode_conf_change(*cc));
    FUZZ_CHECK(again.has_value() && *again == *cc);
  }
  {
    std::string_view rest = in;
    for (int i = 0; i < 1024 && !rest.empty(); ++i) {
      size_t before = rest.size();
      auto e = decode_entry(&rest);
      if (!e) break;
      FUZZ_CHECK(rest.size() < before);  // progress: no endless loop on a zero-length entry
      std::string enc;
      encode_entry(&enc, *e);
      std::string_view encv = enc;
      auto again = decode_entry(&encv);
      FUZZ_CHECK(again.has_value() && *again == *e && encv.empty());
    }
  }
  {
    std::string_view rest = in;
    if (auto md = decode_snapshot_metadata(&rest)) {
      std::string enc;
      encode_snapshot_metadata(&enc, *md);
      std::string_view encv = enc;
      auto again = decode_snapshot_metadata(&encv);
      FUZZ_CHECK(again.has_value() && *again == *md && encv.empty());
    }
  }
  return 0;
}
