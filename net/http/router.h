// Router: maps a Request to the handler of its endpoint and returns its Response. This is the
// whole HTTP API of a node minus the wire (server.h owns sockets and Beast); see docs/http_api.md.
//
//   TinyLSM-compatible: POST /set, POST /delete, GET /get?key=K, GET /status
//   Native:             PUT|GET|DELETE /v1/kv/{key}, GET /v1/kv?start=&end=&prefix=&limit=&encoding=,
//                       POST /v1/batch, GET /v1/status, GET /v1/stats, GET /metrics
//   Admin:              GET /v1/trace?key=&at=, GET|POST /v1/config, POST /v1/admin/flush,
//                       POST /v1/admin/compact, POST /v1/admin/checkpoint, GET /stats (= /v1/stats); ?at=SEQ on GET
//                       /v1/kv/{key} and GET /get, ?reverse=true on GET /v1/kv
//   Cluster:            GET|POST|DELETE /v1/cluster/members, POST /add_node, POST /remove_node
//   Debug (FaultHooks): GET|POST /v1/debug/link-fault (only with --enable-fault-hooks)
//
// Invariants: handle() never throws for any request content (every parse is checked, every size
// is bounded by Limits) and never answers 2xx to a write that the DB did not acknowledge: a write
// handler returns 2xx only after DB::put/del/write returned success. Errors carry a JSON body
// {"error", "code"}: 400 bad input, 404 unknown route or key, 405 wrong method (with Allow), 413
// key/value/body too large, 503 read-only or shutting down, 501 not supported here (reads at a
// sequence number in a cluster), 500 other DB errors. A cluster node that was removed from the
// cluster (KvService::removed) answers only GET of /status, /v1/status, /v1/stats, /stats,
// /metrics, /v1/cluster/members, /health and /readyz; everything else is 503 node_removed.
//
// Executors: handle() runs on the awaiting coroutine's executor (the connection's); the DB's
// coroutines complete back on it.
// Thread-safety: handle() may run concurrently from many coroutines and threads; the Router is
// immutable after construction. REQUIRES: the DB outlives the Router and every handle() call.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/replication/kv_service.h"
#include "net/http/client_port_stats.h"
#include "net/http/request.h"
#include "net/http/response.h"

namespace strata {
class DB;
}
namespace strata::net::peer {
class PeerTransport;
}

namespace strata::net::http {

// What /status says under "security" (docs/security.md).
struct SecurityInfo {
  bool tls = false;                   // the client port serves HTTPS (--cert-file)
  std::string client_auth = "none";   // "client-cert" (--client-cert-auth), "none"
  std::string peer_auth = "n/a";      // "hmac-sha256" (--peer-secret-file), "none", "n/a" (single node)
  std::vector<std::string> warnings;  // what strata-server warned about at start (exposure without protection)
};

// One strata-server option set by a flag, the environment or a file (apps/server_config_sources.h).
struct ServerSetting {
  std::string name;  // the flag's name, e.g. "block-cache-mb"
  std::string value;
  std::string source;  // "flag", "env STRATA_...", "env-file F", "config F"
};

struct NodeInfo {
  std::string node_id = "node-1";
  std::string role = "leader";  // single node: always the leader
  std::string sync_policy = "always";
  std::string version;  // the server's version string
  SecurityInfo security;
  // GET /v1/config "server": the options not at their defaults and where each came from.
  std::vector<ServerSetting> server_config;
  // Where POST /v1/admin/checkpoint writes (strata-server --backup-dir); empty: checkpoints are
  // refused (an HTTP request must not choose a server path).
  std::string backup_dir;
  // The client port's counters (GET /v1/stats "http", /metrics strata_http_*); nullptr: none
  // shown. REQUIRES: outlives the Router.
  const ClientPortCounters* client_port = nullptr;
};

struct Limits {
  size_t max_key_bytes = 64 << 10;    // matches Options::max_key_size_bytes
  size_t max_value_bytes = 16 << 20;  // a value never exceeds the body limit anyway
  size_t max_body_bytes = 16 << 20;   // the server's body_limit; checked here again
  size_t default_scan_limit = 1000;   // GET /v1/kv without ?limit=
  size_t max_scan_limit = 10000;      // bounds the memory of one scan response
  size_t max_batch_ops = 100000;
  size_t max_multi_get_keys = 10000;  // keys of one POST /v1/kv/multi-get
};

// Test-only fault injection over HTTP (strata-server --enable-fault-hooks): with hooks the Router
// serves /v1/debug/link-fault (debug_handlers.cc); without them that path does not exist (404).
struct FaultHooks {
  peer::PeerTransport* transport = nullptr;  // REQUIRES: outlives the Router
  std::vector<uint64_t> peers;               // the node ids whose links may be faulted
};

class Router {
 public:
  // Single node: serves `db` through a LocalKvService.
  Router(DB& db, NodeInfo node, Limits limits);
  // Any KvService (a replication::Node in a cluster). REQUIRES: kv outlives the Router.
  // `fault_hooks` (tests only) enables /v1/debug/link-fault.
  Router(replication::KvService& kv, NodeInfo node, Limits limits,
         std::optional<FaultHooks> fault_hooks = std::nullopt);

  const Limits& limits() const { return limits_; }
  const NodeInfo& node() const { return node_; }

  // Runs on: the caller's executor. Never throws for bad input (it may throw std::bad_alloc).
  boost::asio::awaitable<Response> handle(Request req) const;

  // Which key-value operation `req` is, for the request-latency histograms
  // (ClientPortCounters::request_latency; the Server times handle()), or nullopt for the rest.
  static std::optional<RequestOp> timed_op(const Request& req);

 private:
  std::unique_ptr<replication::KvService> owned_kv_;
  replication::KvService& kv_;
  NodeInfo node_;
  Limits limits_;
  std::optional<FaultHooks> fault_hooks_;
};

}  // namespace strata::net::http
