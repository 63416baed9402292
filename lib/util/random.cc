#include "lib/util/random.h"

#include <sys/random.h>

#include <cerrno>
#include <random>

#include "lib/util/assert.h"

namespace strata {

uint64_t Random::os_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

void OsRandomBytes::fill(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    STRATA_ASSERT_MSG(n > 0, "getrandom(2) failed");
    done += static_cast<size_t>(n);
  }
}

OsRandomBytes& OsRandomBytes::instance() {
  static OsRandomBytes source;
  return source;
}

}  // namespace strata
