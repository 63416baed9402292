// The hand-formatted HTTP/1.1 response head (net/http/response_head.h). The server's end-to-end
// behaviour (curl, raw sockets, HEAD, keep-alive) is covered by tests/system/http_load_kill_test.
#include <doctest/doctest.h>

#include "net/http/response_head.h"

using namespace strata::net::http;

namespace {

std::string head_of(const Response& res, size_t body_size, HeadOptions o, std::string_view reason = "OK") {
  std::string out = "leftover";  // appended to, never cleared
  append_response_head(res, reason, body_size, o, &out);
  REQUIRE(out.starts_with("leftover"));
  return out.substr(8);
}

}  // namespace

TEST_CASE("a keep-alive HTTP/1.1 answer: status line, Server, Content-Type, Content-Length, no Connection") {
  Response r = json_response(200, "{\"ok\":true}");
  CHECK(head_of(r, r.body.size(), {.server_name = "strata"}) ==
        "HTTP/1.1 200 OK\r\nServer: strata\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n");
}

TEST_CASE("closing, HTTP/1.0 keep-alive, extra headers and HEAD's body size") {
  Response r = error_response(405, "method_not_allowed", "no");
  r.headers.emplace_back("Allow", "GET, HEAD");
  std::string h = head_of(r, 1234, {.server_name = "s", .keep_alive = false}, "Method Not Allowed");
  CHECK(h ==
        "HTTP/1.1 405 Method Not Allowed\r\nServer: s\r\nContent-Type: application/json\r\nAllow: GET, HEAD\r\n"
        "Content-Length: 1234\r\nConnection: close\r\n\r\n");
  Response ok;
  ok.content_type = kContentTypeOctets;
  CHECK(head_of(ok, 0, {.server_name = "s", .http10_client = true}) ==
        "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Type: application/octet-stream\r\nContent-Length: 0\r\n"
        "Connection: keep-alive\r\n\r\n");
}

TEST_CASE("no Content-Length on 1xx, 204 and 304; a header that could split the response is left out") {
  CHECK(status_has_no_body(100));
  CHECK(status_has_no_body(204));
  CHECK(status_has_no_body(304));
  CHECK_FALSE(status_has_no_body(200));
  CHECK_FALSE(status_has_no_body(404));
  Response r;
  r.status = 204;
  r.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: x=1");
  r.headers.emplace_back("X\nBad", "v");
  r.headers.emplace_back("content-length", "99");  // the server's own field wins
  r.headers.emplace_back("X-Fine", "yes");
  std::string h = head_of(r, 0, {.server_name = "strata"}, "No Content");
  CHECK(h == "HTTP/1.1 204 No Content\r\nServer: strata\r\nContent-Type: application/json\r\nX-Fine: yes\r\n\r\n");
  CHECK(h.find("Set-Cookie") == std::string::npos);
}
