// Health endpoints for load balancers and orchestrators (Kubernetes probes, etcd's /health):
//   GET /health  liveness: 200 {"health":true} while the node serves and its DB accepts writes;
//                503 {"health":false,"reason":...} once the DB turned read-only (a failed write
//                or sync): restarting the process is what recovers it.
//   GET /readyz  readiness: 200 {"ready":true} when this node can answer reads and writes now:
//                single node, a writable DB; cluster, also a known leader, not removed from the
//                cluster, and everything committed that it knows of applied. Else 503
//                {"ready":false,"reason":...}.
#include <boost/json/serialize.hpp>

#include "net/http/handlers.h"
#include "net/http/json_codec.h"

namespace strata::net::http {

namespace json = boost::json;

namespace {

Response probe_answer(std::string_view field, const std::string& reason) {
  json::object o;
  o[field] = reason.empty();
  if (!reason.empty()) o["reason"] = reason;
  return json_response(reason.empty() ? 200 : 503, json::serialize(o));
}

std::string read_only_reason(const HandlerContext& ctx) {
  DbStats s = ctx.kv.stats();
  if (!s.read_only) return {};
  return "the database is read-only" + (s.read_only_reason.empty() ? std::string() : ": " + s.read_only_reason);
}

}  // namespace

Response handle_health(const HandlerContext& ctx) { return probe_answer("health", read_only_reason(ctx)); }

Response handle_readyz(const HandlerContext& ctx) {
  std::string reason = read_only_reason(ctx);
  if (reason.empty() && ctx.kv.removed()) reason = "this node was removed from the cluster";
  if (reason.empty()) {
    if (auto cs = ctx.kv.cluster_status()) {
      if (cs->leader_id == 0) {
        reason = "no leader is known (election in progress, or no quorum)";
      } else if (cs->applied_index < cs->commit_index) {
        reason = "catching up: applied index " + std::to_string(cs->applied_index) + " of commit index " +
                 std::to_string(cs->commit_index);
      }
    }
  }
  return probe_answer("ready", reason);
}

}  // namespace strata::net::http
