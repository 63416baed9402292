// strata-server's configuration sources (issue 16; apps/server_config_sources.h) through the real
// binary: a TOML --config file, an --env-file, STRATA_* environment variables and flags, with the
// precedence flag > environment > env file > config file > default seen in GET /v1/config and in
// the start log; refusals (exit 2, naming the culprit) for unknown keys, tables and bad syntax;
// --log-format json.
#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/system/cluster_harness.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

// Sets environment variables for the processes started while it lives.
struct ScopedEnv {
  std::vector<std::string> names;
  explicit ScopedEnv(const std::map<std::string, std::string>& vars) {
    for (const auto& [k, v] : vars) {
      ::setenv(k.c_str(), v.c_str(), 1);
      names.push_back(k);
    }
  }
  ~ScopedEnv() {
    for (const auto& k : names) ::unsetenv(k.c_str());
  }
};

struct Started {
  pid_t pid = -1;
  std::string log;
  ~Started() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
  }
};

// Starts strata-server with `args` (after the binary), waits for its listening line.
void start(Started* s, const std::string& log, std::vector<std::string> args) {
  args.insert(args.begin(), env_binary("STRATA_SERVER"));
  s->log = log;
  s->pid = spawn_process(std::move(args), log);
  bool up = eventually([&] { return read_file(log).find("strata-server listening on") != std::string::npos; }, 20000ms);
  REQUIRE_MESSAGE(up, read_file(log));
}

// The value of one option in GET /v1/config.
std::string config_value(const std::string& url, const std::string& name) {
  Http http;
  auto r = http.call("GET", url + "/v1/config");
  auto v = r.json();
  REQUIRE(v.has_value());
  for (const auto& o : v->at("options").as_array()) {
    if (o.at("name").as_string() == name) return std::string(o.at("value").as_string());
  }
  return "";
}

