// System test: load the Debian packages data set (63,436 records) into a real strata-server over
// HTTP with 8 keep-alive connections, SIGKILL the server, restart it on the same data directory
// and check every acknowledged value byte for byte, plus scans and the TinyLSM endpoints.
//
//   http_load_kill_test STRATA_SERVER_BINARY DATA_SET.jsonl.zst
//
// Output is TAP; the summary line is
//   # records=63436 acked_lost=0 wrong_value=0
// Fails when the data set is missing (nothing exercised is a failure, not a pass).
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

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/free_port.h"
#include "tests/system/data_set.h"
#include "net/http/json_codec.h"

namespace json = boost::json;
namespace fs = std::filesystem;
using strata::net::http::base64_decode;
using strata::net::http::percent_encode;
using strata::testing::free_loopback_port;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kConnections = 8;

int g_test = 0;
int g_failed = 0;

void tap(bool ok, const std::string& what) {
  ++g_test;
  if (!ok) ++g_failed;
  std::printf("%s %d - %s\n", ok ? "ok" : "not ok", g_test, what.c_str());
  std::fflush(stdout);
}

// Reads the zstd-compressed JSON lines {"key","value"} with the streaming API.
using strata::testing::load_data_set;  // tests/system/data_set.h

pid_t start_server(const std::string& binary, uint16_t port, const std::string& data_dir, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    std::string listen = "127.0.0.1:" + std::to_string(port);
    ::execl(binary.c_str(), binary.c_str(), "--listen", listen.c_str(), "--data-dir", data_dir.c_str(), "--sync",
            "always", "--threads", "2", static_cast<char*>(nullptr));
    std::perror("execl");
    ::_exit(127);
  }
  return pid;
}

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One keep-alive HTTP connection (a libcurl easy handle).
class Client {
 public:
  // PUT bodies are raw values, any other body is JSON (the server refuses a body without
  // one of those types).
  explicit Client(std::string base) : base_(std::move(base)), curl_(curl_easy_init()) {
    headers_ = curl_slist_append(nullptr, "Expect:");
    octets_ = curl_slist_append(curl_slist_append(nullptr, "Expect:"), "Content-Type: application/octet-stream");
    json_ = curl_slist_append(curl_slist_append(nullptr, "Expect:"), "Content-Type: application/json");
  }
  ~Client() {
    curl_slist_free_all(headers_);
    curl_slist_free_all(octets_);
    curl_slist_free_all(json_);
    curl_easy_cleanup(curl_);
  }
  // Returns the HTTP status (0 on a transport error) and fills *body.
  long call(const char* method, const std::string& target, const std::string* request_body, std::string* body,
            long timeout_ms = 60000) {
    body->clear();
    std::string url = base_ + target;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method);
    curl_slist* headers = !request_body ? headers_ : std::string_view(method) == "PUT" ? octets_ : json_;
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 5000L));
    if (request_body) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, request_body->data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_body->size()));
    }
    if (curl_easy_perform(curl_) != CURLE_OK) return 0;
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }

 private:
  std::string base_;
  CURL* curl_;
  curl_slist* headers_;
  curl_slist* octets_;
  curl_slist* json_;
};

// Polls GET /status until it answers 200, the server exits, or the deadline passes.
bool wait_ready(const std::string& base, pid_t pid, std::chrono::seconds deadline) {
  Client c(base);
  auto until = Clock::now() + deadline;
  std::string body;
  auto backoff = std::chrono::milliseconds(5);
  while (Clock::now() < until) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    if (c.call("GET", "/status", nullptr, &body, 1000) == 200) return true;
    std::this_thread::sleep_for(backoff);  // polling interval while waiting on the condition
    backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
  }
  return false;
}

std::string tail_of(const std::string& path) {
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

// Sends raw bytes on a fresh connection and returns the status line of the answer ("" if none).
std::string raw_exchange(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer and close before reading everything
    sent += static_cast<size_t>(n);
  }
  std::string answer;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
    if (answer.find("\r\n") != std::string::npos) break;
  }
  ::close(fd);
  return answer.substr(0, answer.find("\r\n"));
}

