#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include <stdlib.h>

#include <fstream>

#include "lib/io/default_file_system.h"
#include "lib/io/posix_file_system.h"
#include "lib/io/uring_file_system.h"

namespace strata::io {

TEST_CASE("STRATA_IO=posix forces the PosixFileSystem fallback") {
  asio::io_context io;
  ::setenv("STRATA_IO", "posix", 1);
  auto fs = make_default_file_system(io.get_executor());
  ::unsetenv("STRATA_IO");
  CHECK(dynamic_cast<PosixFileSystem*>(fs.get()) != nullptr);
}

TEST_CASE("without STRATA_IO the default is io_uring where the kernel allows it") {
  asio::io_context io;
  ::unsetenv("STRATA_IO");
  auto fs = make_default_file_system(io.get_executor());
  REQUIRE(fs != nullptr);
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  int disabled = 0;
  in >> disabled;
  bool uring_works = UringFileSystem::create(io.get_executor()).has_value();
  if (disabled == 0 && uring_works) {
    CHECK(dynamic_cast<UringFileSystem*>(fs.get()) != nullptr);
  } else {
    CHECK(dynamic_cast<PosixFileSystem*>(fs.get()) != nullptr);
  }
}

}  // namespace strata::io
