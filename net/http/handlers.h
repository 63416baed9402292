// The endpoint handlers behind Router (internal to net/http). Each takes the parsed parts of the
// request by value (coroutine frames own their parameters) and returns the complete Response.
// Thread-safety: as Router::handle. REQUIRES: `ctx` outlives the call (it is the Router's).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/replication/kv_service.h"
#include "strata/error.h"
#include "net/http/request.h"
#include "net/http/response.h"
#include "net/http/router.h"

namespace strata::net::http {

struct HandlerContext {
  replication::KvService& kv;
  const NodeInfo& node;
  const Limits& limits;
};

// The Response for a failed call: 503 read_only (with the DB's reason) or shutting_down/busy,
// 400 invalid_argument, 501 not_supported, 500 otherwise. Cluster errors (503): node_removed (this node left the
// cluster; nothing was done), not_leader (nothing was proposed), timed_out and unavailable (no quorum); for writes
// (`write`) the body says whether the write may have been applied: {"error","code","write_may_have_been_applied"}.
Response db_error_response(const HandlerContext& ctx, ErrorCode ec, bool write = false);
// The sequence number of ?at=SEQ (a decimal uint64): *out stays nullopt without ?at. Returns
// false (and sets *error to a 400 bad_query) when malformed.
bool sequence_of(const Request& req, std::optional<uint64_t>* out, Response* error);
// The Response for a failed read at ?at=SEQ: 501 not_supported in a cluster, 400 bad_query when
// SEQ is beyond the last sequence number, else db_error_response.
Response read_at_error_response(const HandlerContext& ctx, ErrorCode ec, uint64_t seq);
// The read consistency of a request: ?consistency=linearizable|stale, or TinyLSM's
// ?consistent=true|false. nullopt (and *error set to a 400) when malformed.
std::optional<replication::ReadConsistency> read_consistency_of(const Request& req, Response* error);

// Native API (kv_handlers.cc). `key` is already percent-decoded.
boost::asio::awaitable<Response> handle_kv_get(const HandlerContext& ctx, std::string key, Request req);
boost::asio::awaitable<Response> handle_kv_put(const HandlerContext& ctx, std::string key, Request req);
boost::asio::awaitable<Response> handle_kv_delete(const HandlerContext& ctx, std::string key, Request req);
boost::asio::awaitable<Response> handle_kv_scan(const HandlerContext& ctx, Request req);
// POST /v1/kv/multi-get: the values of many keys at one point in time (docs/http_api.md).
boost::asio::awaitable<Response> handle_kv_multi_get(const HandlerContext& ctx, Request req);
boost::asio::awaitable<Response> handle_batch(const HandlerContext& ctx, Request req);
Response handle_stats(const HandlerContext& ctx);
Response handle_metrics(const HandlerContext& ctx);

// Admin API (admin_handlers.cc): GET /v1/trace?key=K[&at=SEQ], GET|POST /v1/config,
// POST /v1/admin/flush, POST /v1/admin/compact {"start","end"}.
boost::asio::awaitable<Response> handle_trace(const HandlerContext& ctx, Request req);
Response handle_config(const HandlerContext& ctx, Request req);
boost::asio::awaitable<Response> handle_flush(const HandlerContext& ctx, Request req);
boost::asio::awaitable<Response> handle_compact(const HandlerContext& ctx, Request req);
// POST /v1/admin/checkpoint {"name": N}: DB::checkpoint into NodeInfo::backup_dir/N.
boost::asio::awaitable<Response> handle_checkpoint(const HandlerContext& ctx, Request req);

// TinyLSM-compatible API (tinylsm_handlers.cc); handle_status also serves GET /v1/status.
boost::asio::awaitable<Response> handle_tiny_set(const HandlerContext& ctx, Request req);
boost::asio::awaitable<Response> handle_tiny_delete(const HandlerContext& ctx, Request req);
boost::asio::awaitable<Response> handle_tiny_get(const HandlerContext& ctx, Request req);
Response handle_status(const HandlerContext& ctx);
// Probes (health_handlers.cc): GET /health (liveness), GET /readyz (readiness).
Response handle_health(const HandlerContext& ctx);
Response handle_readyz(const HandlerContext& ctx);
// Cluster membership (cluster_handlers.cc): GET/POST/DELETE /v1/cluster/members, TinyLSM's
// POST /add_node and POST /remove_node.
boost::asio::awaitable<Response> handle_members(const HandlerContext& ctx, Request req);
boost::asio::awaitable<Response> handle_tiny_add_node(const HandlerContext& ctx, Request req);
boost::asio::awaitable<Response> handle_tiny_remove_node(const HandlerContext& ctx, Request req);
// Test-only fault hooks (debug_handlers.cc): GET|POST /v1/debug/link-fault.
Response handle_debug_link_fault(const FaultHooks& hooks, Request req);
// The JSON of /status in a cluster.
std::string cluster_status_json(const replication::ClusterStatus& s, const NodeInfo& node);
// 503 {"error", "code": "node_removed", "members": [...]}: this node was removed from the cluster;
// the members (as it last knew them) are where to go instead.
Response node_removed_response(const HandlerContext& ctx);
// /status "security": {"tls": false, "client_auth": "none", "peer_auth", "warnings": [...]}.
boost::json::object security_json(const NodeInfo& node);

}  // namespace strata::net::http
