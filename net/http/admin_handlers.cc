// The admin API: GET /v1/trace, GET|POST /v1/config, POST /v1/admin/flush and
// POST /v1/admin/compact (see router.h and docs/http_api.md). Every call acts on this node's DB.
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <optional>

#include "net/http/handlers.h"
#include "net/http/json_codec.h"

namespace strata::net::http {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

uint64_t micros_since(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
}

// Parses a JSON object body; an empty body counts as {} when `empty_ok`. nullopt (with *error a
// 400) otherwise.
std::optional<json::object> object_body(const Request& req, bool empty_ok, Response* error) {
  if (empty_ok && req.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object{};
  boost::system::error_code ec;
  json::value doc = json::parse(req.body, ec);
  if (ec) {
    *error = error_response(400, "bad_json", "malformed JSON: " + ec.message());
    return std::nullopt;
  }
  if (!doc.is_object()) {
    *error = error_response(400, "bad_json", "the body must be a JSON object");
    return std::nullopt;
  }
  return std::move(doc.as_object());
}

// The per-level file counts, as GET /v1/stats's sstables_per_level.
json::array files_per_level(const DbStats& s) {
  json::array a;
  for (const auto& l : s.levels) a.push_back(l.file_count);
  return a;
}

}  // namespace

asio::awaitable<Response> handle_trace(const HandlerContext& ctx, Request req) {
  auto key = req.find_query("key");
  if (!key) co_return error_response(400, "bad_query", "missing query parameter 'key'");
  if (key->empty()) co_return error_response(400, "bad_key", "the key must not be empty");
  if (key->size() > ctx.limits.max_key_bytes) {
    co_return error_response(413, "key_too_large",
                             "key exceeds " + std::to_string(ctx.limits.max_key_bytes) + " bytes");
  }
  std::optional<uint64_t> at;
  Response err;
  if (!sequence_of(req, &at, &err)) co_return err;
  auto trace = co_await ctx.kv.trace(std::string(*key), at);
  if (!trace) co_return at ? read_at_error_response(ctx, trace.error(), *at) : db_error_response(ctx, trace.error());
  co_return json_response(200, json::serialize(trace_to_json(*trace)));
}

Response handle_config(const HandlerContext& ctx, Request req) {
  if (req.method == Method::post) {
    Response err;
    auto body = object_body(req, false, &err);
    if (!body) return err;
    const json::value* name = body->if_contains("name");
    const json::value* value = body->if_contains("value");
    if (!name || !name->is_string()) return error_response(400, "missing_field", "field \"name\" must be a string");
    std::string text;
    if (value && value->is_string()) {
      text = value->get_string();
    } else if (value && value->is_uint64()) {
      text = std::to_string(value->get_uint64());
    } else if (value && value->is_int64()) {
      text = std::to_string(value->get_int64());
    } else {
      return error_response(400, "missing_field", "field \"value\" must be a string or an integer");
    }
    std::string why;
    auto set = ctx.kv.set_option(name->get_string(), text, &why);
    if (!set) {
      if (set.error() == make_error_code(Errc::invalid_argument)) {
        return error_response(400, "invalid_option", why.empty() ? set.error().message() : why);
      }
      return db_error_response(ctx, set.error());
    }
  }
  json::object out = options_to_json(ctx.kv.option_list());
  json::array server;
  for (const ServerSetting& s : ctx.node.server_config) {
    server.push_back(json::object{{"name", s.name}, {"value", s.value}, {"source", s.source}});
  }
  out["server"] = std::move(server);
  return json_response(200, json::serialize(out));
}

asio::awaitable<Response> handle_flush(const HandlerContext& ctx, Request) {
  auto start = std::chrono::steady_clock::now();
  auto r = co_await ctx.kv.flush();
  if (!r) co_return db_error_response(ctx, r.error());
  DbStats s = ctx.kv.stats();
  json::object o{{"ok", true},
                 {"micros", micros_since(start)},
                 {"sstable_count", s.sstable_count},
                 {"sstables_per_level", files_per_level(s)},
                 {"memtable_keys", s.memtable_keys}};
  co_return json_response(200, json::serialize(o));
}

asio::awaitable<Response> handle_compact(const HandlerContext& ctx, Request req) {
  Response err;
  auto body = object_body(req, true, &err);
  if (!body) co_return err;
  std::string bounds[2];
  const char* names[2] = {"start", "end"};
  for (int i = 0; i < 2; ++i) {
    const json::value* v = body->if_contains(names[i]);
    if (!v || v->is_null()) continue;
    if (!v->is_string()) {
      co_return error_response(400, "missing_field", std::string("field \"") + names[i] + "\" must be a string");
    }
    bounds[i] = v->get_string();
    if (bounds[i].size() > ctx.limits.max_key_bytes) {
      co_return error_response(
          413, "key_too_large",
          std::string(names[i]) + " exceeds " + std::to_string(ctx.limits.max_key_bytes) + " bytes");
    }
  }
  if (!bounds[0].empty() && !bounds[1].empty() && bounds[0] > bounds[1]) {
    co_return error_response(400, "bad_request", "start must not be greater than end");
  }
  auto start = std::chrono::steady_clock::now();
  auto r = co_await ctx.kv.compact_range(bounds[0], bounds[1]);
  if (!r) co_return db_error_response(ctx, r.error());
  DbStats s = ctx.kv.stats();
  json::object o{{"ok", true},
                 {"start", bounds[0]},
                 {"end", bounds[1]},
                 {"micros", micros_since(start)},
                 {"sstable_count", s.sstable_count},
                 {"sstables_per_level", files_per_level(s)}};
  co_return json_response(200, json::serialize(o));
}

asio::awaitable<Response> handle_checkpoint(const HandlerContext& ctx, Request req) {
  if (ctx.node.backup_dir.empty()) {
    co_return error_response(501, "not_supported",
                             "checkpoints are off: start strata-server with --backup-dir DIR to allow them");
  }
  Response err;
  auto body = object_body(req, false, &err);
  if (!body) co_return err;
  for (const auto& field : *body) {
    if (field.key() != "name") {
      co_return error_response(400, "bad_request", "unknown field '" + std::string(field.key()) + "'");
    }
  }
  const json::value* v = body->if_contains("name");
  if (v == nullptr || !v->is_string())
    co_return error_response(400, "missing_field", "field \"name\" must be a string");
  std::string name(v->get_string());
  // A name, not a path: it cannot leave backup_dir.
  bool valid = !name.empty() && name.size() <= 128 && name != "." && name != "..";
  for (char c : name)
    valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  if (!valid) {
    co_return error_response(400, "bad_request",
                             "name must be 1-128 characters of letters, digits, '.', '_' and '-' (not . or ..)");
  }
  std::string dir = ctx.node.backup_dir + "/" + name;
  std::error_code fs_ec;
  if (std::filesystem::exists(dir, fs_ec)) {
    co_return error_response(409, "already_exists", "a checkpoint named '" + name + "' exists already");
  }
  auto start = std::chrono::steady_clock::now();
  auto r = co_await ctx.kv.checkpoint(dir);
  if (!r && r.error() == make_error_code(Errc::not_supported)) {
    co_return error_response(501, "not_supported", "this node cannot make checkpoints");
  }
  if (!r) co_return db_error_response(ctx, r.error());
  json::object o{{"ok", true}, {"name", name}, {"dir", dir}, {"sequence", *r}, {"micros", micros_since(start)}};
  co_return json_response(200, json::serialize(o));
}

}  // namespace strata::net::http
