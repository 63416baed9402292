// The TinyLSM-compatible API: POST /set, POST /delete, GET /get[?at=SEQ], GET /status (see router.h).
// TinyLSM carries keys and values as JSON strings, so only valid UTF-8 round-trips here; the
// native API carries arbitrary bytes.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <optional>

#include "strata/db.h"
#include "net/http/handlers.h"
#include "net/http/json_codec.h"

namespace strata::net::http {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view kOk = R"({"ok":true})";

// Parses a JSON object body and extracts its string fields `names`. On failure returns nullopt
// and sets *error to the 400 answer.
std::optional<std::vector<std::string>> string_fields(const Request& req, std::initializer_list<std::string_view> names,
                                                      Response* error) {
  boost::system::error_code ec;
  json::value doc = json::parse(req.body, ec);
  if (ec) {
    *error = error_response(400, "bad_json", "malformed JSON: " + ec.message());
    return std::nullopt;
  }
  const json::object* o = doc.if_object();
  if (!o) {
    *error = error_response(400, "bad_json", "the body must be a JSON object");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (std::string_view name : names) {
    const json::value* v = o->if_contains(name);
    if (!v || !v->is_string()) {
      *error = error_response(400, "missing_field", "field \"" + std::string(name) + "\" must be a string");
      return std::nullopt;
    }
    out.emplace_back(v->get_string());
  }
  return out;
}

std::optional<Response> check_key(const HandlerContext& ctx, const std::string& key) {
  if (key.empty()) return error_response(400, "bad_key", "the key must not be empty");
  if (key.size() > ctx.limits.max_key_bytes) {
    return error_response(413, "key_too_large", "key exceeds " + std::to_string(ctx.limits.max_key_bytes) + " bytes");
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<Response> handle_tiny_set(const HandlerContext& ctx, Request req) {
  Response err;
  auto fields = string_fields(req, {"key", "value"}, &err);
  if (!fields) co_return err;
  if (auto bad = check_key(ctx, (*fields)[0])) co_return *bad;
  if ((*fields)[1].size() > ctx.limits.max_value_bytes) {
    co_return error_response(413, "value_too_large",
                             "value exceeds " + std::to_string(ctx.limits.max_value_bytes) + " bytes");
  }
  WriteBatch batch;
  batch.put((*fields)[0], (*fields)[1]);
  auto seq = co_await ctx.kv.write(std::move(batch), WriteOptions{});
  if (!seq) co_return db_error_response(ctx, seq.error(), true);
  co_return json_response(200, std::string(kOk));
}

asio::awaitable<Response> handle_tiny_delete(const HandlerContext& ctx, Request req) {
  Response err;
  auto fields = string_fields(req, {"key"}, &err);
  if (!fields) co_return err;
  if (auto bad = check_key(ctx, (*fields)[0])) co_return *bad;
  WriteBatch batch;
  batch.del((*fields)[0]);
  auto seq = co_await ctx.kv.write(std::move(batch), WriteOptions{});
  if (!seq) co_return db_error_response(ctx, seq.error(), true);
  co_return json_response(200, std::string(kOk));
}

asio::awaitable<Response> handle_tiny_get(const HandlerContext& ctx, Request req) {
  auto key = req.find_query("key");
  if (!key) co_return error_response(400, "bad_query", "missing query parameter 'key'");
  Response err;
  auto consistency = read_consistency_of(req, &err);
  if (!consistency) co_return err;
  std::string k(*key);
  if (auto bad = check_key(ctx, k)) co_return *bad;
  std::optional<uint64_t> at;
  if (!sequence_of(req, &at, &err)) co_return err;
  Result<std::optional<std::string>> got = at ? co_await ctx.kv.get_at(k, *at) : co_await ctx.kv.get(k, *consistency);
  if (!got) co_return at ? read_at_error_response(ctx, got.error(), *at) : db_error_response(ctx, got.error());
  json::object o;
  put_key_value(o, k, *got, false);
  co_return json_response(200, json::serialize(o));
}

Response handle_status(const HandlerContext& ctx) {
  if (auto cs = ctx.kv.cluster_status()) return json_response(200, cluster_status_json(*cs, ctx.node));
  DbStats s = ctx.kv.stats();
  json::object o;
  o["role"] = ctx.node.role;
  o["node_id"] = ctx.node.node_id;
  o["sync_policy"] = ctx.node.sync_policy;
  o["last_sequence"] = ctx.kv.latest_sequence();
  o["read_only"] = s.read_only;
  if (s.read_only) o["read_only_reason"] = s.read_only_reason;
  o["version"] = ctx.node.version;
  o["replication"] = "none (single node)";
  o["security"] = security_json(ctx.node);
  return json_response(200, json::serialize(o));
}

json::object security_json(const NodeInfo& node) {
  json::array warnings;
  for (const std::string& w : node.security.warnings) warnings.emplace_back(w);
  return json::object{{"tls", node.security.tls},
                      {"client_auth", node.security.client_auth},
                      {"peer_auth", node.security.peer_auth},
                      {"warnings", std::move(warnings)}};
}

}  // namespace strata::net::http
