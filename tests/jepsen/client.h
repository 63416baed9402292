// The Jepsen clients: each is a thread issuing get, put and delete over the native HTTP API
// against a random node, with a client timeout, and recording every operation (invoke time,
// completion time, outcome per outcome.h) in a shared HistoryRecorder.
//
// Values are unique: "c<client>-<counter>", so a read names the one put it observed. Keys are
// drawn from a small set (KeySpace) so that every key's history is long enough to be interesting
// and short enough for the checker's search.
// Thread-safety: one KvClient per thread (a libcurl easy handle per node, kept alive); the
// recorder and the stop flag are shared.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/jepsen/history.h"
#include "tests/jepsen/outcome.h"

namespace strata::jepsen {

// Monotonic nanoseconds (steady_clock): the time base of every history.
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string key_name(int i);  // "k00", "k01", ...

// Blocking HTTP calls to the nodes of a cluster. `node_urls` are "http://127.0.0.1:PORT".
class KvClient {
 public:
  // `stale_reads`: gets ask for ?consistency=stale (only for the negative control). `ca_file`:
  // for https:// URLs, the CA the nodes' certificates chain to (empty: the system's).
  KvClient(std::vector<std::string> node_urls, long timeout_ms, bool stale_reads = false, std::string ca_file = "");
  ~KvClient();
  KvClient(const KvClient&) = delete;
  KvClient& operator=(const KvClient&) = delete;

  // One request; never throws. `body` may be null.
  HttpAnswer call(size_t node, const char* method, const std::string& key, const std::string* body);

  // One operation of `client` on `node`, timed and classified. put: `value` is written.
  Op put(uint32_t client, size_t node, const std::string& key, const std::string& value);
  Op del(uint32_t client, size_t node, const std::string& key);
  Op get(uint32_t client, size_t node, const std::string& key);

  size_t nodes() const { return urls_.size(); }

 private:
  std::vector<std::string> urls_;
  std::string ca_file_;
  std::vector<CURL*> handles_;  // one per node, so keep-alive connections survive switching nodes
  // Per handle: the last transfer got an HTTP answer, so libcurl may hold a kept-alive
  // connection. A request sent on such a connection that dies unanswered (the node was killed
  // after reading it) is retried by libcurl on a fresh connection; if that one is refused the
  // transfer ends in CURLE_COULDNT_CONNECT although the request did reach the node. So a refused
  // connection proves "not sent" only when no connection could have been reused.
  std::vector<bool> may_reuse_;
  curl_slist* headers_;
  long timeout_ms_;
  bool stale_reads_;
};

struct WorkloadOptions {
  int keys = 30;
  double get_fraction = 0.5;  // of the rest, 70% put and 30% delete
  long timeout_ms = 1000;
  int pause_after_fail_ms = 20;  // a client's pause after an operation that failed
  // Negative control: reads ask for ?consistency=stale, which the API does not promise to be
  // linearizable; a run with faults is then expected to be caught by the checker.
  bool stale_reads = false;
  std::string ca_file;  // https:// node URLs: the CA their certificates chain to
};

// The body of one client thread: operations until `stop`, each recorded in `history`.
// Runs on: its own thread. `seed` fixes the sequence of choices (key, kind, node).
void run_client(uint32_t client, uint64_t seed, std::vector<std::string> node_urls, WorkloadOptions options,
                HistoryRecorder& history, const std::atomic<bool>& stop);

}  // namespace strata::jepsen