// Fetches [start, end) (or the prefix) with pagination; nullopt on any error.
std::optional<std::vector<std::pair<std::string, std::string>>> http_scan(Client& c, std::string query_base,
                                                                          size_t limit_total, size_t page) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string after;  // resume key for the next page
  for (;;) {
    size_t want = limit_total == 0 ? page : std::min(page, limit_total - out.size());
    std::string target = "/v1/kv?encoding=base64&limit=" + std::to_string(want) + query_base;
    if (!after.empty()) target += "&start=" + percent_encode(after);
    std::string body;
    if (c.call("GET", target, nullptr, &body) != 200) return std::nullopt;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    auto& o = v.as_object();
    if (!o.contains("items") || !o.at("items").is_array()) return std::nullopt;
    for (auto& item : o.at("items").as_array()) {
      auto k = base64_decode(item.as_object().at("key").as_string());
      auto val = base64_decode(item.as_object().at("value").as_string());
      if (!k || !val) return std::nullopt;
      out.emplace_back(std::move(*k), std::move(*val));
    }
    bool more = o.contains("truncated") && o.at("truncated").is_bool() && o.at("truncated").as_bool();
    if (!more || o.at("items").as_array().empty() || (limit_total != 0 && out.size() >= limit_total)) break;
    after = out.back().first + std::string(1, '\0');
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> expected_range(const std::map<std::string, std::string>& m,
                                                                const std::string& start, const std::string& end,
                                                                size_t limit) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = m.lower_bound(start); it != m.end(); ++it) {
    if (!end.empty() && it->first >= end) break;
    if (limit != 0 && out.size() >= limit) break;
    out.emplace_back(it->first, it->second);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::printf("1..0 # usage: http_load_kill_test STRATA_SERVER DATA_SET\n");
    return 2;
  }
  std::string server = argv[1];
  std::string data_set = argv[2];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::printf("1..10\n");

  std::string error;
  auto records = load_data_set(data_set, &error);
  tap(records && records->size() == 63436,
      "data set loaded: " + (records ? std::to_string(records->size()) + " records" : error));
  if (!records || records->empty()) {
    std::printf("Bail out! the data set %s is required\n", data_set.c_str());
    return 1;
  }
  std::vector<const std::pair<const std::string, std::string>*> all;
  all.reserve(records->size());
  for (const auto& kv : *records) all.push_back(&kv);

  fs::path dir = fs::temp_directory_path() / ("strata-http-kill-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string data_dir = (dir / "data").string();
  std::string log = (dir / "server.log").string();
  uint16_t port = free_loopback_port();
  std::string base = "http://127.0.0.1:" + std::to_string(port);

  pid_t pid = start_server(server, port, data_dir, log);
  bool ready = wait_ready(base, pid, std::chrono::seconds(60));
  tap(ready, "server ready on " + base);
  if (!ready) {
    std::printf("# server log:\n# %s\nBail out! server did not start\n", tail_of(log).c_str());
    ::kill(pid, SIGKILL);
    return 1;
  }

  // Hostile requests at the wire get 4xx answers and leave the server serving.
  {
    std::string big_header =
        "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
    std::string big_body =
        "PUT /v1/kv/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 17000000\r\n\r\n";
    std::string garbage = "GARBAGE\x01\x02 / HTTP/9\r\n\r\n";
    std::string s431 = raw_exchange(port, big_header);
    std::string s413 = raw_exchange(port, big_body);
    std::string s400 = raw_exchange(port, garbage);
    Client c(base);
    std::string body;
    bool alive = c.call("GET", "/status", nullptr, &body) == 200;
    tap(s431.starts_with("HTTP/1.1 431") && s413.starts_with("HTTP/1.1 413") && s400.starts_with("HTTP/1.1 400") &&
            alive,
        "oversized header -> 431, oversized body -> 413, garbage -> 400, server still serving (" + s431 + " | " + s413 +
            " | " + s400 + ")");
  }

  // Load: 8 connections, record i on connection i % 8.
  auto load_start = Clock::now();
  std::vector<uint8_t> acked(all.size(), 0);
  std::atomic<size_t> failed_puts{0};
  std::atomic<long> first_bad_status{-1};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kConnections; ++t) {
      threads.emplace_back([&, t] {
        Client c(base);
        std::string body;
        for (size_t i = static_cast<size_t>(t); i < all.size(); i += kConnections) {
          long st = c.call("PUT", "/v1/kv/" + percent_encode(all[i]->first), &all[i]->second, &body);
          if (st == 200) {
            acked[i] = 1;
          } else {
            ++failed_puts;
            long expected = -1;
            first_bad_status.compare_exchange_strong(expected, st);
          }
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  std::printf("# loaded %zu records in %.1f s (%.0f puts/s, %d connections, --sync always)\n", all.size(), load_s,
              static_cast<double>(all.size()) / load_s, kConnections);
  tap(failed_puts == 0, "every PUT acknowledged with 200 (failed=" + std::to_string(failed_puts.load()) +
                            ", first bad status=" + std::to_string(first_bad_status.load()) + ")");

  // TinyLSM endpoints before the kill.
  {
    Client c(base);
    std::string body;
    std::string set1 = R"({"key":"tiny/a","value":"tiny value \"a\"\nwith a newline"})";
    std::string set2 = R"({"key":"tiny/b","value":"b"})";
    std::string del2 = R"({"key":"tiny/b"})";
    bool ok = c.call("POST", "/set", &set1, &body) == 200 && body == R"({"ok":true})";
    ok = ok && c.call("POST", "/set", &set2, &body) == 200;
    ok = ok && c.call("POST", "/delete", &del2, &body) == 200;
    ok = ok && c.call("GET", "/get?key=tiny%2Fa", nullptr, &body) == 200 &&
         body == R"({"key":"tiny/a","value":"tiny value \"a\"\nwith a newline"})";
    ok = ok && c.call("GET", "/get?key=tiny%2Fb", nullptr, &body) == 200 && body == R"({"key":"tiny/b","value":null})";
    ok = ok && c.call("GET", "/status", nullptr, &body) == 200 && body.find(R"("role":"leader")") != std::string::npos;
    tap(ok, "TinyLSM /set, /delete, /get and /status before the kill (last body: " + body.substr(0, 200) + ")");
  }

  ::kill(pid, SIGKILL);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  std::printf("# server killed with SIGKILL\n");

  pid = start_server(server, port, data_dir, log);
  ready = wait_ready(base, pid, std::chrono::seconds(300));
  tap(ready, "server restarted on the same data directory");
  if (!ready) {
    std::printf("# server log:\n# %s\nBail out! server did not restart\n", tail_of(log).c_str());
    ::kill(pid, SIGKILL);
    return 1;
  }

  // Verify every acknowledged value.
  std::atomic<size_t> acked_lost{0};
  std::atomic<size_t> wrong_value{0};
  std::atomic<size_t> checked{0};
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kConnections; ++t) {
      threads.emplace_back([&, t] {
        Client c(base);
        std::string body;
        for (size_t i = static_cast<size_t>(t); i < all.size(); i += kConnections) {
          if (!acked[i]) continue;
          ++checked;
          long st = c.call("GET", "/v1/kv/" + percent_encode(all[i]->first), nullptr, &body);
          if (st == 404) {
            if (acked_lost++ < 5) std::printf("# lost: %s\n", all[i]->first.c_str());
          } else if (st != 200 || body != all[i]->second) {
            if (wrong_value++ < 5) std::printf("# wrong value (status %ld): %s\n", st, all[i]->first.c_str());
          }
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  std::printf("# records=%zu acked_lost=%zu wrong_value=%zu\n", checked.load(), acked_lost.load(), wrong_value.load());
  tap(checked == all.size() && acked_lost == 0 && wrong_value == 0, "every acknowledged value survived the SIGKILL");

  // Scans against the expected sorted map.
  {
    Client c(base);
    bool ok = true;
    std::string detail;
    auto lib = http_scan(c, "&prefix=pkg%2Flib", 0, 1000);
    auto lib_expected = expected_range(*records, "pkg/lib", "pkg/lic", 0);
    if (!lib || *lib != lib_expected) {
      ok = false;
      detail += " prefix pkg/lib: got " + std::to_string(lib ? lib->size() : 0) + " want " +
                std::to_string(lib_expected.size()) + ";";
    }
    auto range = http_scan(c, "&end=pkg%2Fn", 0, 777);
    // (start is set by pagination; the first page starts at the beginning)
    auto range_expected = expected_range(*records, "", "pkg/n", 0);
    if (!range || *range != range_expected) {
      ok = false;
      detail += " range [, pkg/n): got " + std::to_string(range ? range->size() : 0) + ";";
    }
    std::string body;
    long st = c.call("GET", "/v1/kv?encoding=base64&start=pkg%2Fm&end=pkg%2Fmz&limit=10", nullptr, &body);
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    auto want = expected_range(*records, "pkg/m", "pkg/mz", 10);
    bool lim_ok = st == 200 && !ec && v.as_object().at("count").to_number<size_t>() == want.size();
    if (lim_ok) {
      auto& items = v.as_object().at("items").as_array();
      for (size_t i = 0; i < want.size(); ++i) {
        lim_ok = lim_ok && base64_decode(items[i].as_object().at("key").as_string()) == want[i].first &&
                 base64_decode(items[i].as_object().at("value").as_string()) == want[i].second;
      }
    }
    if (!lim_ok) {
      ok = false;
      detail += " start/end/limit=10 mismatch;";
    }
    tap(ok, "scans match the expected sorted map (prefix pkg/lib: " + std::to_string(lib_expected.size()) +
                " items, range, limit)" + detail);
  }

  // TinyLSM state after the restart.
  {
    Client c(base);
    std::string body;
    bool ok = c.call("GET", "/get?key=tiny%2Fa", nullptr, &body) == 200 &&
              body == R"({"key":"tiny/a","value":"tiny value \"a\"\nwith a newline"})";
    ok = ok && c.call("GET", "/get?key=tiny%2Fb", nullptr, &body) == 200 && body == R"({"key":"tiny/b","value":null})";
    tap(ok, "TinyLSM writes survived the kill (deleted key stays deleted)");
  }

  // Clean shutdown on SIGTERM.
  ::kill(pid, SIGTERM);
  ::waitpid(pid, &wstatus, 0);
  bool clean = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
  tap(clean, "SIGTERM shuts the server down with exit status 0");
  if (g_failed != 0) std::printf("# server log:\n# %s\n", tail_of(log).c_str());
  fs::remove_all(dir);
  return g_failed == 0 ? 0 : 1;
}