// strata-server's exit status and output for a start that must fail.
int failed_start(const std::string& dir, const std::string& flags, std::string* out) {
  std::string cmd = env_binary("STRATA_SERVER") + " --listen 127.0.0.1:0 --data-dir " + dir + "/bad " + flags + " > " +
                    dir + "/bad.out 2>&1";
  int st = std::system(cmd.c_str());
  *out = read_file(dir + "/bad.out");
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST_CASE("flag > STRATA_* environment > --env-file > --config > default, seen in /v1/config and the start log") {
  TempDir dir;
  uint16_t port = free_loopback_port();
  const std::string toml = dir.path() + "/strata.toml", env_file = dir.path() + "/strata.env";
  std::ofstream(toml) << "# a comment\nlisten = \"127.0.0.1:" << port << "\"\ndata-dir = \"" << dir.path()
                      << "/data\"\nblock-cache-mb = 10\ncompression = \"zstd\"\nmmap-reads = false\n"
                      << "direct-reads = true\nlog-level = \"info\"\n";
  std::ofstream(env_file) << "# TinyLSM-style\nexport STRATA_BLOCK_CACHE_MB=20\nSTRATA_MAX_OPEN_FILES='77'\n\n";
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  {
    // Only the file: its values, the default for the rest.
    Started s;
    start(&s, dir.path() + "/a.log", {"--config", toml});
    CHECK(config_value(url, "block_cache_bytes") == std::to_string(10 << 20));
    CHECK(config_value(url, "compression") == "zstd");
    CHECK(config_value(url, "mmap_reads") == "false");
    CHECK(config_value(url, "use_direct_reads") == "true");
    std::string log = read_file(s.log);
    CHECK(log.find("config: --block-cache-mb=10 (config " + toml + ")") != std::string::npos);
    CHECK(log.find("config: --config=" + toml + " (flag)") != std::string::npos);
  }
  {
    // The env file beats the config file.
    Started s;
    start(&s, dir.path() + "/b.log", {"--config", toml, "--env-file", env_file});
    CHECK(config_value(url, "block_cache_bytes") == std::to_string(20 << 20));
    CHECK(config_value(url, "max_open_files") == "77");
    CHECK(config_value(url, "compression") == "zstd");
  }
  {
    // The environment beats the env file (and names the files itself); a stray STRATA_ variable is
    // only a warning.
    ScopedEnv env({{"STRATA_BLOCK_CACHE_MB", "30"},
                   {"STRATA_CONFIG", toml},
                   {"STRATA_ENV_FILE", env_file},
                   {"STRATA_NO_SUCH_OPTION", "1"}});
    Started s;
    start(&s, dir.path() + "/c.log", {});
    CHECK(config_value(url, "block_cache_bytes") == std::to_string(30 << 20));
    CHECK(config_value(url, "max_open_files") == "77");
    std::string log = read_file(s.log);
    CHECK(log.find("config: --block-cache-mb=30 (env STRATA_BLOCK_CACHE_MB)") != std::string::npos);
    CHECK(log.find("STRATA_NO_SUCH_OPTION names no strata-server option; ignored") != std::string::npos);
  }
  {
    // A flag beats everything.
    ScopedEnv env({{"STRATA_BLOCK_CACHE_MB", "30"}});
    Started s;
    start(&s, dir.path() + "/d.log", {"--config", toml, "--env-file", env_file, "--block-cache-mb", "40"});
    CHECK(config_value(url, "block_cache_bytes") == std::to_string(40 << 20));
    CHECK(read_file(s.log).find("config: --block-cache-mb=40 (flag)") != std::string::npos);
    // GET /v1/config "server": each option set, with its source.
    Http http;
    auto v = http.call("GET", url + "/v1/config").json();
    REQUIRE(v.has_value());
    std::map<std::string, std::pair<std::string, std::string>> server;
    for (const auto& o : v->at("server").as_array()) {
      server[std::string(o.at("name").as_string())] = {std::string(o.at("value").as_string()),
                                                       std::string(o.at("source").as_string())};
    }
    CHECK(server["block-cache-mb"] == std::pair<std::string, std::string>{"40", "flag"});
    CHECK(server["max-open-files"] == std::pair<std::string, std::string>{"77", "env-file " + env_file});
    CHECK(server["compression"] == std::pair<std::string, std::string>{"zstd", "config " + toml});
    CHECK(server.count("sync") == 0);  // at its default
  }
}

TEST_CASE("a config or env file with an unknown key, a table, bad syntax or a bad value stops the server at start") {
  TempDir dir;
  std::string out;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.path() + "/" + name) << text;
    return dir.path() + "/" + name;
  };
  CHECK(failed_start(dir.path(), "--config " + write("unknown.toml", "block-cache = 5\n"), &out) == 2);
  CHECK(out.find("'block-cache' names no strata-server option") != std::string::npos);
  CHECK(failed_start(dir.path(), "--config " + write("table.toml", "[engine]\nblock-cache-mb = 5\n"), &out) == 2);
  CHECK(out.find("'engine' must be a string, number or boolean") != std::string::npos);
  CHECK(failed_start(dir.path(), "--config " + write("syntax.toml", "data-dir = \"unterminated\n"), &out) == 2);
  CHECK(out.find("(line 1)") != std::string::npos);
  CHECK(failed_start(dir.path(), "--config " + dir.path() + "/missing.toml", &out) == 2);
  CHECK(failed_start(dir.path(), "--config " + write("value.toml", "compression = \"gzip\"\n"), &out) == 2);
  CHECK(out.find("--compression expects none, lz4 or zstd") != std::string::npos);
  CHECK(failed_start(dir.path(), "--env-file " + write("bad.env", "STRATA_BLOCK_CACHE=5\n"), &out) == 2);
  CHECK(out.find("bad.env:1: STRATA_BLOCK_CACHE names no strata-server option") != std::string::npos);
  CHECK(failed_start(dir.path(), "--env-file " + write("noeq.env", "# ok\nSTRATA_DATA_DIR\n"), &out) == 2);
  CHECK(out.find("noeq.env:2: expected KEY=VALUE") != std::string::npos);
  CHECK(failed_start(dir.path(), "--env-file " + dir.path() + "/missing.env", &out) == 2);
  CHECK(out.find("cannot read --env-file") != std::string::npos);
}

TEST_CASE("every flag with a value refuses a malformed one at start, naming the flag (a table from --help)") {
  TempDir dir;
  // The flags and their defaults, as --help lists them: "  --name arg (=default)   text".
  std::string help;
  {
    FILE* p = ::popen((env_binary("STRATA_SERVER") + " --help").c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) help.append(buf, n);
    REQUIRE(::pclose(p) == 0);
  }
  std::istringstream lines(help);
  std::vector<std::pair<std::string, std::string>> cases;  // flag, malformed value
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string flag, arg, def;
    if (!(words >> flag >> arg) || !flag.starts_with("--") || arg != "arg") continue;
    words >> def;
    if (!def.starts_with("(=")) continue;
    std::string value = def.substr(2, def.size() - 3);
    bool numeric = !value.empty() && value.find_first_not_of("0123456789.") == std::string::npos;
    if (numeric) {
      cases.emplace_back(flag, "12x");
    } else if (flag == "--sync" || flag == "--log-level" || flag == "--log-format" || flag == "--compression") {
      cases.emplace_back(flag, "bogus");
    }
  }
  CHECK(cases.size() >= 25);  // the numeric limits, sizes and timeouts, and the four enumerations
  std::string out;
  for (const auto& [flag, value] : cases) {
    CAPTURE(flag);
    CHECK(failed_start(dir.path(), flag + " " + value, &out) == 2);
    CHECK_MESSAGE(out.find(flag) != std::string::npos, out);
  }
  // A switch takes no value; a value given to it is refused too.
  CHECK(failed_start(dir.path(), "--access-log=yes", &out) == 2);
}

