#include "lib/util/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "lib/util/logging.h"

namespace strata {

namespace {
id_t current_tid() { return static_cast<id_t>(::syscall(SYS_gettid)); }
}  // namespace

Result<void> set_current_thread_nice(int nice) {
  if (nice < 0 || nice > kLowestNice) return make_error_code(Errc::invalid_argument);
  if (nice <= current_thread_nice()) return ok();
  if (::setpriority(PRIO_PROCESS, current_tid(), nice) != 0) {
    int err = errno;
    STRATA_LOG(warn, "setpriority(nice %d) of thread %d failed: %s", nice, static_cast<int>(current_tid()),
               std::generic_category().message(err).c_str());
    return error_from_errno(err);
  }
  return ok();
}

int current_thread_nice() {
  errno = 0;
  int n = ::getpriority(PRIO_PROCESS, current_tid());
  return errno == 0 ? n : 0;
}

}  // namespace strata
