// The native API: /v1/kv, /v1/batch, /v1/stats, /metrics (see router.h for the contract).
// GET /v1/kv/{key}?at=SEQ reads as of a sequence number; GET /v1/kv?reverse=true scans backward.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <optional>

#include "strata/db.h"
#include "lib/util/key_prefix.h"
#include "net/http/handlers.h"
#include "net/http/json_codec.h"
#include "net/http/process_metrics.h"

namespace strata::net::http {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// {"ok":true,"sequence":N}: every acknowledged write answers this, so it is formatted directly
// (the same text json::serialize gives for that object, without building one).
std::string ok_with_sequence(SequenceNumber seq) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, seq);
  (void)ec;  // 24 digits hold any uint64_t
  std::string out = "{\"ok\":true,\"sequence\":";
  out.append(digits, end);
  out.push_back('}');
  return out;
}

// Parses ?sync=always|batch|none into WriteOptions. nullopt (after setting *error) when invalid.
std::optional<WriteOptions> write_options_from(const Request& req, Response* error) {
  WriteOptions wo;
  if (auto s = req.find_query("sync")) {
    wo.sync = parse_sync_policy(*s);
    if (!wo.sync) {
      *error = error_response(400, "bad_query", "sync must be always, batch or none");
      return std::nullopt;
    }
  }
  return wo;
}

// Reads a key or value field of a batch op: a JSON string, base64-decoded when `base64`.
std::optional<std::string> bytes_field(const json::object& op, std::string_view name, bool base64) {
  const json::value* v = op.if_contains(name);
  if (!v || !v->is_string()) return std::nullopt;
  std::string_view s = v->get_string();
  if (base64) return base64_decode(s);
  return std::string(s);
}

}  // namespace

asio::awaitable<Response> handle_kv_get(const HandlerContext& ctx, std::string key, Request req) {
  Response err;
  auto consistency = read_consistency_of(req, &err);
  if (!consistency) co_return err;
  std::optional<uint64_t> at;
  if (!sequence_of(req, &at, &err)) co_return err;
  Result<std::optional<std::string>> got =
      at ? co_await ctx.kv.get_at(std::move(key), *at) : co_await ctx.kv.get(std::move(key), *consistency);
  if (!got) co_return at ? read_at_error_response(ctx, got.error(), *at) : db_error_response(ctx, got.error());
  if (!*got) co_return error_response(404, "not_found", "key not found");
  Response r;
  r.status = 200;
  r.content_type = kContentTypeOctets;
  r.body = std::move(**got);
  co_return r;
}

asio::awaitable<Response> handle_kv_multi_get(const HandlerContext& ctx, Request req) {
  Response err;
  for (const auto& [name, value] : req.query) {
    if (name != "consistency" && name != "consistent") {
      co_return error_response(400, "bad_query", "unknown query parameter '" + name + "'");
    }
  }
  auto consistency = read_consistency_of(req, &err);
  if (!consistency) co_return err;
  boost::system::error_code ec;
  json::value doc = json::parse(req.body, ec);
  if (ec) co_return error_response(400, "bad_json", "malformed JSON: " + ec.message());
  // Either a bare list of keys, or {"keys": [...], "encoding": "base64"|"utf8"}.
  const json::array* list = doc.if_array();
  bool base64 = false;
  if (const json::object* root = doc.if_object()) {
    for (const auto& field : *root) {
      if (field.key() != "keys" && field.key() != "encoding") {
        co_return error_response(400, "bad_request", "unknown field '" + std::string(field.key()) + "'");
      }
    }
    if (const json::value* enc = root->if_contains("encoding")) {
      if (!enc->is_string() || (enc->get_string() != "base64" && enc->get_string() != "utf8")) {
        co_return error_response(400, "bad_request", "encoding must be \"base64\" or \"utf8\"");
      }
      base64 = enc->get_string() == "base64";
    }
    if (const json::value* keys = root->if_contains("keys")) list = keys->if_array();
  }
  if (list == nullptr) {
    co_return error_response(400, "missing_field", "expected a JSON list of keys, or {\"keys\": [...]}");
  }
  if (list->size() > ctx.limits.max_multi_get_keys) {
    co_return error_response(413, "too_many_keys",
                             "a multi-get reads at most " + std::to_string(ctx.limits.max_multi_get_keys) + " keys");
  }
  std::vector<std::string> keys;
  keys.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    const json::string* k = (*list)[i].if_string();
    std::string where = "keys[" + std::to_string(i) + "]";
    if (k == nullptr) co_return error_response(400, "bad_request", where + " must be a string");
    std::optional<std::string> key = std::string(*k);
    if (base64) key = base64_decode(*k);
    if (!key) co_return error_response(400, "bad_request", where + " is not valid base64");
    if (key->empty()) co_return error_response(400, "bad_key", where + " must not be empty");
    if (key->size() > ctx.limits.max_key_bytes) {
      co_return error_response(413, "key_too_large",
                               where + " exceeds " + std::to_string(ctx.limits.max_key_bytes) + " bytes");
    }
    keys.push_back(std::move(*key));
  }
  auto got = co_await ctx.kv.multi_get(keys, *consistency);
  if (!got) co_return db_error_response(ctx, got.error());
  json::array items;
  items.reserve(keys.size());
  size_t found = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    json::object item;
    found += (*got)[i].has_value() ? 1 : 0;
    put_key_value(item, keys[i], (*got)[i], base64);
    items.push_back(std::move(item));
  }
  json::object o;
  o["count"] = items.size();
  o["found"] = found;
  o["items"] = std::move(items);
  co_return json_response(200, json::serialize(o));
}

