#include "net/http/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "net/http/prometheus_text.h"

namespace strata::net::http {

namespace {

// The fields of /proc/self/stat after the command name (field 3 onwards), or empty.
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  size_t close = line.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// The boot time in seconds since the epoch (/proc/stat btime), or 0.
uint64_t boot_time_seconds() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("btime ")) return std::stoull(line.substr(6));
  }
  return 0;
}

}  // namespace

std::string build_info_to_prometheus(std::string_view version) {
  std::string out;
  append_metric(out, "build_info", "gauge", "Always 1; the version of strata-server as a label.", 1,
                "{version=\"" + label_value(version) + "\"}");
  return out;
}

std::string process_metrics_to_prometheus() {
  std::string out;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // man 5 proc: (3) state ... (14) utime (15) stime ... (22) starttime (23) vsize (24) rss;
  // fields[0] is field 3.
  std::vector<std::string> f = stat_fields();
  if (f.size() > 21 && ticks > 0) {
    append_unprefixed_metric(out, "process_cpu_seconds_total", "counter",
                             "Total user and system CPU time spent in seconds.",
                             static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) / ticks);
    append_unprefixed_metric(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
                             static_cast<double>(std::stoull(f[20])));
    append_unprefixed_metric(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
                             static_cast<double>(std::stoull(f[21])) * page);
    if (uint64_t boot = boot_time_seconds(); boot > 0) {
      append_unprefixed_metric(out, "process_start_time_seconds", "gauge",
                               "Start time of the process since unix epoch in seconds.",
                               static_cast<double>(boot) + static_cast<double>(std::stoull(f[19])) / ticks);
    }
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    uint64_t fds = 0;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++fds;
    }
    ::closedir(d);
    append_unprefixed_metric(out, "process_open_fds", "gauge", "Number of open file descriptors.",
                             static_cast<double>(fds - 1));  // less the one opendir holds
  }
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    append_unprefixed_metric(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
                             static_cast<double>(nofile.rlim_cur));
  }
  return out;
}

std::string cluster_gauges_to_prometheus(const replication::ClusterStatus& s) {
  std::string out;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  append_metric(out, "raft_term", "gauge", "This node's current Raft term.", d(s.term));
  append_metric(out, "raft_commit_index", "gauge", "The highest Raft log index known to be committed.",
                d(s.commit_index));
  append_metric(out, "raft_applied_index", "gauge", "The highest Raft log index applied to this node's DB.",
                d(s.applied_index));
  append_metric(out, "raft_has_leader", "gauge", "1 when this node knows a leader.", s.leader_id != 0 ? 1 : 0);
  append_metric(out, "raft_is_leader", "gauge", "1 when this node is the leader.", s.role == "leader" ? 1 : 0);
  return out;
}

}  // namespace strata::net::http