TEST_CASE("advertise flags: refused without --peers, and malformed or wildcard values are refused by name") {
  TempDir dir;
  std::string out;
  CHECK(failed_start(dir.path(), "--advertise-client-url http://127.0.0.1:8000", &out) == 2);
  CHECK(out.find("--advertise-client-url needs cluster mode (--peers)") != std::string::npos);
  CHECK(failed_start(dir.path(), "--join http://127.0.0.1:8000", &out) == 2);
  CHECK(out.find("--join needs cluster mode") != std::string::npos);
  const std::string cluster = "--peers 1=127.0.0.1:1 --node-id 1 ";
  struct Bad {
    std::string flags;
    std::string says;
  };
  for (const Bad& bad : {
           Bad{"--advertise-client-url https://127.0.0.1:8000", "must start with http://"},
           Bad{"--advertise-client-url http://0.0.0.0:8000", "wildcard address"},
           Bad{"--advertise-client-url http://[::]:8000", "wildcard address"},
           Bad{"--advertise-client-url http://node-1", "expected http://HOST:PORT"},
           Bad{"--advertise-client-url http://node-1:8000/v1", "expected http://HOST:PORT"},
           Bad{"--advertise-client-url http://node-1:99999", "expected http://HOST:PORT"},
           Bad{"--advertise-peer-address 0.0.0.0:7001", "wildcard address"},
           Bad{"--advertise-peer-address node-1", "expected HOST:PORT"},
           Bad{"--advertise-peer-address ::1:7001", "expected HOST:PORT"},
       }) {
    CAPTURE(bad.flags);
    CHECK(failed_start(dir.path(), cluster + bad.flags, &out) == 2);
    CHECK_MESSAGE(out.find(bad.says) != std::string::npos, out);
  }
}

TEST_CASE(
    "--log-format json: every log line is one JSON object with time, level, component, node_id and msg; --access-log") {
  TempDir dir;
  uint16_t port = free_loopback_port();
  Started s;
  start(&s, dir.path() + "/json.log",
        {"--listen", "127.0.0.1:" + std::to_string(port), "--data-dir", dir.path() + "/data", "--node-id", "n7",
         "--log-format", "json", "--block-cache-mb", "8", "--log-level", "debug", "--access-log"});
  std::string v = "quote \" backslash \\ newline \n";
  Http http;
  REQUIRE(http.call("PUT", "http://127.0.0.1:" + std::to_string(port) + "/v1/kv/k", &v).status == 200);
  ::kill(s.pid, SIGTERM);
  int st = 0;
  ::waitpid(s.pid, &st, 0);
  s.pid = -1;
  std::ifstream in(s.log);
  size_t objects = 0;
  bool config_line = false, shutdown_line = false, access_line = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("strata-server listening on")) continue;  // stdout, for scripts
    CAPTURE(line);
    boost::system::error_code ec;
    auto value = boost::json::parse(line, ec);
    REQUIRE(!ec);
    REQUIRE(value.is_object());
    const auto& o = value.as_object();
    CHECK(o.at("time").as_string().size() == 24);
    CHECK(o.at("node_id").as_string() == "n7");
    CHECK(o.contains("level"));
    CHECK(o.contains("msg"));
    if (o.contains("component") && o.at("component") == "strata-server" &&
        o.at("msg") == "config: --block-cache-mb=8 (flag)") {
      config_line = true;
    }
    if (std::string_view(o.at("msg").as_string()).find("shutting down") != std::string_view::npos) shutdown_line = true;
    // --access-log: "<address> <METHOD> <target> <status> <bytes> <ms>ms".
    if (o.contains("component") && o.at("component") == "access" &&
        std::string_view(o.at("msg").as_string()).starts_with("127.0.0.1 PUT /v1/kv/k 200 ")) {
      access_line = true;
    }
    ++objects;
  }
  CHECK(objects >= 3);
  CHECK(config_line);
  CHECK(shutdown_line);
  CHECK(access_line);
  std::string out;
  CHECK(failed_start(dir.path(), "--log-format yaml", &out) == 2);
  CHECK(out.find("--log-format expects text or json") != std::string::npos);
}

}  // namespace
}  // namespace strata::testing
