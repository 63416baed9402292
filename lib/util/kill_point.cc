#include "lib/util/kill_point.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <string>

namespace strata::detail {

namespace {

struct Arming {
  bool armed = false;
  std::string name;
  long countdown = 1;
  std::atomic<long> hits{0};

  Arming() {
    const char* env = std::getenv("STRATA_KILL_POINT");
    if (env == nullptr || *env == '\0') return;
    std::string spec = env;
    if (auto colon = spec.find(':'); colon != std::string::npos) {
      countdown = std::max(1L, std::strtol(spec.c_str() + colon + 1, nullptr, 10));
      spec.resize(colon);
    }
    name = spec;
    armed = true;
    std::fprintf(stderr, "kill point %s armed (hit %ld)\n", name.c_str(), countdown);
  }
};

Arming& arming() {
  static Arming a;
  return a;
}

}  // namespace

bool kill_points_armed() { return arming().armed; }

void kill_point_reached(std::string_view name) {
  Arming& a = arming();
  if (name != a.name) return;
  if (a.hits.fetch_add(1) + 1 < a.countdown) return;
  std::fprintf(stderr, "kill point %s hit\n", a.name.c_str());
  std::fflush(stderr);
  ::raise(SIGKILL);
  ::_exit(137);  // not reached
}

}  // namespace strata::detail
