// Request: one HTTP request as the router sees it, free of Beast types so that the handlers
// compile (and are unit-tested) without the Beast translation unit.
//
// Invariants: `path` is the raw (still percent-encoded) path of the target, without the query;
// `query` holds the decoded query parameters in their order of appearance (a parameter may repeat;
// find_query returns the first). The server fills only the headers the handlers need.
// Thread-safety: a plain value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::net::http {

enum class Method { get, head, put, post, del, other };

std::string_view to_string(Method m);

struct Request {
  Method method = Method::get;
  std::string method_name;                                 // as sent, for error messages (e.g. "PATCH")
  std::string path;                                        // raw path, e.g. "/v1/kv/a%2Fb"
  std::vector<std::pair<std::string, std::string>> query;  // decoded
  std::string content_type;
  std::string body;

  // The first value of query parameter `name`, or nullopt.
  std::optional<std::string_view> find_query(std::string_view name) const {
    for (const auto& [k, v] : query) {
      if (k == name) return std::string_view(v);
    }
    return std::nullopt;
  }
};

}  // namespace strata::net::http
