#include "tests/jepsen/outcome.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace strata::jepsen {

namespace json = boost::json;

namespace {

std::optional<json::object> json_object(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

}  // namespace

Outcome classify_write(const HttpAnswer& a) {
  if (a.status == 0) return a.connect_refused ? Outcome::fail : Outcome::unknown;
  if (a.status == 200) return Outcome::ok;
  if (a.status == 503) {
    if (auto o = json_object(a.body)) {
      const json::value* applied = o->if_contains("write_may_have_been_applied");
      if (applied && applied->is_bool() && !applied->get_bool()) return Outcome::fail;
    }
  }
  return Outcome::unknown;
}

Outcome classify_read(const HttpAnswer& a, std::optional<std::string>* value) {
  if (a.status == 200) {
    *value = a.body;
    return Outcome::ok;
  }
  if (a.status == 404) {
    auto o = json_object(a.body);
    const json::value* code = o ? o->if_contains("code") : nullptr;
    if (code && code->is_string() && code->get_string() == "not_found") {
      value->reset();
      return Outcome::ok;
    }
  }
  return Outcome::fail;
}

}  // namespace strata::jepsen
