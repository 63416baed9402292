// The /metrics families that describe the process and the node rather than the engine:
//  - strata_build_info{version="..."} 1 (the usual "info" gauge: the version as a label);
//  - process_* as Prometheus's client libraries name them (unprefixed, so that dashboards and
//    alerts written for any Linux process work): process_cpu_seconds_total,
//    process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
//    process_max_fds, process_start_time_seconds; read from /proc/self (a family whose source
//    cannot be read is left out);
//  - a cluster node's Raft gauges (from replication::ClusterStatus): strata_raft_term,
//    strata_raft_commit_index, strata_raft_applied_index, strata_raft_has_leader,
//    strata_raft_is_leader.
// Thread-safety: pure functions (they read /proc).
#pragma once

#include <string>
#include <string_view>

#include "lib/replication/kv_service.h"

namespace strata::net::http {

std::string build_info_to_prometheus(std::string_view version);
std::string process_metrics_to_prometheus();
std::string cluster_gauges_to_prometheus(const replication::ClusterStatus& status);

}  // namespace strata::net::http
