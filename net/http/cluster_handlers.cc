// Cluster endpoints: GET /status in a cluster, GET/POST/DELETE /v1/cluster/members, and TinyLSM's
// POST /add_node and POST /remove_node (see docs/http_api.md). Membership changes go to the
// leader; on another node they answer 503 not_leader with the leader's id and URL.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

#include "net/http/handlers.h"

namespace strata::net::http {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

json::object leader_json(const replication::ClusterStatus& s) {
  json::object l;
  l["id"] = s.leader_id;
  l["url"] = s.leader_url;
  return l;
}

json::array members_json(const replication::ClusterStatus& s) {
  json::array members;
  for (const auto& m : s.members) {
    json::object o;
    o["id"] = m.id;
    o["role"] = m.voter ? "voter" : "learner";
    o["peer_address"] = m.peer_address;
    o["url"] = m.url;
    if (s.role == "leader") o["match_index"] = m.match_index;
    members.push_back(std::move(o));
  }
  return members;
}

std::optional<replication::ClusterStatus> cluster_or_error(const HandlerContext& ctx, Response* error) {
  auto s = ctx.kv.cluster_status();
  if (!s) *error = error_response(400, "not_a_cluster", "this node runs without --peers (single node)");
  return s;
}

// The body as a JSON object; nullopt and *error on failure.
std::optional<json::object> object_body(const Request& req, Response* error) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec || !v.is_object()) {
    *error = error_response(400, "bad_json", "the body must be a JSON object");
    return std::nullopt;
  }
  return v.get_object();
}

std::optional<uint64_t> id_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() > 0) return static_cast<uint64_t>(v->get_int64());
  if (v->is_string()) {
    std::string_view s = v->get_string();
    uint64_t id = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
    if (ec == std::errc() && p == s.data() + s.size() && id > 0) return id;
  }
  return std::nullopt;
}

std::string string_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

Response membership_error(const HandlerContext& ctx, ErrorCode ec) {
  if (ec == make_error_code(Errc::not_leader)) {
    json::object o;
    o["error"] = "membership changes go to the leader";
    o["code"] = "not_leader";
    if (auto s = ctx.kv.cluster_status()) o["leader"] = leader_json(*s);
    return json_response(503, json::serialize(o));
  }
  if (ec == make_error_code(Errc::busy)) return error_response(409, "busy", "another membership change is pending");
  if (ec == make_error_code(Errc::invalid_argument)) {
    return error_response(400, "invalid_member", "no such member, already a member, or the last voter");
  }
  return db_error_response(ctx, ec, true);
}

asio::awaitable<Response> add(const HandlerContext& ctx, uint64_t id, std::string peer_address) {
  auto r = co_await ctx.kv.add_member(id, std::move(peer_address));
  if (!r) co_return membership_error(ctx, r.error());
  auto s = ctx.kv.cluster_status();
  json::object o{{"ok", true}, {"id", id}};
  if (s) o["members"] = members_json(*s);
  co_return json_response(200, json::serialize(o));
}

asio::awaitable<Response> remove(const HandlerContext& ctx, uint64_t id) {
  auto r = co_await ctx.kv.remove_member(id);
  if (!r) co_return membership_error(ctx, r.error());
  auto s = ctx.kv.cluster_status();
  json::object o{{"ok", true}, {"id", id}};
  if (s) o["members"] = members_json(*s);
  co_return json_response(200, json::serialize(o));
}

}  // namespace

std::string cluster_status_json(const replication::ClusterStatus& s, const NodeInfo& node) {
  json::object o;
  o["node_id"] = s.node_id;
  o["role"] = s.role;
  o["leader"] = leader_json(s);
  o["term"] = s.term;
  o["commit_index"] = s.commit_index;
  o["applied_index"] = s.applied_index;
  o["snapshot_index"] = s.snapshot_index;
  o["first_log_index"] = s.first_log_index;
  o["members"] = members_json(s);
  o["removed"] = s.removed;
  o["version"] = node.version;
  o["sync_policy"] = node.sync_policy;
  o["security"] = security_json(node);
  return json::serialize(o);
}

Response node_removed_response(const HandlerContext& ctx) {
  json::object o;
  o["error"] =
      "this node was removed from the cluster by a membership change and serves no requests; send them to a member";
  o["code"] = "node_removed";
  if (auto s = ctx.kv.cluster_status()) o["members"] = members_json(*s);
  return json_response(503, json::serialize(o));
}

asio::awaitable<Response> handle_members(const HandlerContext& ctx, Request req) {
  Response err;
  auto s = cluster_or_error(ctx, &err);
  if (!s) co_return err;
  if (req.method == Method::get || req.method == Method::head) {
    json::object o{{"leader", leader_json(*s)}, {"members", members_json(*s)}};
    co_return json_response(200, json::serialize(o));
  }
  if (req.method == Method::del) {
    std::optional<uint64_t> id;
    if (auto q = req.find_query("id")) {
      json::object tmp{{"id", *q}};
      id = id_field(tmp, "id");
    } else if (!req.body.empty()) {
      auto body = object_body(req, &err);
      if (!body) co_return err;
      id = id_field(*body, "id");
    }
    if (!id) co_return error_response(400, "missing_field", "give the member's id (?id=N or {\"id\": N})");
    Response r = co_await remove(ctx, *id);
    co_return r;
  }
  auto body = object_body(req, &err);
  if (!body) co_return err;
  auto id = id_field(*body, "id");
  std::string peer = string_field(*body, "peer_address");
  if (!id || peer.empty()) {
    co_return error_response(400, "missing_field", "expected {\"id\": N, \"peer_address\": \"host:port\"}");
  }
  Response r = co_await add(ctx, *id, std::move(peer));
  co_return r;
}

asio::awaitable<Response> handle_tiny_add_node(const HandlerContext& ctx, Request req) {
  Response err;
  auto s = cluster_or_error(ctx, &err);
  if (!s) co_return err;
  auto body = object_body(req, &err);
  if (!body) co_return err;
  // TinyLSM identifies a node by its URL only; Strata also needs its Raft id and peer address.
  auto id = id_field(*body, "node_id");
  std::string peer = string_field(*body, "peer_address");
  if (string_field(*body, "node_url").empty() || !id || peer.empty()) {
    co_return error_response(
        400, "missing_field",
        "expected {\"node_url\": \"http://host:port\", \"node_id\": N, \"peer_address\": \"host:port\"}");
  }
  Response r = co_await add(ctx, *id, std::move(peer));
  co_return r;
}

asio::awaitable<Response> handle_tiny_remove_node(const HandlerContext& ctx, Request req) {
  Response err;
  auto s = cluster_or_error(ctx, &err);
  if (!s) co_return err;
  auto body = object_body(req, &err);
  if (!body) co_return err;
  std::optional<uint64_t> id = id_field(*body, "node_id");
  std::string url = string_field(*body, "node_url");
  if (!id && !url.empty()) {
    for (const auto& m : s->members) {
      if (m.url == url) id = m.id;
    }
  }
  if (!id) co_return error_response(404, "unknown_node", "no member has node_url '" + url + "'");
  Response r = co_await remove(ctx, *id);
  co_return r;
}

}  // namespace strata::net::http
