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

#include "lib/replication/kv_service.h"
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

  CliResult<void> open(const std::string& dir, bool create) {
    Options options;
    options.create_if_missing = create;
    if (create) {
      std::error_code fs_ec;
      std::filesystem::create_directories(dir, fs_ec);
      if (fs_ec) return CliError{"cannot create " + dir + ": " + fs_ec.message()};
    }
    auto r = run(DB::open(io_.get_executor(), dir, options));
    if (!r && !create && r.error() == make_error_code(Errc::not_found)) {
      return CliError{"no database in " + dir + " (a command that reads never creates one; check the path)"};
    }
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
  CliResult<void> put_batch(const std::vector<KeyValue>& pairs) override {
    WriteBatch batch;
    for (const auto& kv : pairs) batch.put(kv.key, kv.value);
    auto r = run(db_->write(std::move(batch)));
    if (!r) return error_from(r.error());
    return {};
  }
  CliResult<std::optional<std::string>> get_at(const std::string& key, uint64_t seq) override {
    SequenceNumber last = db_->latest_sequence();
    if (seq > last)
      return CliError{"sequence " + std::to_string(seq) + " is beyond the last one, " + std::to_string(last)};
    auto r = run(db_->get(key, ReadOptions{.snapshot = seq}));
    if (!r) return error_from(r.error());
    return std::move(*r);
  }
  CliResult<std::vector<KeyValue>> scan(const std::string& start, const std::string& end, size_t limit,
                                        bool reverse) override {
    auto r = run(replication::scan_db(*db_, replication::ScanOptions{start, end, limit, reverse}, {}));
    if (!r) return error_from(r.error());
    return std::move(*r);
  }
  CliResult<DbStats> stats() override { return db_->stats(); }
  CliResult<LookupTrace> trace(const std::string& key, std::optional<uint64_t> seq) override {
    SequenceNumber last = db_->latest_sequence();
    if (seq && *seq > last) {
      return CliError{"sequence " + std::to_string(*seq) + " is beyond the last one, " + std::to_string(last)};
    }
    auto r = run(db_->trace(key, ReadOptions{.snapshot = seq}));
    if (!r) return error_from(r.error());
    return std::move(*r);
  }
  CliResult<std::vector<OptionInfo>> options() override { return db_->option_list(); }
  CliResult<std::vector<OptionInfo>> set_option(const std::string& name, const std::string& value) override {
    std::string why;
    auto r = db_->set_option(name, value, &why);
    if (!r) return CliError{why.empty() ? r.error().message() : why};
    return db_->option_list();
  }
  CliResult<void> flush() override {
    auto r = run(db_->flush());
    if (!r) return error_from(r.error());
    return {};
  }
  CliResult<void> compact(const std::string& start, const std::string& end) override {
    auto r = run(db_->compact_range(start, end));
    if (!r) return error_from(r.error());
    return {};
  }
  CliResult<std::string> checkpoint(const std::string& target) override {
    std::error_code fs_ec;
    if (std::filesystem::exists(target, fs_ec)) return CliError{target + " exists already; name a new directory"};
    auto r = run(db_->checkpoint(target));
    if (!r) return error_from(r.error());
    return CliResult<std::string>(boost::system::in_place_value,
                                  target + " (up to sequence " + std::to_string(*r) + ")");
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
  HttpBackend(std::string url, TlsClientOptions tls) : base_(std::move(url)), tls_(std::move(tls)) {
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
  CliResult<void> put_batch(const std::vector<KeyValue>& pairs) override {
    json::array ops;
    ops.reserve(pairs.size());
    for (const auto& kv : pairs) {
      json::object op{{"op", "put"}};
      net::http::put_key_value(op, kv.key, kv.value, /*force_base64=*/false);
      ops.push_back(std::move(op));
    }
    auto r = post_json("/v1/batch", json::serialize(json::object{{"ops", std::move(ops)}}));
    if (!r) return r.error();
    return {};
  }
  CliResult<void> del(const std::string& key) override {
    auto r = request("DELETE", "/v1/kv/" + net::http::percent_encode(key), nullptr);
    if (!r) return r.error();
    if (r->status != 200) return error_of(*r);
    return {};
  }
  CliResult<std::optional<std::string>> get_at(const std::string& key, uint64_t seq) override {
    auto r = request("GET", "/v1/kv/" + net::http::percent_encode(key) + "?at=" + std::to_string(seq), nullptr);
    if (!r) return r.error();
    if (r->status == 404 && !is_route_error(*r)) return std::optional<std::string>();
    if (r->status != 200) return error_of(*r);
    return std::optional<std::string>(std::move(r->body));
  }
  CliResult<std::vector<KeyValue>> scan(const std::string& start, const std::string& end, size_t limit,
                                        bool reverse) override {
    // Pages of at most kPage while the server says "truncated": forward pages continue after the
    // last key, reverse pages below it (the end bound is exclusive).
    constexpr size_t kPage = 1000;
    std::vector<KeyValue> out;
    std::string from = start;
    std::string to = end;
    for (;;) {
      size_t want = limit == 0 ? kPage : std::min(kPage, limit - out.size());
      std::string target =
          "/v1/kv?encoding=base64&limit=" + std::to_string(want) + "&start=" + net::http::percent_encode(from);
      if (!to.empty()) target += "&end=" + net::http::percent_encode(to);
      if (reverse) target += "&reverse=true";
      auto doc = get_json(target);
      if (!doc) return doc.error();
      const json::value* items_v = doc->if_contains("items");
      const json::array* items = items_v ? items_v->if_array() : nullptr;
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
      const json::value* truncated = doc->if_contains("truncated");
      bool more = truncated && truncated->is_bool() && truncated->get_bool();
      if (!more || items->empty() || (limit != 0 && out.size() >= limit)) break;
      if (reverse) {
        to = out.back().key;
      } else {
        from = out.back().key;
        from.push_back('\0');  // the smallest key after the last one
      }
    }
    return out;
  }
  CliResult<DbStats> stats() override {
    auto doc = get_json("/v1/stats");
    if (!doc) return doc.error();
    auto s = net::http::stats_from_json(*doc);
    if (!s) return CliError{"malformed stats response"};
    return std::move(*s);
  }
  CliResult<LookupTrace> trace(const std::string& key, std::optional<uint64_t> seq) override {
    std::string target = "/v1/trace?key=" + net::http::percent_encode(key);
    if (seq) target += "&at=" + std::to_string(*seq);
    auto doc = get_json(target);
    if (!doc) return doc.error();
    auto t = net::http::trace_from_json(*doc);
    if (!t) return CliError{"malformed trace response"};
    return std::move(*t);
  }
  CliResult<std::vector<OptionInfo>> options() override {
    auto doc = get_json("/v1/config");
    if (!doc) return doc.error();
    return options_of(*doc);
  }
  CliResult<std::vector<OptionInfo>> set_option(const std::string& name, const std::string& value) override {
    std::string body = json::serialize(json::object{{"name", name}, {"value", value}});
    auto doc = post_json("/v1/config", body);
    if (!doc) return doc.error();
    return options_of(*doc);
  }
  CliResult<void> flush() override {
    auto doc = post_json("/v1/admin/flush", "");
    if (!doc) return doc.error();
    return {};
  }
  CliResult<void> compact(const std::string& start, const std::string& end) override {
    std::string body = json::serialize(json::object{{"start", start}, {"end", end}});
    auto doc = post_json("/v1/admin/compact", body);
    if (!doc) return doc.error();
    return {};
  }
  CliResult<std::string> checkpoint(const std::string& target) override {
    auto doc = post_json("/v1/admin/checkpoint", json::serialize(json::object{{"name", target}}));
    if (!doc) return doc.error();
    const json::value* dir = doc->if_contains("dir");
    const json::value* seq = doc->if_contains("sequence");
    if (dir == nullptr || !dir->is_string() || seq == nullptr) return CliError{"malformed answer from the server"};
    return CliResult<std::string>(
        boost::system::in_place_value,
        std::string(dir->get_string()) + " on the server (up to sequence " + json::serialize(*seq) + ")");
  }
  CliResult<void> close() override { return {}; }

 private:
  struct HttpReply {
    long status = 0;
    std::string body;
  };

  // A 404 for the route itself (an older server) rather than for the key.
  static bool is_route_error(const HttpReply& r) { return r.body.find("\"route_not_found\"") != std::string::npos; }

  static CliResult<std::vector<OptionInfo>> options_of(const json::object& doc) {
    auto list = net::http::options_from_json(doc);
    if (!list) return CliError{"malformed config response"};
    return std::move(*list);
  }

  // A 200 answer with a JSON object body, or the error.
  CliResult<json::object> json_of(CliResult<HttpReply> r) {
    if (!r) return r.error();
    if (r->status != 200) return error_of(*r);
    boost::system::error_code ec;
    json::value doc = json::parse(r->body, ec);
    if (ec || !doc.is_object()) return CliError{"malformed JSON response"};
    return std::move(doc.as_object());
  }
  CliResult<json::object> get_json(const std::string& target) { return json_of(request("GET", target, nullptr)); }
  CliResult<json::object> post_json(const std::string& target, const std::string& body) {
    return json_of(request("POST", target, &body));
  }

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
    if (!tls_.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, tls_.ca_file.c_str());
    if (!tls_.cert_file.empty()) curl_easy_setopt(curl_, CURLOPT_SSLCERT, tls_.cert_file.c_str());
    if (!tls_.key_file.empty()) curl_easy_setopt(curl_, CURLOPT_SSLKEY, tls_.key_file.c_str());
    curl_slist* headers = curl_slist_append(nullptr, "Expect:");
    // The server refuses a body without a JSON or octet-stream type (browser safety): values to
    // PUT /v1/kv/{key} are raw bytes, every other body is JSON.
    if (body) {
      headers = curl_slist_append(headers, std::string_view(method) == "PUT" ? "Content-Type: application/octet-stream"
                                                                             : "Content-Type: application/json");
    }
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
  TlsClientOptions tls_;
  CURL* curl_ = nullptr;
};

}  // namespace

CliResult<std::unique_ptr<CliBackend>> open_embedded(const std::string& data_dir, bool create) {
  auto b = std::make_unique<EmbeddedBackend>();
  auto r = b->open(data_dir, create);
  if (!r) return r.error();
  return std::unique_ptr<CliBackend>(std::move(b));
}

CliResult<std::unique_ptr<CliBackend>> open_http(const std::string& url, TlsClientOptions tls) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return CliError{"--url must start with http:// or https:// (got '" + url + "')"};
  }
  if (url.starts_with("http://") && (!tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty())) {
    return CliError{"--cacert, --cert and --key need an https:// --url (got '" + url + "')"};
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) return CliError{"--cert and --key go together"};
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return std::unique_ptr<CliBackend>(std::make_unique<HttpBackend>(url, std::move(tls)));
}

}  // namespace strata::cli
