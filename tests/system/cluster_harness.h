// A cluster of real strata-server processes on 127.0.0.1 for system tests: free ports, start,
// SIGKILL, restart, JSON over HTTP with libcurl, and waiting on conditions with deadlines.
// Every process is SIGKILLed when the Cluster is destroyed (also when a test fails).
// Thread-safety: one test thread uses a Cluster; Http handles are per thread.
#pragma once

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/free_port.h"
#include "tests/system/spawn.h"
#include "tests/test_util.h"

namespace strata::testing {

using Clock = std::chrono::steady_clock;

inline size_t curl_append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct HttpResult {
  long status = 0;  // 0: transport error (refused, timeout, a TLS handshake that failed)
  std::string body;
  std::string error;  // libcurl's reason when status is 0
  std::optional<boost::json::value> json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec) return std::nullopt;
    return v;
  }
};

// What an https:// call verifies and presents (curl's --cacert, --cert, --key). An empty ca_file
// means the system's CAs.
struct TlsClient {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// One keep-alive libcurl handle.
class Http {
 public:
  explicit Http(TlsClient tls) : Http() { tls_ = std::move(tls); }
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;
  void set_tls(TlsClient tls) { tls_ = std::move(tls); }
  // PUT bodies are raw values (application/octet-stream), any other body is JSON: the
  // server refuses a body without one of those types (415).
  Http()
      : curl_(curl_easy_init()),
        headers_(curl_slist_append(nullptr, "Expect:")),
        octets_(curl_slist_append(curl_slist_append(nullptr, "Expect:"), "Content-Type: application/octet-stream")),
        json_(curl_slist_append(curl_slist_append(nullptr, "Expect:"), "Content-Type: application/json")) {}
  ~Http() {
    curl_slist_free_all(headers_);
    curl_slist_free_all(octets_);
    curl_slist_free_all(json_);
    curl_easy_cleanup(curl_);
  }
  HttpResult call(const std::string& method, const std::string& url, const std::string* body = nullptr,
                  long timeout_ms = 10000) {
    HttpResult r;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_slist* headers = !body ? headers_ : method == "PUT" ? octets_ : json_;
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, curl_append);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    if (body) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    if (!tls_.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, tls_.ca_file.c_str());
    if (!tls_.cert_file.empty()) curl_easy_setopt(curl_, CURLOPT_SSLCERT, tls_.cert_file.c_str());
    if (!tls_.key_file.empty()) curl_easy_setopt(curl_, CURLOPT_SSLKEY, tls_.key_file.c_str());
    CURLcode rc = curl_easy_perform(curl_);
    if (rc == CURLE_OK) {
      curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    } else {
      r.error = curl_easy_strerror(rc);
    }
    return r;
  }

 private:
  TlsClient tls_;
  CURL* curl_;
  curl_slist* headers_;
  curl_slist* octets_;
  curl_slist* json_;
};

// Waits for `cond` with a deadline, polling (the condition is in another process).
inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  auto until = Clock::now() + limit;
  auto pause = std::chrono::milliseconds(5);
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
  return cond();
}

// The binary named by environment variable `name` (meson sets STRATA_SERVER, STRATA_CLI).
inline std::string env_binary(const char* name) {
  const char* s = std::getenv(name);
  REQUIRE_MESSAGE(s != nullptr, name << " must name a binary");
  return s;
}

// A whole file ("" if it cannot be read): a node's log, a command's output.
inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The value of an unlabelled metric in a /metrics text (0 when absent).
inline uint64_t metric_value(const std::string& metrics, const std::string& name) {
  size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(metrics.substr(at + name.size() + 2));
}

class Cluster {
 public:
  struct NodeProc {
    uint64_t id = 0;
    uint16_t http_port = 0;
    uint16_t peer_port = 0;
    pid_t pid = -1;
    std::string dir;
    std::string log;
    std::vector<std::string> extra;  // extra flags (e.g. --join URL)
    // Where --listen and --peer-listen bind (the harness always connects through 127.0.0.1).
    std::string listen_host = "127.0.0.1";
    std::string peer_listen_host = "127.0.0.1";
  };

  Cluster(std::string binary, int n, std::vector<std::string> extra_args = {})
      : binary_(std::move(binary)), extra_args_(std::move(extra_args)) {
    for (int i = 1; i <= n; ++i) add_slot(static_cast<uint64_t>(i));
  }
  ~Cluster() {
    for (auto& [id, n] : nodes_) kill9(id);
  }

  // Reserves ports and a directory for node `id` (not started).
  NodeProc& add_slot(uint64_t id) {
    NodeProc p;
    p.id = id;
    p.http_port = free_loopback_port();
    p.peer_port = free_loopback_port();
    p.dir = tmp_.path() + "/node" + std::to_string(id);
    p.log = tmp_.path() + "/node" + std::to_string(id) + ".log";
    return nodes_[id] = p;
  }

  std::string peers_flag(bool include_all = true) const {
    std::string s;
    for (const auto& [id, n] : nodes_) {
      if (!include_all && !initial_.count(id) && id != 0) continue;
      if (!s.empty()) s += ",";
      s += std::to_string(id) + "=127.0.0.1:" + std::to_string(n.peer_port);
    }
    return s;
  }

  void start_all() {
    for (auto& [id, n] : nodes_) initial_[id] = true;
    for (auto& [id, n] : nodes_) start(id);
  }

