// RequestGuard (net/http/request_guard.h): what a browser can send cross-site is refused, what
// the Strata clients send passes. Table-driven over request heads, without sockets.
#include <doctest/doctest.h>

#include "apps/server_security.h"
#include "net/http/request_guard.h"

namespace strata::net::http {
namespace {

RequestHead head(Method m, std::string_view method_name) {
  RequestHead h;
  h.method = m;
  h.method_name = method_name;
  h.host = "127.0.0.1:8000";
  h.local_address = "127.0.0.1";
  return h;
}

std::optional<GuardReason> reason(const RequestGuard& g, const RequestHead& h) {
  auto r = g.check(h);
  if (!r) return std::nullopt;
  return r->reason;
}

TEST_CASE("the issue's attack: a text/plain POST /set with Host: evil.example is refused") {
  RequestGuard g({});
  RequestHead h = head(Method::post, "POST");
  h.host = "evil.example:8000";
  h.content_type = "text/plain";
  h.has_body = true;
  auto r = g.check(h);
  REQUIRE(r.has_value());
  CHECK(r->reason == GuardReason::host);
  CHECK(r->response.status == 421);
  CHECK(r->response.body.find("\"code\":\"host_not_allowed\"") != std::string::npos);
  // The same request with the node's own Host is refused for its type instead.
  h.host = "127.0.0.1:8000";
  r = g.check(h);
  REQUIRE(r.has_value());
  CHECK(r->reason == GuardReason::content_type);
  CHECK(r->response.status == 415);
  CHECK(r->response.body.find("\"code\":\"unsupported_media_type\"") != std::string::npos);
}

TEST_CASE("state-changing requests: JSON and octet-stream pass, form and text types do not, no body may omit it") {
  RequestGuard g({});
  struct Row {
    Method m;
    std::string_view name;
    std::optional<std::string_view> type;
    bool body;
    bool passes;
  };
  const Row rows[] = {
      {Method::post, "POST", "application/json", true, true},
      {Method::post, "POST", "Application/JSON; charset=utf-8", true, true},
      {Method::post, "POST", "application/merge-patch+json", true, true},
      {Method::put, "PUT", "application/octet-stream", true, true},
      {Method::put, "PUT", std::nullopt, false, true},  // an empty value
      {Method::del, "DELETE", std::nullopt, false, true},
      {Method::post, "POST", std::nullopt, false, true},  // POST /v1/admin/flush
      {Method::post, "POST", "text/plain", true, false},
      {Method::post, "POST", "application/x-www-form-urlencoded", true, false},   // curl -d's default
      {Method::post, "POST", "application/x-www-form-urlencoded", false, false},  // an empty form
      {Method::post, "POST", "multipart/form-data; boundary=x", true, false},
      {Method::put, "PUT", std::nullopt, true, false},  // a body of no stated type
      {Method::del, "DELETE", "text/plain", true, false},
      {Method::get, "GET", "text/plain", true, true},  // reads change nothing
  };
  for (const Row& row : rows) {
    RequestHead h = head(row.m, row.name);
    h.content_type = row.type;
    h.has_body = row.body;
    CAPTURE(row.name);
    CAPTURE(row.type.value_or("(none)"));
    CHECK(reason(g, h).has_value() == !row.passes);
    if (!row.passes) CHECK(*reason(g, h) == GuardReason::content_type);
  }
}

TEST_CASE("Host: loopback names and addresses, the address connected to and configured names pass") {
  RequestGuard g(GuardOptions{.allowed_hosts = {"db.example.com", "10.1.2.3"}});
  struct Row {
    std::string_view host;
    std::string_view local;
    bool passes;
  };
  const Row rows[] = {
      {"127.0.0.1:8000", "127.0.0.1", true},
      {"127.0.0.7", "127.0.0.1", true},
      {"localhost:8000", "127.0.0.1", true},
      {"LOCALHOST.", "127.0.0.1", true},
      {"[::1]:8000", "::1", true},
      {"db.example.com:8000", "127.0.0.1", true},
      {"DB.Example.COM", "127.0.0.1", true},
      {"10.1.2.3:80", "127.0.0.1", true},
      {"192.168.1.5:8000", "192.168.1.5", true},   // the address the client reached
      {"192.168.1.6:8000", "192.168.1.5", false},  // another address
      {"evil.example", "127.0.0.1", false},
      {"db.example.com.evil.example", "127.0.0.1", false},
      {"127.0.0.1.nip.io", "127.0.0.1", false},  // a DNS name that resolves to loopback
      {"", "127.0.0.1", false},
      {"[::1", "::1", false},
      {"::1", "::1", false},  // an IPv6 literal without brackets is malformed
  };
  for (const Row& row : rows) {
    RequestHead h = head(Method::get, "GET");
    h.host = row.host;
    h.local_address = row.local;
    CAPTURE(row.host);
    CHECK(reason(g, h).has_value() == !row.passes);
  }
  RequestHead no_host = head(Method::get, "GET");
  no_host.host = std::nullopt;  // HTTP/1.0 without Host: not a browser
  CHECK_FALSE(reason(g, no_host).has_value());
  RequestGuard any(GuardOptions{.allowed_hosts = {"*"}});
  RequestHead evil = head(Method::get, "GET");
  evil.host = "evil.example";
  CHECK_FALSE(reason(any, evil).has_value());
}

TEST_CASE("Origin on a state-changing request: the node itself and configured CORS origins pass, others are 403") {
  RequestGuard g(GuardOptions{.cors_origins = {"https://console.example:8443"}});
  RequestHead h = head(Method::post, "POST");
  h.content_type = "application/json";
  h.has_body = true;
  h.origin = "https://evil.example";
  auto r = g.check(h);
  REQUIRE(r.has_value());
  CHECK(r->reason == GuardReason::origin);
  CHECK(r->response.status == 403);
  h.origin = "null";  // a sandboxed frame or a file: page
  CHECK(reason(g, h) == GuardReason::origin);
  h.origin = "http://127.0.0.1:8000";
  CHECK_FALSE(reason(g, h).has_value());
  h.origin = "https://console.example:8443";
  CHECK_FALSE(reason(g, h).has_value());
  // A GET from anywhere goes on: without CORS headers the browser does not let the page read it.
  RequestHead get = head(Method::get, "GET");
  get.origin = "https://evil.example";
  CHECK_FALSE(reason(g, get).has_value());
}

TEST_CASE("Transfer-Encoding other than chunked is 501; chunked passes") {
  RequestGuard g({});
  RequestHead h = head(Method::put, "PUT");
  h.content_type = "application/octet-stream";
  h.has_body = true;
  for (std::string_view te : {"gzip, chunked", "gzip", "identity", "chunked, chunked", "deflate,chunked"}) {
    h.transfer_encoding = te;
    auto r = g.check(h);
    REQUIRE(r.has_value());
    CHECK(r->reason == GuardReason::transfer_encoding);
    CHECK(r->response.status == 501);
    CHECK(r->response.body.find("\"code\":\"unsupported_transfer_encoding\"") != std::string::npos);
  }
  h.transfer_encoding = " Chunked ";
  CHECK_FALSE(g.check(h).has_value());
}

TEST_CASE("CORS headers only for a configured origin; a preflight from it is answered 204") {
  RequestGuard none({});
  Response res;
  none.decorate(std::string_view("https://console.example:8443"), &res);
  CHECK(res.headers.empty());
  RequestHead pre = head(Method::other, "OPTIONS");
  pre.origin = "https://console.example:8443";
  pre.access_control_request_method = "PUT";
  CHECK_FALSE(none.preflight(pre).has_value());

  RequestGuard cors(GuardOptions{.cors_origins = {"https://console.example:8443"}});
  auto answer = cors.preflight(pre);
  REQUIRE(answer.has_value());
  CHECK(answer->status == 204);
  bool allow_origin = false;
  for (const auto& [k, v] : answer->headers) {
    if (k == "Access-Control-Allow-Origin") allow_origin = v == "https://console.example:8443";
  }
  CHECK(allow_origin);
  pre.origin = "https://evil.example";
  CHECK_FALSE(cors.preflight(pre).has_value());
  Response ok;
  cors.decorate(std::string_view("https://evil.example"), &ok);
  CHECK(ok.headers.empty());
  cors.decorate(std::string_view("https://console.example:8443"), &ok);
  CHECK(ok.headers.size() == 2);
}

TEST_CASE("strata-server's lists: --allowed-hosts and --cors-origin refuse what is not a host or an origin") {
  std::vector<std::string> out;
  std::string why;
  CHECK(parse_allowed_hosts("db.example.com,10.0.0.1:8000,[::1]", &out, &why));
  CHECK(out.size() == 3);
  CHECK(parse_allowed_hosts("*", &out, &why));
  for (std::string_view bad : {"a,,b", "a,", "http://a", "a b", "user@a"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_allowed_hosts(bad, &out, &why));
  }
  out.clear();
  CHECK(parse_cors_origins("https://console.example:8443,http://localhost:3000", &out, &why));
  CHECK(out.size() == 2);
  for (std::string_view bad : {"*", "console.example", "https://a/path", "ftp://a", "https://", "https://a,"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_cors_origins(bad, &out, &why));
  }
}

TEST_CASE(
    "start-up warnings: beyond loopback without protection, a peer port without TLS, and a secret file others can read") {
  CHECK(security_warnings(Exposure{.client_host = "127.0.0.1", .cluster = true, .peer_host = "127.0.0.1"}).empty());
  CHECK(security_warnings(Exposure{.client_host = "::1"}).empty());
  CHECK(security_warnings(Exposure{.client_host = "localhost"}).empty());
  auto client = security_warnings(Exposure{.client_host = "0.0.0.0"});
  REQUIRE(client.size() == 1);
  CHECK(client[0].find("client port") != std::string::npos);
  CHECK(client[0].find("without TLS") != std::string::npos);
  // TLS without client certificates: still open to whoever connects.
  auto tls_only = security_warnings(Exposure{.client_host = "0.0.0.0", .client_tls = true});
  REQUIRE(tls_only.size() == 1);
  CHECK(tls_only[0].find("--client-cert-auth") != std::string::npos);
  CHECK(security_warnings(Exposure{.client_host = "0.0.0.0", .client_tls = true, .client_cert_auth = true}).empty());
  auto peer = security_warnings(Exposure{.client_host = "127.0.0.1", .cluster = true, .peer_host = "10.0.0.5"});
  REQUIRE(peer.size() == 1);
  CHECK(peer[0].find("--peer-secret-file") != std::string::npos);
  CHECK(peer[0].find("--peer-cert-file") != std::string::npos);
  // A secret authenticates members, but the traffic is readable on the wire.
  auto secret_only = security_warnings(
      Exposure{.client_host = "127.0.0.1", .cluster = true, .peer_host = "10.0.0.5", .peer_secret = true});
  REQUIRE(secret_only.size() == 1);
  CHECK(secret_only[0].find("without TLS (--peer-cert-file)") != std::string::npos);
  CHECK(security_warnings(
            Exposure{.client_host = "127.0.0.1", .cluster = true, .peer_host = "10.0.0.5", .peer_tls = true})
            .empty());
  CHECK(security_warnings(Exposure{.client_host = "127.0.0.1",
                                   .cluster = true,
                                   .peer_host = "10.0.0.5",
                                   .peer_secret = true,
                                   .peer_tls = true})
            .empty());
  auto loose = security_warnings(Exposure{.client_host = "127.0.0.1",
                                          .cluster = true,
                                          .peer_host = "127.0.0.1",
                                          .peer_secret = true,
                                          .secret_file = "/etc/s",
                                          .secret_readable_by_others = true});
  REQUIRE(loose.size() == 1);
  CHECK(loose[0].find("chmod 600") != std::string::npos);
}

}  // namespace
}  // namespace strata::net::http
