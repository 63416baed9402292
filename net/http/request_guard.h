// RequestGuard: the client port's browser-safety checks, made on a request's head before its body
// is read (docs/security.md, docs/http_api.md "Browser safety"). A web page open in a browser on
// a machine that can reach a node must not be able to change its data:
//  - Host: the Host header must name this node (configured names, loopback names and addresses,
//    or the address the client connected to), else 421 host_not_allowed. This stops DNS
//    rebinding, where a page's own name is made to resolve to the node.
//  - Origin: a request that changes state (PUT, POST, DELETE) from a browser carries Origin; it
//    must be the node itself (http(s)://<Host>) or a configured CORS origin, else 403
//    origin_not_allowed. This stops cross-site requests that need no CORS preflight.
//  - Content-Type: a PUT, POST or DELETE with a body must say application/json (or any
//    application/...+json) or application/octet-stream, else 415 unsupported_media_type; one
//    without a body may omit it (but not name another type). HTML forms and no-preflight fetch()
//    can only send text/plain, multipart/form-data and application/x-www-form-urlencoded.
//  - Transfer-Encoding: only "chunked" (RFC 9112 §6.1); any other coding is 501
//    unsupported_transfer_encoding (the body is never stored as-is).
//  - CORS: no Access-Control-* header unless cors_origins lists the request's Origin; then the
//    answer carries Access-Control-Allow-Origin and a preflight (OPTIONS with
//    Access-Control-Request-Method) is answered 204.
// A refused request gets a JSON error body; the server closes the connection after it (the body
// was not read).
//
// Thread-safety: immutable after construction; every method may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/request.h"
#include "net/http/response.h"

namespace strata::net::http {

struct GuardOptions {
  // Host names and IP addresses (no port) the Host header may name, besides "localhost", the
  // loopback addresses and the address the client connected to. "*": any Host (a reverse proxy
  // in front rewrites it, say). Compared case-insensitively.
  std::vector<std::string> allowed_hosts;
  // Origins ("https://console.example:8443") allowed to make cross-origin requests and to read
  // the answers. Empty: no CORS.
  std::vector<std::string> cors_origins;
};

// What the guard looks at. Views into the server's parsed header, valid during the check.
struct RequestHead {
  Method method = Method::get;
  std::string_view method_name;          // "OPTIONS" for a preflight (Method::other)
  std::optional<std::string_view> host;  // the Host header; nullopt when absent (HTTP/1.0)
  std::optional<std::string_view> origin;
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> transfer_encoding;
  std::optional<std::string_view> access_control_request_method;
  bool has_body = false;           // Content-Length > 0, or a chunked body
  std::string_view local_address;  // the IP address the client connected to ("127.0.0.1", "::1")
};

// Why a request was refused (counted per reason in ClientPortCounters).
enum class GuardReason { transfer_encoding, host, origin, content_type };
inline constexpr size_t kGuardReasonCount = 4;
std::string_view to_string(GuardReason r);

struct Refusal {
  GuardReason reason;
  Response response;
};

class RequestGuard {
 public:
  explicit RequestGuard(GuardOptions options);

  // nullopt: the request may go on. Otherwise the answer to send (then close the connection).
  std::optional<Refusal> check(const RequestHead& head) const;

  // The 204 answer to a CORS preflight from a configured origin; nullopt for anything else (the
  // router then answers an OPTIONS request 405).
  std::optional<Response> preflight(const RequestHead& head) const;

  // Adds Access-Control-Allow-Origin and Vary to `res` when `origin` is a configured CORS origin.
  void decorate(std::optional<std::string_view> origin, Response* res) const;

  // The host part of a Host header value, lower-case, without port, brackets or a trailing dot
  // ("[::1]:80" -> "::1", "Example.COM.:8000" -> "example.com"). Empty when malformed.
  static std::string host_of(std::string_view host_header);

 private:
  bool host_allowed(std::string_view host_header, std::string_view local_address) const;
  bool origin_allowed(std::string_view origin, std::optional<std::string_view> host) const;
  bool is_cors_origin(std::string_view origin) const;

  GuardOptions options_;
  bool any_host_ = false;
};

// True when `host` (an address or a name, as host_of returns it) is a loopback address or
// "localhost".
bool is_loopback_host(std::string_view host);

}  // namespace strata::net::http
