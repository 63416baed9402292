#include "tests/jepsen/history.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <fstream>

namespace strata::jepsen {

namespace json = boost::json;

std::string_view to_string(OpKind k) {
  switch (k) {
    case OpKind::put: return "put";
    case OpKind::get: return "get";
    case OpKind::del: return "delete";
  }
  return "?";
}

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::fail: return "fail";
    case Outcome::unknown: return "unknown";
  }
  return "?";
}

std::string to_json_line(const Op& op) {
  json::object o;
  o["id"] = op.id;
  o["client"] = op.client;
  o["kind"] = to_string(op.kind);
  o["key"] = op.key;
  if (op.value) {
    o["value"] = *op.value;
  } else {
    o["value"] = nullptr;
  }
  o["outcome"] = to_string(op.outcome);
  o["invoke_ns"] = op.invoke_ns;
  o["complete_ns"] = op.complete_ns;
  return json::serialize(o);
}

namespace {

template <class T>
bool number_field(const json::object& o, std::string_view name, T* out) {
  const json::value* v = o.if_contains(name);
  if (!v || !v->is_number()) return false;
  boost::system::error_code ec;
  *out = v->to_number<T>(ec);
  return !ec;
}

bool string_field(const json::object& o, std::string_view name, std::string* out) {
  const json::value* v = o.if_contains(name);
  if (!v || !v->is_string()) return false;
  *out = std::string(v->get_string());
  return true;
}

}  // namespace

Result<Op> op_from_json_line(std::string_view line) {
  const auto bad = make_error_code(Errc::invalid_argument);
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object()) return bad;
  const json::object& o = v.get_object();
  Op op;
  std::string kind;
  std::string outcome;
  if (!number_field(o, "id", &op.id) || !number_field(o, "client", &op.client) || !string_field(o, "kind", &kind) ||
      !string_field(o, "key", &op.key) || !string_field(o, "outcome", &outcome) ||
      !number_field(o, "invoke_ns", &op.invoke_ns) || !number_field(o, "complete_ns", &op.complete_ns)) {
    return bad;
  }
  if (kind == "put") {
    op.kind = OpKind::put;
  } else if (kind == "get") {
    op.kind = OpKind::get;
  } else if (kind == "delete") {
    op.kind = OpKind::del;
  } else {
    return bad;
  }
  if (outcome == "ok") {
    op.outcome = Outcome::ok;
  } else if (outcome == "fail") {
    op.outcome = Outcome::fail;
  } else if (outcome == "unknown") {
    op.outcome = Outcome::unknown;
  } else {
    return bad;
  }
  const json::value* value = o.if_contains("value");
  if (!value) return bad;
  if (value->is_string()) {
    op.value = std::string(value->get_string());
  } else if (!value->is_null()) {
    return bad;
  }
  if (op.kind == OpKind::put && !op.value) return bad;
  if (op.invoke_ns > op.complete_ns) return bad;
  return op;
}

Result<void> write_history(const std::string& path, const std::vector<Op>& ops) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return make_error_code(Errc::io_error);
  for (const Op& op : ops) out << to_json_line(op) << '\n';
  out.flush();
  if (!out) return make_error_code(Errc::io_error);
  return ok();
}

Result<std::vector<Op>> read_history(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error_code(Errc::io_error);
  std::vector<Op> ops;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto op = op_from_json_line(line);
    if (!op) {
      std::fprintf(stderr, "read_history: %s:%zu: not a history operation\n", path.c_str(), line_no);
      return op.error();
    }
    ops.push_back(std::move(*op));
  }
  if (in.bad()) return make_error_code(Errc::io_error);
  return ops;
}

}  // namespace strata::jepsen
