// Fuzz target: HTTP request handling (net/http Router) on requests built from arbitrary bytes,
// over a fresh DB on a MemFileSystem holding a few keys, with small limits.
// Input: up to 4 requests separated by a line "===". Each request is
//   line 1: METHOD SP TARGET        (the target as sent: raw path, then ?query, percent-encoded)
//   line 2: the Content-Type value  (optional)
//   rest:   the body
// The target is split and its query parsed as the server does (net/http/server.cc to_request);
// a target the server would refuse (no leading '/', malformed query) is skipped.
// Checks (Router's contract, shared/RELIABILITY.md promise 5): handle() never throws or crashes;
// the status is a valid HTTP status; every 4xx/5xx carries a JSON object body with "error" and
// "code" strings. Each request also goes through the server's RequestGuard (browser safety), with
// the Content-Type line and, as Host and Origin, the body's first line: the same holds for its
// refusals, and a Host or Origin that is not the node's is never let through on a write. (The
// router still sees every request, so that the corpus keeps reaching the handlers.)
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>

#include <memory>
#include <string>
#include <vector>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "net/http/json_codec.h"
#include "net/http/request_guard.h"
#include "net/http/router.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/test_util.h"

using namespace strata;
using namespace strata::net::http;
namespace asio = boost::asio;

namespace {

Method method_of(std::string_view m) {
  if (m == "GET") return Method::get;
  if (m == "HEAD") return Method::head;
  if (m == "PUT") return Method::put;
  if (m == "POST") return Method::post;
  if (m == "DELETE") return Method::del;
  return Method::other;
}

// The Request the server would build, or nullopt where the server answers 400 itself.
std::optional<Request> parse_request(std::string_view in) {
  Request req;
  size_t eol = in.find('\n');
  std::string_view line = in.substr(0, eol);
  std::string_view rest = eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  req.method_name = std::string(line.substr(0, sp));
  req.method = method_of(req.method_name);
  std::string_view target = line.substr(sp + 1);
  if (target.empty() || target.front() != '/') return std::nullopt;
  size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    auto query = parse_query(target.substr(q + 1));
    if (!query) return std::nullopt;
    req.query = std::move(*query);
  }
  size_t eol2 = rest.find('\n');
  req.content_type = std::string(rest.substr(0, eol2));
  req.body = eol2 == std::string_view::npos ? std::string() : std::string(rest.substr(eol2 + 1));
  return req;
}

void check_response(const Response& res) {
  FUZZ_CHECK(res.status >= 100 && res.status <= 599);
  if (res.status < 400) return;
  boost::system::error_code ec;
  auto v = boost::json::parse(res.body, ec);
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(v.is_object());
  FUZZ_CHECK(v.as_object().contains("error") && v.as_object().at("error").is_string());
  FUZZ_CHECK(v.as_object().contains("code") && v.as_object().at("code").is_string());
}

void check_guard(const RequestGuard& guard, const Request& req) {
  std::string_view first_line = std::string_view(req.body).substr(0, req.body.find('\n'));
  RequestHead h;
  h.method = req.method;
  h.method_name = req.method_name;
  if (!req.content_type.empty()) h.content_type = req.content_type;
  h.has_body = !req.body.empty();
  h.local_address = "127.0.0.1";
  h.host = "127.0.0.1:8000";
  if (auto r = guard.check(h)) check_response(r->response);
  // Arbitrary bytes as Host and Origin.
  h.host = first_line;
  h.origin = first_line;
  auto r = guard.check(h);
  if (r) check_response(r->response);
  bool writes = req.method == Method::put || req.method == Method::post || req.method == Method::del;
  std::string host = RequestGuard::host_of(first_line);
  // Only loopback names and addresses name this node here (no --allowed-hosts).
  if (!r && writes) FUZZ_CHECK(!host.empty() && is_loopback_host(host));
  Response res;
  guard.decorate(h.origin, &res);
  if (auto pre = guard.preflight(h)) FUZZ_CHECK(pre->status == 204);
}

Limits small_limits() {
  Limits l;
  l.max_key_bytes = 100;
  l.max_value_bytes = 1000;
  l.max_body_bytes = 2000;
  l.default_scan_limit = 50;
  l.max_scan_limit = 100;
  l.max_batch_ops = 10;
  return l;
}

asio::awaitable<void> handle_all(std::vector<Request> requests) {
  io::MemFileSystem fs;
  Options options;
  options.file_system = &fs;
  options.memtable_size_bytes = 16 << 10;
  options.wal_preallocate_bytes = 0;
  auto ex = co_await asio::this_coro::executor;
  auto opened = co_await DB::open(ex, "/db", options);
  FUZZ_CHECK(opened.has_value());
  auto db = std::move(*opened);
  for (const char* k : {"a", "b/c", "key"}) FUZZ_CHECK((co_await db->put(k, "value")).has_value());
  {
    Router router(*db, NodeInfo{}, small_limits());
    RequestGuard guard(GuardOptions{.cors_origins = {"https://console.example"}});
    for (auto& req : requests) {
      check_guard(guard, req);
      Response res = co_await router.handle(std::move(req));
      check_response(res);
    }
  }
  FUZZ_CHECK((co_await db->close()).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::as_view(data, size);
  std::vector<Request> requests;
  while (requests.size() < 4) {
    size_t sep = in.find("\n===\n");
    if (auto req = parse_request(in.substr(0, sep))) requests.push_back(std::move(*req));
    if (sep == std::string_view::npos) break;
    in.remove_prefix(sep + 5);
  }
  if (requests.empty()) return 0;
  strata::testing::run(handle_all(std::move(requests)));
  return 0;
}
