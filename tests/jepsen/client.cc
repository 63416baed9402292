#include "tests/jepsen/client.h"

#include <cstdio>
#include <thread>

namespace strata::jepsen {

namespace {

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

std::string key_name(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%02d", i);
  return buf;
}

KvClient::KvClient(std::vector<std::string> node_urls, long timeout_ms, bool stale_reads, std::string ca_file)
    : urls_(std::move(node_urls)),
      ca_file_(std::move(ca_file)),
      // Values are raw bytes: the server refuses a body without a JSON or octet-stream type.
      headers_(curl_slist_append(curl_slist_append(nullptr, "Expect:"), "Content-Type: application/octet-stream")),
      timeout_ms_(timeout_ms),
      stale_reads_(stale_reads) {
  for (size_t i = 0; i < urls_.size(); ++i) handles_.push_back(curl_easy_init());
  may_reuse_.assign(urls_.size(), false);
}

KvClient::~KvClient() {
  for (CURL* h : handles_) curl_easy_cleanup(h);
  curl_slist_free_all(headers_);
}

HttpAnswer KvClient::call(size_t node, const char* method, const std::string& key, const std::string* body) {
  HttpAnswer a;
  CURL* h = handles_.at(node);
  std::string url = urls_[node] + "/v1/kv/" + key;
  if (stale_reads_ && std::string_view(method) == "GET") url += "?consistency=stale";
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (!ca_file_.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, ca_file_.c_str());
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
  } else {
    a.connect_refused = rc == CURLE_COULDNT_CONNECT && !may_reuse_[node];
    a.body.clear();
  }
  // After an error libcurl closes the connection; after an answer it may keep it.
  may_reuse_[node] = rc == CURLE_OK;
  return a;
}

Op KvClient::put(uint32_t client, size_t node, const std::string& key, const std::string& value) {
  Op op{0, client, OpKind::put, key, value, Outcome::unknown, now_ns(), 0};
  HttpAnswer a = call(node, "PUT", key, &value);
  op.complete_ns = now_ns();
  op.outcome = classify_write(a);
  return op;
}

Op KvClient::del(uint32_t client, size_t node, const std::string& key) {
  Op op{0, client, OpKind::del, key, std::nullopt, Outcome::unknown, now_ns(), 0};
  HttpAnswer a = call(node, "DELETE", key, nullptr);
  op.complete_ns = now_ns();
  op.outcome = classify_write(a);
  return op;
}

Op KvClient::get(uint32_t client, size_t node, const std::string& key) {
  Op op{0, client, OpKind::get, key, std::nullopt, Outcome::fail, now_ns(), 0};
  HttpAnswer a = call(node, "GET", key, nullptr);
  op.complete_ns = now_ns();
  op.outcome = classify_read(a, &op.value);
  return op;
}

void run_client(uint32_t client, uint64_t seed, std::vector<std::string> node_urls, WorkloadOptions options,
                HistoryRecorder& history, const std::atomic<bool>& stop) {
  std::mt19937_64 rng(seed);
  KvClient kv(std::move(node_urls), options.timeout_ms, options.stale_reads, options.ca_file);
  uint64_t counter = 0;
  std::uniform_real_distribution<double> unit(0, 1);
  while (!stop.load(std::memory_order_relaxed)) {
    std::string key = key_name(static_cast<int>(rng() % static_cast<uint64_t>(options.keys)));
    size_t node = rng() % kv.nodes();
    double r = unit(rng);
    Op op;
    if (r < options.get_fraction) {
      op = kv.get(client, node, key);
    } else if (r < options.get_fraction + (1 - options.get_fraction) * 0.7) {
      std::string value = "c" + std::to_string(client) + "-" + std::to_string(counter++);
      op = kv.put(client, node, key, value);
    } else {
      op = kv.del(client, node, key);
    }
    bool failed = op.outcome == Outcome::fail;
    history.add(std::move(op));
    // A refused connection or a not_leader answer comes back at once; without a pause the
    // history would fill with thousands of such operations per fault, which prove nothing.
    if (failed) std::this_thread::sleep_for(std::chrono::milliseconds(options.pause_after_fail_ms));
  }
}

}  // namespace strata::jepsen
