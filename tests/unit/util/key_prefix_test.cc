#include <doctest/doctest.h>

#include <string>

#include "lib/util/key_prefix.h"

using strata::prefix_successor;

TEST_CASE("prefix_successor bounds exactly the keys that start with the prefix") {
  CHECK(prefix_successor("ab") == "ac");
  CHECK(prefix_successor(std::string("a\xff", 2)) == "b");
  CHECK(prefix_successor(std::string("a\xfe\xff", 3)) == std::string("a\xff", 2));
  CHECK(prefix_successor(std::string("\xff\xff", 2)).empty());  // no upper bound
  CHECK(prefix_successor("").empty());
  // Every key with the prefix sorts below the successor; the successor itself does not start with it.
  for (std::string p : {std::string("u"), std::string("k\x7f"), std::string("z\xff")}) {
    std::string succ = prefix_successor(p);
    CHECK(p < succ);
    CHECK(p + std::string(8, '\xff') < succ);
    CHECK(succ.compare(0, p.size(), p) != 0);
  }
}
