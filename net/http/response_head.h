// The head of an HTTP/1.1 response (status line and header fields, RFC 9112 §4 and §5), formatted
// by hand into a buffer the connection reuses: writing a response then costs no allocation once
// the buffer has grown, where Beast's http::response<> allocated every header field of every
// response (a measurable share of a busy node's CPU). The body is written after it as a second
// buffer of the same gather write, never copied.
//
// Beast-free (server.cc passes in the reason phrase), so it is unit-tested without sockets.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "net/http/response.h"

namespace strata::net::http {

struct HeadOptions {
  std::string_view server_name;  // the Server field
  bool keep_alive = true;        // false: "Connection: close"
  bool http10_client = false;    // the request was HTTP/1.0: keep-alive is said explicitly
};

// True for the statuses whose responses have no body and no Content-Length: 1xx, 204 and 304
// (RFC 9110 §8.6 and §15).
bool status_has_no_body(int status);

// Appends to `out`: "HTTP/1.1 <status> <reason>", Server, Content-Type, the extra headers of
// `res`, Content-Length: `body_size` (except when status_has_no_body), and Connection when the
// connection closes or the client spoke HTTP/1.0; then the empty line. `body_size` is the size of
// the body the answered request would get (a HEAD answer reports the GET body's size and sends
// none). An extra header whose name or value holds CR, LF or NUL is left out rather than allowed
// to split the response; so is one that repeats a field set here (Content-Length, Connection).
void append_response_head(const Response& res, std::string_view reason, size_t body_size, const HeadOptions& options,
                          std::string* out);

}  // namespace strata::net::http
