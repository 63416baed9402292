#include "apps/cli_backend.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <curl/curl.h>

#include <filesystem>
#include <thread>

#include "net/http/json_codec.h"

namespace strata::cli {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

CliError error_from(const ErrorCode& ec) { return CliError{ec.message()}; }

// Embedded: the DB's coroutines run on a private io_context driven by one thread; each call
// spawns one coroutine and waits for its future.
class EmbeddedBackend final : public CliBackend {
 public:
  EmbeddedBackend() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~EmbeddedBackend() override {
    (void)close();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  CliResult<void> open(const std::string& dir) {
    std::error_code fs_ec;
    std::filesystem::create_directories(dir, fs_ec);
    if (fs_ec) return CliError{"cannot create " + dir + ": " + fs_ec.message()};
    auto r = run(DB::open(io_.get_executor(), dir, Options{}));
    if (!r) return CliError{"cannot open the database in " + dir + ": " + r.error().message()};
    db_ = std::move(*r);
    return {};
  }

  CliResult<void> put(const std::string& key, const std::string& value) override {
    auto r = run(db_->put(key, value));
    if (!r) return error_from(r.error());
    return {};
  }
  CliResult<std::optional<std::string>> get(const std::string& key) override {
    auto r = run(db_->get(key));
    if (!r) return error_from(r.error());
    return std::move(*r);
  }
  CliResult<void> del(const std::string& key) override {
    auto r = run(db_->del(key));
    if (!r) return error_from(r.error());
    return {};
  }
  CliResult<std::vector<KeyValue>> scan(const std::string& start, const std::string& end, size_t limit) override {
    auto r = run(db_->scan(start, end, limit));
    if (!r) return error_from(r.error());
    return std::move(*r);
  }
  CliResult<std::string> stats() override {
    return CliResult<std::string>(boost::system::in_place_value, json::serialize(net::http::stats_to_json(db_->stats())));
  }
  CliResult<void> close() override {
    if (!db_) return {};
    auto r = run(db_->close());
    db_.reset();
    if (!r) return error_from(r.error());
    return {};
  }

 private:
  template <class T>
  T run(asio::awaitable<T> aw) {
    auto fut = asio::co_spawn(io_, std::move(aw), asio::use_future);
    return fut.get();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::unique_ptr<DB> db_;
};

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// HTTP: the native API over one libcurl easy handle (connections are kept alive between calls).
class HttpBackend final : public CliBackend {
 public:
  explicit HttpBackend(std::string url) : base_(std::move(url)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
    curl_ = curl_easy_init();
  }
  ~HttpBackend() override {
    if (curl_) curl_easy_cleanup(curl_);
  }

  CliResult<void> put(const std::string& key, const std::string& value) override {
    auto r = request("PUT", "/v1/kv/" + net::http::percent_encode(key), &value);
    if (!r) return r.error();
    if (r->status != 200) return error_of(*r);
    return {};
  }
  CliResult<std::optional<std::string>> get(const std::string& key) override {
    auto r = request("GET", "/v1/kv/" + net::http::percent_encode(key), nullptr);
    if (!r) return r.error();
    if (r->status == 404) return std::optional<std::string>();
    if (r->status != 200) return error_of(*r);
    return std::optional<std::string>(std::move(r->body));
  }
  CliResult<void> del(const std::string& key) override {
    auto r = request("DELETE", "/v1/kv/" + net::http::percent_encode(key), nullptr);
    if (!r) return r.error();
    if (r->status != 200) return error_of(*r);
    return {};
  }
  CliResult<std::vector<KeyValue>> scan(const std::string& start, const std::string& end, size_t limit) override {
    // Pages of at most kPage, continuing after the last key while the server says "truncated".
    constexpr size_t kPage = 1000;
    std::vector<KeyValue> out;
    std::string from = start;
    for (;;) {
      size_t want = limit == 0 ? kPage : std::min(kPage, limit - out.size());
      std::string target = "/v1/kv?encoding=base64&limit=" + std::to_string(want) +
                           "&start=" + net::http::percent_encode(from);
      if (!end.empty()) target += "&end=" + net::http::percent_encode(end);
      auto r = request("GET", target, nullptr);
      if (!r) return r.error();
      if (r->status != 200) return error_of(*r);
      boost::system::error_code ec;
      json::value doc = json::parse(r->body, ec);
      if (ec || !doc.is_object()) return CliError{"malformed scan response"};
      const json::array* items = doc.as_object().if_contains("items") ? doc.as_object()["items"].if_array() : nullptr;
      if (!items) return CliError{"malformed scan response"};
      for (const auto& item : *items) {
        const json::object* o = item.if_object();
        if (!o || !o->contains("key") || !o->contains("value") || !o->at("key").is_string() ||
            !o->at("value").is_string()) {
          return CliError{"malformed scan item"};
        }
        auto k = net::http::base64_decode(o->at("key").get_string());
        auto v = net::http::base64_decode(o->at("value").get_string());
        if (!k || !v) return CliError{"malformed base64 in scan item"};
        out.push_back({std::move(*k), std::move(*v)});
      }
      const json::value* truncated = doc.as_object().if_contains("truncated");
      bool more = truncated && truncated->is_bool() && truncated->get_bool();
      if (!more || items->empty() || (limit != 0 && out.size() >= limit)) break;
      from = out.back().key;
      from.push_back('\0');  // the smallest key after the last one
    }
    return out;
  }
  CliResult<std::string> stats() override {
    auto r = request("GET", "/v1/stats", nullptr);
    if (!r) return r.error();
    if (r->status != 200) return error_of(*r);
    return CliResult<std::string>(boost::system::in_place_value, std::move(r->body));
  }
  CliResult<void> close() override { return {}; }

 private:
  struct HttpReply {
    long status = 0;
    std::string body;
  };

  CliError error_of(const HttpReply& r) {
    boost::system::error_code ec;
    json::value doc = json::parse(r.body, ec);
    if (!ec && doc.is_object()) {
      if (const json::value* e = doc.as_object().if_contains("error"); e && e->is_string()) {
        return CliError{"server error " + std::to_string(r.status) + ": " + std::string(e->get_string())};
      }
    }
    return CliError{"server error " + std::to_string(r.status)};
  }

  CliResult<HttpReply> request(const char* method, const std::string& target, const std::string* body) {
    if (!curl_) return CliError{"libcurl failed to initialize"};
    HttpReply reply;
    std::string url = base_ + target;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 60000L);
    curl_slist* headers = curl_slist_append(nullptr, "Expect:");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    if (body) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) return CliError{"cannot reach " + base_ + ": " + curl_easy_strerror(rc)};
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
  }

  std::string base_;
  CURL* curl_ = nullptr;
};

}  // namespace

CliResult<std::unique_ptr<CliBackend>> open_embedded(const std::string& data_dir) {
  auto b = std::make_unique<EmbeddedBackend>();
  auto r = b->open(data_dir);
  if (!r) return r.error();
  return std::unique_ptr<CliBackend>(std::move(b));
}

CliResult<std::unique_ptr<CliBackend>> open_http(const std::string& url) {
  if (!url.starts_with("http://")) return CliError{"--url must start with http:// (got '" + url + "')"};
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return std::unique_ptr<CliBackend>(std::make_unique<HttpBackend>(url));
}

}  // namespace strata::cli
