// TLS on the client port and mutual TLS on the peer port (issue 18), through the real strata-server, libcurl (what curl
// uses), Python's ssl module and the strata CLI: a client with the right CA reads and writes; a client that does not
// trust the CA, plain HTTP to the TLS port, an expired certificate, and (with
// --client-cert-auth) a missing or foreign client certificate are all refused; SIGHUP swaps the
// certificate for new connections and keeps the old one when the new files are bad; a 3-node
// cluster replicates over peer mutual TLS and refuses a member that holds another node's
// certificate; bad certificate flags stop the server at start with exit code 2.
// Certificates are made here with the openssl command line (nothing secret is committed).
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "tests/system/cluster_harness.h"
#include "tests/system/test_pki.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

// Stdout of a shell command, and its exit status.
std::string sh_output(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// One strata-server with the given flags on a free loopback port; SIGKILLed at the end.
class TlsServer {
 public:
  TlsServer(const std::string& dir, std::vector<std::string> extra)
      : port_(free_loopback_port()), log_(dir + "/server.log") {
    std::vector<std::string> args = {env_binary("STRATA_SERVER"), "--listen", "127.0.0.1:" + std::to_string(port_),
                                     "--data-dir", dir + "/data"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = spawn_process(std::move(args), log_);
    bool up =
        eventually([&] { return read_file(log_).find("strata-server listening on") != std::string::npos; }, 20000ms);
    REQUIRE_MESSAGE(up, read_file(log_));
  }
  ~TlsServer() {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  std::string https() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string http() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_file(log_); }
  void signal(int sig) const { ::kill(pid_, sig); }

 private:
  uint16_t port_;
  std::string log_;
  pid_t pid_ = -1;
};

// strata-server's exit status and output for flags that must stop it at start.
int server_exit(const std::string& dir, const std::string& flags, std::string* output) {
  int status = 0;
  *output = sh_output(
      env_binary("STRATA_SERVER") + " --listen 127.0.0.1:0 --data-dir " + dir + "/data-bad " + flags + " 2>&1",
      &status);
  return status;
}

}  // namespace

TEST_CASE("HTTPS on the client port: the right CA works, everything else is refused") {
  TempDir dir;
  Pki pki(dir.path());
  pki.make_ca("ca");
  pki.make_cert("server", "ca", /*server=*/true);
  TlsServer server(dir.path(), {"--cert-file", pki.pem("server"), "--key-file", pki.key("server")});

  Http trusted(TlsClient{.ca_file = pki.pem("ca")});
  std::string value = "over TLS";
  CHECK(trusted.call("PUT", server.https() + "/v1/kv/secret", &value).status == 200);
  HttpResult got = trusted.call("GET", server.https() + "/v1/kv/secret");
  CHECK(got.status == 200);
  CHECK(got.body == value);
  HttpResult status = trusted.call("GET", server.https() + "/status");
  REQUIRE(status.status == 200);
  auto security = status.json()->at("security").as_object();
  CHECK(security.at("tls").as_bool());
  CHECK(security.at("client_auth").as_string() == "none");

  SUBCASE("a client that does not trust the CA is refused by its own check") {
    Http system_cas;  // the machine's CAs: they did not sign this certificate
    HttpResult r = system_cas.call("GET", server.https() + "/status");
    CHECK(r.status == 0);
    MESSAGE("libcurl: " << r.error);
  }
  SUBCASE("plain HTTP to the TLS port gets a plain 400 saying so") {
    Http plain;
    HttpResult r = plain.call("GET", server.http() + "/status");
    CHECK(r.status == 400);
    CHECK(r.body.find("tls_required") != std::string::npos);
  }
  SUBCASE("Python's ssl module with the CA") {
    int st = 0;
    std::string out = sh_output("python3 -c \"import ssl, urllib.request; ctx = ssl.create_default_context(cafile='" +
                                    pki.pem("ca") + "'); print(urllib.request.urlopen('" + server.https() +
                                    "/v1/kv/secret', context=ctx).read().decode())\" 2>&1",
                                &st);
    CHECK(st == 0);
    CHECK(out == value + "\n");
  }
  SUBCASE("the strata CLI with --cacert") {
    std::string cli = env_binary("STRATA_CLI") + " --url " + server.https() + " --cacert " + pki.pem("ca");
    CHECK(sh(cli + " put from-cli yes >/dev/null") == 0);
    int st = 0;
    CHECK(sh_output(cli + " get from-cli", &st) == "yes\n");
    CHECK(st == 0);
    // Without the CA the CLI refuses the server (exit 1, a message), and writes nothing.
    std::string out = sh_output(env_binary("STRATA_CLI") + " --url " + server.https() + " put other no 2>&1", &st);
    CHECK(st == 1);
    MESSAGE("strata CLI without --cacert: " << out);
  }
  // Every refusal above that reached the server is counted.
  HttpResult stats = trusted.call("GET", server.https() + "/v1/stats");
  REQUIRE(stats.status == 200);
  auto handshakes = stats.json()->at("http").at("tls_handshakes").as_object();
  CHECK(handshakes.at("completed").as_int64() >= 1);
}

TEST_CASE("answers longer than one TLS record arrive whole: values of 16 KiB + 1 to 1 MiB, and /metrics") {
  TempDir dir;
  Pki pki(dir.path());
  pki.make_ca("ca");
  pki.make_cert("server", "ca", /*server=*/true);
  TlsServer server(dir.path(), {"--cert-file", pki.pem("server"), "--key-file", pki.key("server")});
  Http client(TlsClient{.ca_file = pki.pem("ca")});
  // Regression: a response over 16 KiB stalled after its head until the I/O timeout.
  for (size_t n : {size_t{16 << 10} - 200, size_t{16 << 10} + 1, size_t{100'000}, size_t{1 << 20}}) {
    CAPTURE(n);
    std::string value(n, '\0');
    for (size_t i = 0; i < n; ++i) value[i] = static_cast<char>('a' + (i * 7919) % 26);
    REQUIRE(client.call("PUT", server.https() + "/v1/kv/big" + std::to_string(n), &value).status == 200);
    HttpResult got = client.call("GET", server.https() + "/v1/kv/big" + std::to_string(n));
    CHECK(got.status == 200);
    CHECK(got.body == value);
  }
  HttpResult metrics = client.call("GET", server.https() + "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.size() > (16 << 10));
  CHECK(metrics.body.find("process_cpu_seconds_total") != std::string::npos);
}

TEST_CASE("an expired server certificate is refused by the client") {
  TempDir dir;
  Pki pki(dir.path());
  pki.make_ca("ca");
  pki.make_cert("expired", "ca", /*server=*/true, /*days=*/-1);
  TlsServer server(dir.path(), {"--cert-file", pki.pem("expired"), "--key-file", pki.key("expired")});
  Http trusted(TlsClient{.ca_file = pki.pem("ca")});
  HttpResult r = trusted.call("GET", server.https() + "/status");
  CHECK(r.status == 0);
  MESSAGE("libcurl: " << r.error);
}

TEST_CASE("--client-cert-auth: only clients with a certificate from the trusted CA get in") {
  TempDir dir;
  Pki pki(dir.path());
  pki.make_ca("ca");
  pki.make_ca("rogue-ca");
  pki.make_cert("server", "ca", /*server=*/true);
  pki.make_cert("alice", "ca", /*server=*/false);
  pki.make_cert("mallory", "rogue-ca", /*server=*/false);
  TlsServer server(dir.path(), {"--cert-file", pki.pem("server"), "--key-file", pki.key("server"), "--trusted-ca-file",
                                pki.pem("ca"), "--client-cert-auth"});

  Http alice(TlsClient{.ca_file = pki.pem("ca"), .cert_file = pki.pem("alice"), .key_file = pki.key("alice")});
  Http anonymous(TlsClient{.ca_file = pki.pem("ca")});
  Http mallory(TlsClient{.ca_file = pki.pem("ca"), .cert_file = pki.pem("mallory"), .key_file = pki.key("mallory")});
  std::string value = "v";
  CHECK(alice.call("PUT", server.https() + "/v1/kv/k", &value).status == 200);
  HttpResult no_cert = anonymous.call("PUT", server.https() + "/v1/kv/k2", &value);
  CHECK(no_cert.status == 0);
  MESSAGE("no client certificate: " << no_cert.error);
  HttpResult foreign = mallory.call("PUT", server.https() + "/v1/kv/k3", &value);
  CHECK(foreign.status == 0);
  MESSAGE("a certificate from another CA: " << foreign.error);
  // Nothing the refused clients sent was written.
  CHECK(alice.call("GET", server.https() + "/v1/kv/k2").status == 404);
  CHECK(alice.call("GET", server.https() + "/v1/kv/k3").status == 404);
  HttpResult status = alice.call("GET", server.https() + "/status");
  REQUIRE(status.status == 200);
  CHECK(status.json()->at("security").at("client_auth").as_string() == "client-cert");
  HttpResult stats = alice.call("GET", server.https() + "/v1/stats");
  REQUIRE(stats.status == 200);
  CHECK(stats.json()->at("http").at("tls_handshakes").at("failed").as_int64() >= 2);
  HttpResult metrics = alice.call("GET", server.https() + "/metrics");
  CHECK(metrics.body.find("strata_http_tls_handshakes_total{result=\"failed\"}") != std::string::npos);
}

TEST_CASE("SIGHUP reloads the certificate for new connections and keeps the old one when the new files are bad") {
  TempDir dir;
  Pki pki(dir.path());
  pki.make_ca("old-ca");
  pki.make_ca("new-ca");
  pki.make_cert("old", "old-ca", /*server=*/true);
  pki.make_cert("new", "new-ca", /*server=*/true);
  std::string cert = dir.path() + "/live.pem", key = dir.path() + "/live.key";
  REQUIRE(sh("cp " + pki.pem("old") + " " + cert + " && cp " + pki.key("old") + " " + key) == 0);
  TlsServer server(dir.path(), {"--cert-file", cert, "--key-file", key});
  auto works_with = [&](const std::string& ca) {
    Http h(TlsClient{.ca_file = ca});  // a new handle: a new connection, a new handshake
    return h.call("GET", server.https() + "/status").status == 200;
  };
  CHECK(works_with(pki.pem("old-ca")));
  CHECK_FALSE(works_with(pki.pem("new-ca")));

  REQUIRE(sh("cp " + pki.pem("new") + " " + cert + " && cp " + pki.key("new") + " " + key) == 0);
  server.signal(SIGHUP);
  CHECK(eventually([&] { return works_with(pki.pem("new-ca")); }, 10000ms));
  CHECK_FALSE(works_with(pki.pem("old-ca")));
  CHECK(server.log().find("SIGHUP: reloaded") != std::string::npos);

  // A bad file: the reload fails, says so, and the node keeps serving with the certificate it has.
  std::ofstream(cert) << "not a certificate\n";
  server.signal(SIGHUP);
  CHECK(eventually(
      [&] { return server.log().find("reloading the client port's certificate failed") != std::string::npos; },
      10000ms));
  CHECK(works_with(pki.pem("new-ca")));
}

TEST_CASE(
    "a cluster over peer mutual TLS replicates; a member holding another node's certificate is refused until it gets its own") {
  TempDir dir;
  Pki pki(dir.path());
  pki.make_ca("ca");
  for (uint64_t id : {1, 2, 3}) pki.make_node_cert("node" + std::to_string(id), "ca", id);
  std::map<uint64_t, std::string> cert_name = {{1, "node1"}, {2, "node2"}, {3, "node3"}};
  Cluster c(env_binary("STRATA_SERVER"), 3);
  c.use_peer_tls(pki.pem("ca"),
                 [&](uint64_t id) { return std::pair{pki.pem(cert_name.at(id)), pki.key(cert_name.at(id))}; });
  c.start_all();
  uint64_t leader = c.wait_leader();
  REQUIRE_MESSAGE(leader != 0, c.log_tail(1));
  REQUIRE(c.put(leader, "over-tls", "yes").status == 200);
  for (uint64_t id : c.ids()) {
    CHECK(eventually([&] { return c.get(id, "over-tls", true).body == "yes"; }, 10000ms));
    auto st = c.status(id);
    REQUIRE(st.has_value());
    CHECK(st->at("security").at("peer_auth").as_string() == "mtls");
    std::string metrics = c.call("GET", c.url(id) + "/metrics").body;
    CHECK(metric_value(metrics, "strata_peer_tls") == 1);
    CHECK(metric_value(metrics, "strata_peer_tls_handshake_failures_total") == 0);
  }
  // A follower restarts holding another member's certificate (a stolen key, or a mix-up): the
  // others refuse it, so it misses what is written meanwhile.
  uint64_t follower = leader == 3 ? 2 : 3;
  uint64_t other = 6 - leader - follower;
  c.kill9(follower);
  cert_name[follower] = cert_name[other];
  c.start(follower);
  REQUIRE(c.put(leader, "while-refused", "v").status == 200);
  CHECK(eventually(
      [&] {
        return metric_value(c.call("GET", c.url(leader) + "/metrics").body, "strata_peer_auth_failures_total") > 0;
      },
      10000ms));
  std::this_thread::sleep_for(1000ms);
  CHECK(c.get(follower, "while-refused", true).status == 404);
  CHECK(c.log_tail(leader).find("certificate names node " + std::to_string(other)) != std::string::npos);
  // With its own certificate it catches up.
  c.kill9(follower);
  cert_name[follower] = "node" + std::to_string(follower);
  c.start(follower);
  CHECK(eventually([&] { return c.get(follower, "while-refused", true).body == "v"; }, 15000ms));
}

TEST_CASE("bad TLS flags stop strata-server at start with a clear message") {
  TempDir dir;
  Pki pki(dir.path());
  pki.make_ca("ca");
  pki.make_cert("server", "ca", /*server=*/true);
  pki.make_cert("other", "ca", /*server=*/true);
  std::string out;
  CHECK(server_exit(dir.path(), "--cert-file " + pki.pem("server"), &out) == 2);
  CHECK(out.find("--key-file") != std::string::npos);
  CHECK(server_exit(dir.path(), "--cert-file " + pki.pem("server") + " --key-file " + dir.path() + "/missing.key",
                    &out) == 2);
  CHECK(out.find("missing.key") != std::string::npos);
  CHECK(server_exit(dir.path(), "--cert-file " + pki.pem("server") + " --key-file " + pki.key("other"), &out) == 2);
  CHECK(out.find("does not belong") != std::string::npos);
  CHECK(server_exit(dir.path(),
                    "--cert-file " + pki.pem("server") + " --key-file " + pki.key("server") + " --client-cert-auth",
                    &out) == 2);
  CHECK(out.find("--trusted-ca-file") != std::string::npos);
  CHECK(server_exit(dir.path(), "--cert-file " + pki.key("server") + " --key-file " + pki.key("server"), &out) == 2);
  MESSAGE(out);
  // The peer port's flags: they need --peers, and a peer certificate needs the cluster CA.
  CHECK(server_exit(dir.path(), "--peer-cert-file " + pki.pem("server") + " --peer-key-file " + pki.key("server"),
                    &out) == 2);
  CHECK(out.find("need --peers") != std::string::npos);
  CHECK(server_exit(dir.path(),
                    "--node-id 1 --peers 1=127.0.0.1:0 --peer-cert-file " + pki.pem("server") + " --peer-key-file " +
                        pki.key("server"),
                    &out) == 2);
  CHECK(out.find("--peer-trusted-ca-file") != std::string::npos);
}

}  // namespace strata::testing
