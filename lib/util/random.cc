#include "lib/util/random.h"

#include <random>

namespace strata {

uint64_t Random::os_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

}  // namespace strata