asio::awaitable<Response> handle_kv_put(const HandlerContext& ctx, std::string key, Request req) {
  if (req.body.size() > ctx.limits.max_value_bytes) {
    co_return error_response(413, "value_too_large",
                             "value exceeds " + std::to_string(ctx.limits.max_value_bytes) + " bytes");
  }
  Response err;
  auto wo = write_options_from(req, &err);
  if (!wo) co_return err;
  WriteBatch batch;
  batch.put(key, req.body);
  auto seq = co_await ctx.kv.write(std::move(batch), *wo);
  if (!seq) co_return db_error_response(ctx, seq.error(), true);
  co_return json_response(200, ok_with_sequence(*seq));
}

asio::awaitable<Response> handle_kv_delete(const HandlerContext& ctx, std::string key, Request req) {
  Response err;
  auto wo = write_options_from(req, &err);
  if (!wo) co_return err;
  WriteBatch batch;
  batch.del(key);
  auto seq = co_await ctx.kv.write(std::move(batch), *wo);
  if (!seq) co_return db_error_response(ctx, seq.error(), true);
  co_return json_response(200, ok_with_sequence(*seq));
}

asio::awaitable<Response> handle_kv_scan(const HandlerContext& ctx, Request req) {
  std::string start;
  std::string end;
  size_t limit = ctx.limits.default_scan_limit;
  bool force_base64 = false;
  bool reverse = false;
  auto consistency = replication::ReadConsistency::linearizable;
  for (const auto& [name, value] : req.query) {
    if (name == "start") {
      start = value;
    } else if (name == "end") {
      end = value;
    } else if (name == "prefix") {
      // Intersect [start, end) with the prefix's range [prefix, successor).
      if (value > start) start = value;
      std::string succ = prefix_successor(value);
      if (!succ.empty() && (end.empty() || succ < end)) end = std::move(succ);
    } else if (name == "limit") {
      size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || n == 0 || n > ctx.limits.max_scan_limit) {
        co_return error_response(400, "bad_query",
                                 "limit must be an integer from 1 to " + std::to_string(ctx.limits.max_scan_limit));
      }
      limit = n;
    } else if (name == "encoding") {
      if (value == "base64") {
        force_base64 = true;
      } else if (value != "utf8" && !value.empty()) {
        co_return error_response(400, "bad_query", "encoding must be base64 or utf8");
      }
    } else if (name == "reverse") {
      if (value == "true" || value == "1" || value.empty()) {
        reverse = true;
      } else if (value == "false" || value == "0") {
        reverse = false;
      } else {
        co_return error_response(400, "bad_query", "reverse must be true or false");
      }
    } else if (name == "consistency") {
      // Single node: every read is linearizable; both values are accepted.
      if (value != "linearizable" && value != "stale") {
        co_return error_response(400, "bad_query", "consistency must be linearizable or stale");
      }
      if (value == "stale") consistency = replication::ReadConsistency::stale;
    } else {
      co_return error_response(400, "bad_query", "unknown query parameter '" + name + "'");
    }
  }
  // Ask for one more than the limit to report whether the range holds more.
  if (!end.empty() && start >= end) {
    json::object o{{"items", json::array()}, {"count", 0}, {"truncated", false}};
    co_return json_response(200, json::serialize(o));
  }
  auto rows = co_await ctx.kv.scan(replication::ScanOptions{start, end, limit + 1, reverse, consistency});
  if (!rows) co_return db_error_response(ctx, rows.error());
  bool truncated = rows->size() > limit;
  if (truncated) rows->resize(limit);
  // The next page: the same range past the last key returned (forward: from the smallest key
  // after it; reverse: below it, the end bound being exclusive).
  std::string next;
  if (truncated && !rows->empty()) {
    if (reverse) {
      end = rows->back().key;
    } else {
      start = rows->back().key;
      start.push_back('\0');
    }
    next = "/v1/kv?start=" + percent_encode(start);
    if (!end.empty()) next += "&end=" + percent_encode(end);
    next += "&limit=" + std::to_string(limit);
    if (reverse) next += "&reverse=true";
    if (force_base64) next += "&encoding=base64";
    if (consistency == replication::ReadConsistency::stale) next += "&consistency=stale";
  }
  json::array items;
  items.reserve(rows->size());
  for (auto& kv : *rows) {
    json::object item;
    std::optional<std::string> value(std::move(kv.value));
    put_key_value(item, kv.key, value, force_base64);
    items.push_back(std::move(item));
  }
  json::object o;
  o["count"] = items.size();
  o["items"] = std::move(items);
  o["truncated"] = truncated;
  if (truncated) o["next"] = next;
  co_return json_response(200, json::serialize(o));
}

