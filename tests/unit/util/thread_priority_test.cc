#include "lib/util/thread_priority.h"

#include <doctest/doctest.h>

#include <thread>

using namespace strata;

TEST_CASE("set_current_thread_nice lowers the calling thread only, and never raises it back") {
  const int main_nice = current_thread_nice();
  int lowered = -100;
  int after_raise_attempt = -100;
  bool refused_out_of_range = false;
  std::thread t([&] {
    REQUIRE(set_current_thread_nice(kLowestNice).has_value());
    lowered = current_thread_nice();
    // A lower value than the current one is a no-op (it would need CAP_SYS_NICE), not an error.
    REQUIRE(set_current_thread_nice(0).has_value());
    after_raise_attempt = current_thread_nice();
    refused_out_of_range = set_current_thread_nice(20).error() == make_error_code(Errc::invalid_argument);
  });
  t.join();
  CHECK(lowered == kLowestNice);
  CHECK(after_raise_attempt == kLowestNice);
  CHECK(refused_out_of_range);
  CHECK(current_thread_nice() == main_nice);
}
