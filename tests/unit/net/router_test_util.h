// Shared by the Router tests (unit_net): a DB on io::MemFileSystem served by a Router with no
// sockets, the Request the server would build for "METHOD target", and readers of JSON answers.
//
// RouterNode runs its DB's io_context on one thread of its own; call() blocks the test thread until
// the Router's coroutine finishes on that thread. Not thread-safe: one test thread per node.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "strata/db.h"
#include "lib/io/mem_file_system.h"
#include "net/http/json_codec.h"
#include "net/http/router.h"

namespace strata::net::http::testing {

// The Request the server would build for `method target` with `body` (the query already parsed).
inline Request make_request(Method method, std::string_view target, std::string body = {}) {
  Request req;
  req.method = method;
  req.method_name = std::string(to_string(method));
  size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    auto query = parse_query(target.substr(q + 1));
    REQUIRE(query);
    req.query = std::move(*query);
  }
  req.body = std::move(body);
  return req;
}

// The body as a JSON object; fails the test if it is not one.
inline boost::json::object body_json(const Response& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  REQUIRE_MESSAGE(!ec, "body is not JSON: " << r.body);
  REQUIRE(v.is_object());
  return v.as_object();
}

// The `code` of an error answer ({"error": ..., "code": ...}); fails the test if either is missing.
inline std::string error_code_of(const Response& r) {
  auto o = body_json(r);
  REQUIRE(o.contains("error"));
  REQUIRE(o.contains("code"));
  return std::string(o["code"].as_string());
}

// The keys of a scan answer ({"items": [{"key": ...}, ...]}), in order.
inline std::vector<std::string> scan_keys(const Response& r) {
  std::vector<std::string> keys;
  auto o = body_json(r);
  for (const auto& item : o["items"].as_array()) keys.emplace_back(item.as_object().at("key").as_string());
  return keys;
}

// A DB (64 KiB memtables, so that flushes happen under the API) and a Router over it.
class RouterNode {
 public:
  explicit RouterNode(NodeInfo info, Limits limits = Limits{})
      : work_(boost::asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {
    Options options;
    options.file_system = &fs_;
    options.memtable_size_bytes = 64 << 10;
    auto db = run(DB::open(io_.get_executor(), "/db", options));
    REQUIRE(db.has_value());
    db_ = std::move(*db);
    router_ = std::make_unique<Router>(*db_, std::move(info), limits);
  }
  ~RouterNode() {
    if (db_) (void)run(db_->close());
    work_.reset();
    thread_.join();
  }
  RouterNode(const RouterNode&) = delete;
  RouterNode& operator=(const RouterNode&) = delete;

  // Runs `aw` on the node's thread and waits for its result.
  template <class T>
  T run(boost::asio::awaitable<T> aw) {
    return boost::asio::co_spawn(io_, std::move(aw), boost::asio::use_future).get();
  }

  Response call(Method method, std::string_view target, std::string body = {}) {
    return run(router_->handle(make_request(method, target, std::move(body))));
  }

  DB& db() { return *db_; }
  const Router& router() { return *router_; }
  void close_db() { REQUIRE(run(db_->close()).has_value()); }

 private:
  io::MemFileSystem fs_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<Router> router_;
};

}  // namespace strata::net::http::testing