asio::awaitable<Response> handle_batch(const HandlerContext& ctx, Request req) {
  boost::system::error_code ec;
  json::value doc = json::parse(req.body, ec);
  if (ec) co_return error_response(400, "bad_json", "malformed JSON: " + ec.message());
  const json::object* root = doc.if_object();
  const json::value* ops_v = root ? root->if_contains("ops") : nullptr;
  if (!ops_v || !ops_v->is_array()) {
    co_return error_response(400, "missing_field", "expected {\"ops\": [...]}");
  }
  const json::array& ops = ops_v->get_array();
  if (ops.size() > ctx.limits.max_batch_ops) {
    co_return error_response(413, "batch_too_large",
                             "a batch holds at most " + std::to_string(ctx.limits.max_batch_ops) + " ops");
  }
  bool all_base64 = false;
  if (const json::value* enc = root->if_contains("encoding")) {
    if (!enc->is_string() || (enc->get_string() != "base64" && enc->get_string() != "utf8")) {
      co_return error_response(400, "bad_request", "encoding must be \"base64\" or \"utf8\"");
    }
    all_base64 = enc->get_string() == "base64";
  }
  WriteBatch batch;
  for (size_t i = 0; i < ops.size(); ++i) {
    std::string where = "ops[" + std::to_string(i) + "]";
    const json::object* op = ops[i].if_object();
    if (!op) co_return error_response(400, "bad_request", where + " must be an object");
    bool base64 = all_base64;
    if (const json::value* enc = op->if_contains("encoding")) {
      if (!enc->is_string() || (enc->get_string() != "base64" && enc->get_string() != "utf8")) {
        co_return error_response(400, "bad_request", where + ".encoding must be \"base64\" or \"utf8\"");
      }
      base64 = enc->get_string() == "base64";
    }
    const json::value* kind = op->if_contains("op");
    if (!kind || !kind->is_string()) co_return error_response(400, "missing_field", where + ".op must be a string");
    auto key = bytes_field(*op, "key", base64);
    if (!key)
      co_return error_response(400, "missing_field", where + ".key must be a string" + (base64 ? " (base64)" : ""));
    if (key->empty()) co_return error_response(400, "bad_key", where + ".key must not be empty");
    if (key->size() > ctx.limits.max_key_bytes) {
      co_return error_response(413, "key_too_large",
                               where + ".key exceeds " + std::to_string(ctx.limits.max_key_bytes) + " bytes");
    }
    if (kind->get_string() == "put") {
      auto value = bytes_field(*op, "value", base64);
      if (!value)
        co_return error_response(400, "missing_field", where + ".value must be a string" + (base64 ? " (base64)" : ""));
      if (value->size() > ctx.limits.max_value_bytes) {
        co_return error_response(413, "value_too_large",
                                 where + ".value exceeds " + std::to_string(ctx.limits.max_value_bytes) + " bytes");
      }
      batch.put(*key, *value);
    } else if (kind->get_string() == "delete" || kind->get_string() == "del") {
      batch.del(*key);
    } else {
      co_return error_response(400, "bad_request", where + ".op must be \"put\" or \"delete\"");
    }
  }
  uint32_t count = batch.count();
  if (count == 0) co_return json_response(200, R"({"ok":true,"count":0})");
  Response err;
  auto wo = write_options_from(req, &err);
  if (!wo) co_return err;
  auto seq = co_await ctx.kv.write(std::move(batch), *wo);
  if (!seq) co_return db_error_response(ctx, seq.error(), true);
  json::object o{{"ok", true}, {"count", count}, {"sequence", *seq}};
  co_return json_response(200, json::serialize(o));
}

Response handle_stats(const HandlerContext& ctx) {
  json::object o = stats_to_json(ctx.kv.stats());
  o["node_id"] = ctx.node.node_id;
  if (auto cs = ctx.kv.cluster_status()) {
    json::object rep = replication_stats_to_json(cs->stats);
    rep["transport"] = transport_stats_to_json(cs->transport);
    o["replication"] = std::move(rep);
  }
  if (ctx.node.client_port) o["http"] = client_port_stats_to_json(ctx.node.client_port->snapshot());
  return json_response(200, json::serialize(o));
}

Response handle_metrics(const HandlerContext& ctx) {
  Response r;
  r.status = 200;
  r.content_type = kContentTypePrometheus;
  r.body = stats_to_prometheus(ctx.kv.stats(), ctx.node.node_id);
  r.body += build_info_to_prometheus(ctx.node.version);
  r.body += process_metrics_to_prometheus();
  if (auto cs = ctx.kv.cluster_status()) {
    r.body += cluster_gauges_to_prometheus(*cs);
    r.body += replication_stats_to_prometheus(cs->stats);
    r.body += transport_stats_to_prometheus(cs->transport);
  }
  if (ctx.node.client_port) r.body += client_port_stats_to_prometheus(ctx.node.client_port->snapshot());
  return r;
}

}  // namespace strata::net::http
