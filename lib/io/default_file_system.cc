#include "lib/io/default_file_system.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "lib/io/posix_file_system.h"
#include "lib/io/uring_file_system.h"
#include "lib/util/logging.h"

namespace strata::io {
namespace {

// True unless the sysctl exists and is nonzero (1: only a privileged group may use io_uring;
// 2: disabled for everyone). Either way the fallback is the predictable choice.
bool io_uring_allowed_by_sysctl() {
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  int value = 0;
  if (!(in >> value)) return true;  // absent (kernel < 6.6) or unreadable
  return value == 0;
}

}  // namespace

std::unique_ptr<FileSystem> make_default_file_system(asio::any_io_executor ex) {
  const char* forced = std::getenv("STRATA_IO");
  if (forced != nullptr && std::string_view(forced) == "posix") {
    STRATA_LOG(info, "io: using PosixFileSystem (STRATA_IO=posix)");
    return std::make_unique<PosixFileSystem>();
  }
  if (!io_uring_allowed_by_sysctl()) {
    STRATA_LOG(info, "io: using PosixFileSystem (kernel.io_uring_disabled is set)");
    return std::make_unique<PosixFileSystem>();
  }
  auto uring = UringFileSystem::create(std::move(ex));
  if (!uring) {
    STRATA_LOG(info, "io: using PosixFileSystem (io_uring unavailable: %s)", uring.error().message().c_str());
    return std::make_unique<PosixFileSystem>();
  }
  STRATA_LOG(info, "io: using UringFileSystem (io_uring)");
  return std::move(*uring);
}

}  // namespace strata::io
