// Response: one HTTP response produced by the router, free of Beast types. The server adds
// Content-Length, Server and Connection; everything else comes from here.
//
// Invariants: status is a valid HTTP status code; error responses (4xx/5xx) carry a JSON body
// {"error": "<human message>", "code": "<machine code>"} built by error_response().
// Thread-safety: a plain value.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::net::http {

inline constexpr std::string_view kContentTypeJson = "application/json";
inline constexpr std::string_view kContentTypeOctets = "application/octet-stream";
inline constexpr std::string_view kContentTypePrometheus = "text/plain; version=0.0.4; charset=utf-8";

struct Response {
  int status = 200;
  // One of the kContentType* constants, or other text with static storage duration: a view, so
  // that making a Response allocates nothing but its body.
  std::string_view content_type = kContentTypeJson;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow
};

// A JSON response with the given status and serialized JSON body.
Response json_response(int status, std::string json_body);

// The error body {"error": message, "code": code} with `status` (4xx/5xx).
Response error_response(int status, std::string_view code, std::string_view message);

}  // namespace strata::net::http