  void start(uint64_t id) {
    NodeProc& n = nodes_.at(id);
    std::vector<std::string> args = {binary_, "--node-id", std::to_string(id), "--listen",
                                     n.listen_host + ":" + std::to_string(n.http_port), "--peer-listen",
                                     n.peer_listen_host + ":" + std::to_string(n.peer_port), "--peers", peers_flag(),
                                     "--data-dir", n.dir,
                                     // Odd nodes run one I/O thread (HTTP connections without
                                     // strands), even nodes two (a strand per connection).
                                     "--threads", id % 2 == 1 ? "1" : "2"};
    for (const auto& a : extra_args_) args.push_back(a);
    if (peer_cert_of_) {
      auto [cert, key] = peer_cert_of_(id);
      args.insert(args.end(),
                  {"--peer-cert-file", cert, "--peer-key-file", key, "--peer-trusted-ca-file", peer_ca_file_});
    }
    for (const auto& a : n.extra) args.push_back(a);
    n.pid = spawn_process(std::move(args), n.log);
  }

  void kill9(uint64_t id) {
    NodeProc& n = nodes_.at(id);
    if (n.pid <= 0) return;
    ::kill(n.pid, SIGKILL);
    int st = 0;
    ::waitpid(n.pid, &st, 0);
    n.pid = -1;
  }

  // Every node serves its client port over TLS with this certificate (one for all: it names
  // 127.0.0.1), and the harness's calls trust `ca_file`. REQUIRES: before the nodes start.
  void use_tls(const std::string& ca_file, const std::string& cert_file, const std::string& key_file) {
    extra_args_.insert(extra_args_.end(), {"--cert-file", cert_file, "--key-file", key_file});
    scheme_ = "https";
    tls_client_ = TlsClient{.ca_file = ca_file};
    http_.set_tls(tls_client_);
  }
  // Every node runs its peer port over mutual TLS: the certificate and key cert_of(id) answers
  // when node `id` starts (asked at each start, so a test may swap them), chaining to `ca_file`.
  // REQUIRES: before the nodes start.
  void use_peer_tls(const std::string& ca_file,
                    std::function<std::pair<std::string, std::string>(uint64_t id)> cert_of) {
    peer_ca_file_ = ca_file;
    peer_cert_of_ = std::move(cert_of);
  }
  // What a client of this cluster must trust (empty without use_tls()).
  const TlsClient& tls_client() const { return tls_client_; }

  // The cluster's scratch directory (node directories and logs live in it).
  const std::string& dir() const { return tmp_.path(); }
  bool alive(uint64_t id) const { return nodes_.at(id).pid > 0; }
  std::string url(uint64_t id) const { return scheme_ + "://127.0.0.1:" + std::to_string(nodes_.at(id).http_port); }
  NodeProc& node(uint64_t id) { return nodes_.at(id); }
  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> out;
    for (const auto& [id, n] : nodes_) out.push_back(id);
    return out;
  }

  std::optional<boost::json::object> status(uint64_t id) {
    auto r = http_.call("GET", url(id) + "/status", nullptr, 2000);
    if (r.status != 200) return std::nullopt;
    auto v = r.json();
    if (!v || !v->is_object()) return std::nullopt;
    return v->get_object();
  }

  // The leader that every running node agrees on (0 if none yet).
  uint64_t agreed_leader() {
    uint64_t leader = 0;
    for (const auto& [id, n] : nodes_) {
      if (n.pid <= 0) continue;
      auto s = status(id);
      if (!s) return 0;
      uint64_t l = s->at("leader").as_object().at("id").to_number<uint64_t>();
      if (l == 0 || (leader != 0 && l != leader)) return 0;
      leader = l;
    }
    if (leader == 0 || !alive(leader)) return 0;
    auto ls = status(leader);
    if (!ls || ls->at("role").as_string() != "leader") return 0;
    return leader;
  }

  uint64_t wait_leader(std::chrono::milliseconds limit = std::chrono::milliseconds(15000)) {
    uint64_t leader = 0;
    eventually([&] { return (leader = agreed_leader()) != 0; }, limit);
    return leader;
  }

  HttpResult put(uint64_t id, const std::string& key, const std::string& value, long timeout_ms = 10000) {
    return http_.call("PUT", url(id) + "/v1/kv/" + key, &value, timeout_ms);
  }
  HttpResult del(uint64_t id, const std::string& key) { return http_.call("DELETE", url(id) + "/v1/kv/" + key); }
  HttpResult get(uint64_t id, const std::string& key, bool stale = false) {
    return http_.call("GET", url(id) + "/v1/kv/" + key + (stale ? "?consistency=stale" : ""), nullptr, 10000);
  }
  HttpResult call(const std::string& method, const std::string& url, const std::string* body = nullptr) {
    return http_.call(method, url, body);
  }

  std::string log_tail(uint64_t id) {
    std::ifstream in(nodes_.at(id).log);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > 3000 ? all.substr(all.size() - 3000) : all;
  }

 private:
  std::string binary_;
  std::vector<std::string> extra_args_;
  TempDir tmp_;
  std::map<uint64_t, NodeProc> nodes_;
  std::map<uint64_t, bool> initial_;
  std::string scheme_ = "http";
  TlsClient tls_client_;
  std::string peer_ca_file_;
  std::function<std::pair<std::string, std::string>(uint64_t)> peer_cert_of_;
  Http http_;
};

}  // namespace strata::testing
