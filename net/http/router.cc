#include "net/http/router.h"

#include <boost/json/serialize.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <utility>

#include "strata/db.h"
#include "net/http/handlers.h"
#include "net/http/json_codec.h"

namespace strata::net::http {

namespace asio = boost::asio;
namespace json = boost::json;

std::string_view to_string(Method m) {
  switch (m) {
    case Method::get: return "GET";
    case Method::head: return "HEAD";
    case Method::put: return "PUT";
    case Method::post: return "POST";
    case Method::del: return "DELETE";
    case Method::other: return "OTHER";
  }
  return "OTHER";
}

Response json_response(int status, std::string json_body) {
  Response r;
  r.status = status;
  r.body = std::move(json_body);
  return r;
}

Response error_response(int status, std::string_view code, std::string_view message) {
  json::object o;
  if (is_valid_utf8(message)) {
    o["error"] = message;
  } else {
    // Messages may quote request bytes (a path); keep the body valid JSON.
    std::string clean(message);
    for (char& c : clean) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
    o["error"] = clean;
  }
  o["code"] = code;
  return json_response(status, json::serialize(o));
}

namespace {

Response cluster_error(std::string_view code, std::string_view message, bool write, bool may_have_been_applied) {
  json::object o;
  o["error"] = message;
  o["code"] = code;
  if (write) o["write_may_have_been_applied"] = may_have_been_applied;
  return json_response(503, json::serialize(o));
}

}  // namespace

std::optional<replication::ReadConsistency> read_consistency_of(const Request& req, Response* error) {
  using replication::ReadConsistency;
  if (auto c = req.find_query("consistency")) {
    if (*c == "linearizable") return ReadConsistency::linearizable;
    if (*c == "stale") return ReadConsistency::stale;
    *error = error_response(400, "bad_query", "consistency must be linearizable or stale");
    return std::nullopt;
  }
  if (auto c = req.find_query("consistent")) {
    if (*c == "true") return ReadConsistency::linearizable;
    if (*c == "false") return ReadConsistency::stale;
    *error = error_response(400, "bad_query", "consistent must be true or false");
    return std::nullopt;
  }
  return ReadConsistency::linearizable;
}

Response db_error_response(const HandlerContext& ctx, ErrorCode ec, bool write) {
  if (ec == make_error_code(Errc::not_leader)) {
    return cluster_error("not_leader",
                         "no leader is known (election in progress or no quorum); the request was not applied", write,
                         false);
  }
  if (ec == make_error_code(Errc::unavailable)) {
    return cluster_error("no_quorum",
                         "no quorum: the cluster has no leader that can commit; the write may have been applied", write,
                         true);
  }
  if (ec == make_error_code(Errc::overloaded)) {
    return cluster_error(
        "overloaded", "overloaded: too many writes are waiting on this node; the write was not applied", write, false);
  }
  if (ec == make_error_code(Errc::removed)) return node_removed_response(ctx);
  if (ec == make_error_code(Errc::timed_out)) {
    return cluster_error("timed_out", "timed out waiting for the cluster; the write may have been applied", write,
                         true);
  }
  if (ec == make_error_code(Errc::read_only)) {
    DbStats s = ctx.kv.stats();
    std::string msg = "the database is read-only";
    if (!s.read_only_reason.empty()) msg += ": " + s.read_only_reason;
    return error_response(503, "read_only", msg);
  }
  if (ec == make_error_code(Errc::shutting_down))
    return error_response(503, "shutting_down", "the node is shutting down");
  if (ec == make_error_code(Errc::busy)) return error_response(503, "busy", ec.message());
  if (ec == make_error_code(Errc::invalid_argument)) return error_response(400, "invalid_argument", ec.message());
  if (ec == make_error_code(Errc::not_supported)) return error_response(501, "not_supported", ec.message());
  return error_response(500, "internal", "database error: " + ec.message());
}

bool sequence_of(const Request& req, std::optional<uint64_t>* out, Response* error) {
  auto at = req.find_query("at");
  if (!at) return true;
  uint64_t seq = 0;
  auto [p, ec] = std::from_chars(at->data(), at->data() + at->size(), seq);
  if (at->empty() || ec != std::errc() || p != at->data() + at->size()) {
    *error = error_response(400, "bad_query", "at must be a sequence number (a decimal integer)");
    return false;
  }
  *out = seq;
  return true;
}

Response read_at_error_response(const HandlerContext& ctx, ErrorCode ec, uint64_t seq) {
  if (ec == make_error_code(Errc::not_supported)) {
    return error_response(501, "not_supported",
                          "reads at a sequence number are not supported in a cluster: sequence numbers are per node");
  }
  if (ec == make_error_code(Errc::invalid_argument)) {
    return error_response(400, "bad_query",
                          "at=" + std::to_string(seq) + " is beyond the last sequence number " +
                              std::to_string(ctx.kv.latest_sequence()));
  }
  return db_error_response(ctx, ec);
}

Router::Router(DB& db, NodeInfo node, Limits limits)
    : owned_kv_(std::make_unique<replication::LocalKvService>(db)),
      kv_(*owned_kv_),
      node_(std::move(node)),
      limits_(limits) {}

Router::Router(replication::KvService& kv, NodeInfo node, Limits limits, std::optional<FaultHooks> fault_hooks)
    : kv_(kv), node_(std::move(node)), limits_(limits), fault_hooks_(std::move(fault_hooks)) {}

namespace {

constexpr std::string_view kKvPrefix = "/v1/kv/";
constexpr std::string_view kMultiGetName = "multi-get";  // POST /v1/kv/multi-get

Response method_not_allowed(const Request& req, std::string_view allow) {
  Response r = error_response(
      405, "method_not_allowed",
      "method " + req.method_name + " is not allowed on " + req.path + " (allowed: " + std::string(allow) + ")");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

// HEAD is answered like GET (the server drops the body).
bool is_get(Method m) { return m == Method::get || m == Method::head; }

// The fixed-path endpoints: a path, the methods it answers (GET implies HEAD) and its handler.
// /v1/kv/{key} (a path parameter) and the debug hooks (present only with --enable-fault-hooks)
// are matched in Router::handle itself.
enum MethodBit : unsigned { kGet = 1, kPut = 2, kPost = 4, kDelete = 8 };
using RouteHandler = asio::awaitable<Response> (*)(const HandlerContext&, Request);

struct Route {
  std::string_view path;
  unsigned methods;
  RouteHandler handler;
  std::string_view params;  // the query parameters it takes, comma-separated ("": none)

  bool allows(Method m) const {
    switch (m) {
      case Method::get:
      case Method::head: return (methods & kGet) != 0;
      case Method::put: return (methods & kPut) != 0;
      case Method::post: return (methods & kPost) != 0;
      case Method::del: return (methods & kDelete) != 0;
      case Method::other: return false;
    }
    return false;
  }
  // The Allow header of a 405: "GET, HEAD, PUT, POST, DELETE" filtered by `methods`.
  std::string allow_header() const {
    std::string out;
    auto add = [&out](std::string_view name) {
      if (!out.empty()) out += ", ";
      out += name;
    };
    if (methods & kGet) add("GET, HEAD");
    if (methods & kPut) add("PUT");
    if (methods & kPost) add("POST");
    if (methods & kDelete) add("DELETE");
    return out;
  }
};

// Adapters for the handlers that answer without suspending or without the request.
asio::awaitable<Response> route_stats(const HandlerContext& ctx, Request) { co_return handle_stats(ctx); }
asio::awaitable<Response> route_metrics(const HandlerContext& ctx, Request) { co_return handle_metrics(ctx); }
asio::awaitable<Response> route_status(const HandlerContext& ctx, Request) { co_return handle_status(ctx); }
asio::awaitable<Response> route_health(const HandlerContext& ctx, Request) { co_return handle_health(ctx); }
asio::awaitable<Response> route_readyz(const HandlerContext& ctx, Request) { co_return handle_readyz(ctx); }
asio::awaitable<Response> route_config(const HandlerContext& ctx, Request req) {
  co_return handle_config(ctx, std::move(req));
}

constexpr std::string_view kReadParams = "consistency,consistent,at";

constexpr Route kRoutes[] = {
    {"/v1/kv", kGet, handle_kv_scan, "start,end,prefix,limit,encoding,reverse,consistency,consistent"},
    {"/v1/batch", kPost, handle_batch, "sync"},
    {"/v1/trace", kGet, handle_trace, "key,at"},
    {"/v1/config", kGet | kPost, route_config, ""},
    {"/v1/admin/flush", kPost, handle_flush, ""},
    {"/v1/admin/compact", kPost, handle_compact, ""},
    {"/v1/admin/checkpoint", kPost, handle_checkpoint, ""},
    {"/v1/stats", kGet, route_stats, ""},
    {"/stats", kGet, route_stats, ""},
    {"/metrics", kGet, route_metrics, ""},
    {"/status", kGet, route_status, ""},
    {"/v1/status", kGet, route_status, ""},
    {"/health", kGet, route_health, ""},
    {"/readyz", kGet, route_readyz, ""},
    // TinyLSM's API.
    {"/set", kPost, handle_tiny_set, ""},
    {"/delete", kPost, handle_tiny_delete, ""},
    {"/get", kGet, handle_tiny_get, "key,consistency,consistent,at"},
    {"/add_node", kPost, handle_tiny_add_node, ""},
    {"/remove_node", kPost, handle_tiny_remove_node, ""},
    {"/v1/cluster/members", kGet | kPost | kDelete, handle_members, "id"},
};

// Unknown query parameters are refused, never ignored (`PUT /v1/kv/k?cas=1` must not overwrite as
// if the condition had been checked): 400 bad_query naming the first one and what the endpoint
// takes. nullopt when every parameter is in `allowed` (comma-separated).
std::optional<Response> refuse_unknown_query(const Request& req, std::string_view allowed, std::string_view endpoint) {
  for (const auto& [name, value] : req.query) {
    bool known = false;
    for (size_t at = 0; at <= allowed.size() && !known && !allowed.empty();) {
      size_t comma = allowed.find(',', at);
      if (comma == std::string_view::npos) comma = allowed.size();
      known = allowed.substr(at, comma - at) == name;
      at = comma + 1;
    }
    if (known) continue;
    std::string takes = allowed.empty() ? std::string("no query parameters") : "only " + std::string(allowed);
    return error_response(400, "bad_query",
                          "unknown query parameter '" + name + "': " + std::string(endpoint) + " takes " + takes);
  }
  return std::nullopt;
}

const Route* find_route(std::string_view path) {
  for (const Route& r : kRoutes) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

// What a node removed from the cluster still answers: how it is doing, and where the cluster is.
bool served_when_removed(const Request& req) {
  constexpr std::string_view kPaths[] = {"/status",  "/v1/status",          "/v1/stats", "/stats",
                                         "/metrics", "/v1/cluster/members", "/health",   "/readyz"};
  return is_get(req.method) && std::find(std::begin(kPaths), std::end(kPaths), req.path) != std::end(kPaths);
}

}  // namespace

std::optional<RequestOp> Router::timed_op(const Request& req) {
  const std::string& path = req.path;
  if (path.starts_with(kKvPrefix)) {
    if (is_get(req.method)) return RequestOp::get;
    if (req.method == Method::put) return RequestOp::put;
    if (req.method == Method::del) return RequestOp::del;
    if (req.method == Method::post) return RequestOp::multi_get;
    return std::nullopt;
  }
  if (path == "/v1/kv") return RequestOp::scan;
  if (path == "/v1/batch") return RequestOp::batch;
  if (path == "/get") return RequestOp::get;
  if (path == "/set") return RequestOp::put;
  if (path == "/delete") return RequestOp::del;
  return std::nullopt;
}

asio::awaitable<Response> Router::handle(Request req) const {
  HandlerContext ctx{kv_, node_, limits_};
  if (kv_.removed() && !served_when_removed(req)) co_return node_removed_response(ctx);
  if (req.body.size() > limits_.max_body_bytes) {
    co_return error_response(413, "body_too_large",
                             "request body exceeds " + std::to_string(limits_.max_body_bytes) + " bytes");
  }
  const std::string& path = req.path;

  if (path.starts_with(kKvPrefix)) {
    auto key = percent_decode(std::string_view(path).substr(kKvPrefix.size()), false);
    if (!key) co_return error_response(400, "bad_key", "malformed percent-encoding in the key");
    if (key->empty()) co_return error_response(400, "bad_key", "the key must not be empty");
    if (key->size() > limits_.max_key_bytes) {
      co_return error_response(413, "key_too_large", "key exceeds " + std::to_string(limits_.max_key_bytes) + " bytes");
    }
    if (is_get(req.method)) {
      if (auto refused = refuse_unknown_query(req, kReadParams, "GET /v1/kv/{key}")) co_return std::move(*refused);
      Response r = co_await handle_kv_get(ctx, std::move(*key), std::move(req));
      co_return r;
    }
    if (req.method == Method::put) {
      if (auto refused = refuse_unknown_query(req, "sync", "PUT /v1/kv/{key}")) co_return std::move(*refused);
      Response r = co_await handle_kv_put(ctx, std::move(*key), std::move(req));
      co_return r;
    }
    if (req.method == Method::del) {
      if (auto refused = refuse_unknown_query(req, "sync", "DELETE /v1/kv/{key}")) co_return std::move(*refused);
      Response r = co_await handle_kv_delete(ctx, std::move(*key), std::move(req));
      co_return r;
    }
    // The key "multi-get" is still read, written and deleted as any other; only POST means the
    // batched read.
    if (req.method == Method::post && *key == kMultiGetName) {
      Response r = co_await handle_kv_multi_get(ctx, std::move(req));
      co_return r;
    }
    co_return method_not_allowed(req, "GET, HEAD, PUT, DELETE");
  }
  if (const Route* route = find_route(path)) {
    if (!route->allows(req.method)) co_return method_not_allowed(req, route->allow_header());
    if (auto refused = refuse_unknown_query(req, route->params, route->path)) co_return std::move(*refused);
    Response r = co_await route->handler(ctx, std::move(req));
    co_return r;
  }
  if (fault_hooks_ && path == "/v1/debug/link-fault") {
    if (!is_get(req.method) && req.method != Method::post) co_return method_not_allowed(req, "GET, HEAD, POST");
    if (auto refused = refuse_unknown_query(req, "", path)) co_return std::move(*refused);
    co_return handle_debug_link_fault(*fault_hooks_, std::move(req));
  }
  co_return error_response(404, "route_not_found", "no endpoint at " + req.path);
}

}  // namespace strata::net::http
