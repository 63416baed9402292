// strata-server: one Strata node. Opens the DB in --data-dir on an io_context run by --threads
// threads, serves the HTTP API (docs/http_api.md) on --listen, and shuts down cleanly on SIGINT or
// SIGTERM: stop accepting, finish in-flight requests, close the DB (syncs the WAL), exit 0.
//
// Cluster mode (--peers 1=HOST:PORT,2=HOST:PORT,...): the node is a Raft member (--node-id N)
// replicating the DB (lib/replication/node.h) over the peer transport (net/peer) on
// --peer-listen (default: its own entry in --peers). --join URL starts a node that is not in the
// initial configuration: it asks the cluster at URL (following leader hints) to add it, as a
// learner first; --peers must then list the current members (and may list this node).
//
// Security (docs/security.md): both ports bind where they are told (the client port defaults to
// 127.0.0.1); --cert-file and --key-file serve the client port over TLS (--client-cert-auth with
// --trusted-ca-file requires client certificates; SIGHUP reloads the certificate and key);
// --peer-secret-file authenticates peer connections with an HMAC handshake;
// --peer-cert-file, --peer-key-file and --peer-trusted-ca-file run the peer port over mutual TLS
// (each member's certificate names its node id: net/tls/peer_identity.h; SIGHUP reloads them);
// --allowed-hosts and --cors-origin configure the client port's browser-safety checks; the
// client connection limits are --max-connections, --max-connections-per-address and the
// --http-*-timeout-ms deadlines. A port bound beyond loopback without protection is warned
// about at start and listed in /status "security"."warnings".
//
// Prints exactly one line to stdout once it accepts connections:
//   strata-server listening on HOST:PORT
// (scripts and tests wait for it; with --listen HOST:0 it names the port the kernel chose).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/program_options.hpp>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <curl/curl.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "strata/db.h"
#include "lib/io/default_file_system.h"
#include "lib/replication/node.h"
#include "lib/util/logging.h"
#include "apps/server_advertise.h"
#include "apps/server_config_sources.h"
#include "apps/server_security.h"
#include "net/peer/peer_auth.h"
#include "net/peer/peer_transport.h"
#include "net/http/router.h"
#include "net/http/server.h"
#include "net/tls/tls_context.h"

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace strata;

namespace {

constexpr const char* kVersion = STRATA_VERSION;  // meson.build's project version

struct Config {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  std::string data_dir = "./data";
  SyncPolicy sync = SyncPolicy::always;
  unsigned threads = 1;
  size_t max_body_bytes = 16 << 20;
  std::string node_id = "node-1";
  // Cluster mode (peers non-empty).
  std::map<uint64_t, std::string> peers;
  uint64_t raft_id = 0;
  std::string peer_host;
  uint16_t peer_port = 0;
  std::string join_url;
  // What this node announces (apps/server_advertise.h), resolved in main from the flags or from
  // --listen and --peer-listen.
  std::string advertise_client_url;
  std::string advertise_peer_address;
  // 100k entries, not NodeOptions' 10k: each log compaction forces a DB flush (a small L0
  // SSTable, then compaction work) and rewrites the trailing entries with two fsyncs on the Ready
  // loop; at 30-40k puts/s a 10k threshold did that 3-4 times a second and cost 20-30% of the
  // put throughput (benchmarks/RESULTS.md). The price: up to 100k entries held in memory and
  // replayed on restart (about 20 MB at 100-byte values).
  uint64_t snapshot_threshold = 100000;
  uint64_t snapshot_trailing = 1000;
  uint64_t raft_log_preallocate = 16 << 20;
  size_t max_pending_proposals = 8192;
  bool pipeline_apply = false;
  uint32_t tick_ms = 50;
  uint32_t request_timeout_ms = 5000;
  bool enable_fault_hooks = false;  // tests only: serve /v1/debug/link-fault
  // Inbound peer limits (net/peer/peer_transport.h, docs/format/peer_protocol.md "Limits").
  net::peer::PeerTransportOptions peer_limits;
  std::string peer_secret_file;
  std::string peer_secret;  // loaded from peer_secret_file
  // TLS on the client port (net/tls/tls_context.h); reloaded on SIGHUP.
  net::tls::TlsConfig tls;
  // Mutual TLS on the peer port (TlsConfig::peer); reloaded on SIGHUP.
  net::tls::TlsConfig peer_tls;
  std::shared_ptr<net::tls::TlsContext> peer_tls_context;
  // POST /v1/admin/checkpoint writes named checkpoints here (empty: refused).
  std::string backup_dir;
  // The storage engine's options from the engine flags (include/strata/options.h); sync and the file
  // system are set per mode.
  Options engine;
  // The client port (net/http/server.h, request_guard.h).
  net::http::ServerOptions http;
  net::http::SecurityInfo security;
  // The options set by a flag, the environment or a file (GET /v1/config "server").
  std::vector<net::http::ServerSetting> server_config;
};

// Splits "HOST:PORT" ("[::1]:80" for IPv6). false when malformed.
bool parse_listen(const std::string& s, std::string* host, uint16_t* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = s.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string p = s.substr(colon + 1);
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || ptr != p.data() + p.size() || v > 65535) return false;
  *host = h;
  *port = static_cast<uint16_t>(v);
  return true;
}

// Parses "1=HOST:PORT,2=HOST:PORT". false when malformed.
bool parse_peers(const std::string& s, std::map<uint64_t, std::string>* out) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? s.size() : comma + 1;
    size_t eq = item.find('=');
    if (eq == std::string::npos) return false;
    uint64_t id = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + eq, id);
    std::string h;
    uint16_t port = 0;
    if (ec != std::errc() || p != item.data() + eq || id == 0 || !parse_listen(item.substr(eq + 1), &h, &port)) {
      return false;
    }
    (*out)[id] = item.substr(eq + 1);
  }
  return !out->empty();
}

size_t curl_sink(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// --join: asks the cluster to add this node (POST /v1/cluster/members), following the leader
// hint of a 503 not_leader answer, until it succeeds or `deadline_s` passes. Runs on its own
// thread (libcurl is blocking). Returns true on success. An https:// cluster is verified with
// this node's --trusted-ca-file (the members' certificates come from the cluster's CA), and with
// --client-cert-auth this node presents its own certificate as its client certificate.
bool request_join(std::string url, uint64_t id, std::string peer_address, int deadline_s, net::tls::TlsConfig tls) {
  std::string body = boost::json::serialize(boost::json::object{{"id", id}, {"peer_address", peer_address}});
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(deadline_s);
  while (std::chrono::steady_clock::now() < until) {
    CURL* c = curl_easy_init();
    std::string answer;
    std::string target = url + "/v1/cluster/members";
    curl_easy_setopt(c, CURLOPT_URL, target.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    if (!tls.trusted_ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, tls.trusted_ca_file.c_str());
    if (tls.client_cert_auth) {
      curl_easy_setopt(c, CURLOPT_SSLCERT, tls.cert_file.c_str());
      curl_easy_setopt(c, CURLOPT_SSLKEY, tls.key_file.c_str());
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    if (status == 200) {
      STRATA_LOG(info, "strata-server: joined the cluster through %s", url.c_str());
      return true;
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(answer, ec);
    if (!ec && v.is_object()) {
      if (auto* leader = v.get_object().if_contains("leader"); leader && leader->is_object()) {
        if (auto* lu = leader->get_object().if_contains("url"); lu && lu->is_string() && !lu->get_string().empty()) {
          url = std::string(lu->get_string());
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // retry interval
  }
  STRATA_LOG(error, "strata-server: could not join the cluster through %s", url.c_str());
  return false;
}

// The HTTP server's options from the flags (cluster and single-node mode alike).
net::http::ServerOptions server_options(const Config& cfg) {
  net::http::ServerOptions sopts = cfg.http;
  sopts.host = cfg.host;
  sopts.port = cfg.port;
  sopts.body_limit_bytes = cfg.max_body_bytes;
  sopts.server_name = std::string("strata/") + kVersion;
  // One thread runs the io_context: it serializes every connection already (see ServerOptions).
  sopts.strand_per_connection = cfg.threads > 1;
  return sopts;
}

// Cluster mode. Runs on: the io_context. Returns the exit status.
asio::awaitable<int> run_cluster_node(asio::any_io_executor ex, Config cfg, asio::signal_set& signals) {
  auto fs = io::make_default_file_system(ex);
  replication::NodeOptions no;
  no.id = cfg.raft_id;
  no.data_dir = cfg.data_dir;
  no.http_url = cfg.advertise_client_url;
  no.db_options = cfg.engine;
  no.db_options.file_system = fs.get();
  no.tick_ms = cfg.tick_ms;
  no.proposal_timeout_ms = cfg.request_timeout_ms;
  no.read_timeout_ms = cfg.request_timeout_ms;
  no.snapshot_threshold_entries = cfg.snapshot_threshold;
  no.snapshot_trailing_entries = cfg.snapshot_trailing;
  no.raft_log_preallocate_bytes = cfg.raft_log_preallocate;
  no.max_pending_proposals = cfg.max_pending_proposals;
  no.pipeline_apply = cfg.pipeline_apply;
  no.initial_members = cfg.peers;
  if (!cfg.join_url.empty()) no.initial_members.erase(cfg.raft_id);
  auto opened = co_await replication::Node::open(ex, *fs, no);
  if (!opened) {
    std::fprintf(stderr, "strata-server: cannot open node %llu in %s: %s\n",
                 static_cast<unsigned long long>(cfg.raft_id), cfg.data_dir.c_str(), opened.error().message().c_str());
    co_return 1;
  }
  std::unique_ptr<replication::Node> node = std::move(*opened);

  net::peer::PeerTransportOptions to;
  to.node_id = cfg.raft_id;
  to.listen_host = cfg.peer_host;
  to.listen_port = cfg.peer_port;
  to.http_url = no.http_url;
  to.peers = cfg.peers;
  to.max_frame_bytes = cfg.peer_limits.max_frame_bytes;
  to.max_inbound_connections = cfg.peer_limits.max_inbound_connections;
  to.max_inbound_per_address = cfg.peer_limits.max_inbound_per_address;
  to.handshake_timeout_ms = cfg.peer_limits.handshake_timeout_ms;
  to.frame_timeout_ms = cfg.peer_limits.frame_timeout_ms;
  to.secret = cfg.peer_secret;
  to.tls = cfg.peer_tls_context;
  net::peer::PeerTransport transport(ex, to, node.get());
  if (auto l = transport.listen(); !l) {
    std::fprintf(stderr, "strata-server: cannot listen for peers on %s:%u: %s\n", cfg.peer_host.c_str(), cfg.peer_port,
                 l.error().message().c_str());
    auto stopped = co_await node->stop();
    (void)stopped;
    co_return 1;
  }
  node->set_transport(&transport);
  transport.start();
  node->start();

  net::http::NodeInfo info;
  info.node_id = std::to_string(cfg.raft_id);
  info.role = "cluster";
  info.sync_policy = "raft (log fsynced before acknowledging)";
  info.version = kVersion;
  info.security = cfg.security;
  info.server_config = cfg.server_config;
  info.backup_dir = cfg.backup_dir;
  net::http::ClientPortCounters client_port;
  info.client_port = &client_port;
  net::http::Limits limits;
  limits.max_body_bytes = cfg.max_body_bytes;
  limits.max_value_bytes = cfg.max_body_bytes;
  std::optional<net::http::FaultHooks> hooks;
  if (cfg.enable_fault_hooks) {
    hooks.emplace();
    hooks->transport = &transport;
    for (const auto& [id, addr] : cfg.peers) {
      if (id != cfg.raft_id) hooks->peers.push_back(id);
    }
    STRATA_LOG(warn, "strata-server: fault hooks enabled (/v1/debug/link-fault): for tests only");
  }
  net::http::Router router(*node, info, limits, hooks);
  auto sopts = server_options(cfg);
  sopts.counters = &client_port;
  net::http::Server server(ex, router, std::move(sopts));
  int rc = 0;
  std::thread joiner;
  if (auto l = server.listen(); !l) {
    std::fprintf(stderr, "strata-server: cannot listen on %s:%u: %s\n", cfg.host.c_str(), cfg.port,
                 l.error().message().c_str());
    rc = 1;
  } else {
    server.start();
    std::printf("strata-server listening on %s:%u (node %llu, peers on %s:%u)\n", cfg.host.c_str(), server.port(),
                static_cast<unsigned long long>(cfg.raft_id), cfg.peer_host.c_str(), transport.port());
    std::fflush(stdout);
    if (!cfg.join_url.empty()) {
      // With --peer-listen HOST:0 the port is known only now.
      std::string self = !cfg.advertise_peer_address.empty()
                             ? cfg.advertise_peer_address
                             : apps::host_port(apps::advertised_host(cfg.peer_host), transport.port());
      joiner = std::thread(
          [url = cfg.join_url, id = cfg.raft_id, self, tls = cfg.tls] { request_join(url, id, self, 120, tls); });
    }
    auto [ec, signo] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
    STRATA_LOG(info, "strata-server: signal %d, shutting down", signo);
    co_await server.stop();
  }
  auto stopped = co_await node->stop();
  co_await transport.stop();
  if (joiner.joinable()) joiner.detach();  // bounded by its own deadline; the process is exiting
  if (!stopped) {
    std::fprintf(stderr, "strata-server: closing the node failed: %s\n", stopped.error().message().c_str());
    co_return 1;
  }
  co_return rc;
}

// The node's lifetime. Runs on: the io_context. Returns the exit status.
// REQUIRES: `signals` outlives the coroutine (it lives in main()).
asio::awaitable<int> run_node(asio::any_io_executor ex, Config cfg, asio::signal_set& signals) {
  Options options = cfg.engine;
  options.sync = cfg.sync;
  options.create_if_missing = true;
  auto opened = co_await DB::open(ex, cfg.data_dir, options);
  if (!opened) {
    std::fprintf(stderr, "strata-server: cannot open the database in %s: %s\n", cfg.data_dir.c_str(),
                 opened.error().message().c_str());
    co_return 1;
  }
  std::unique_ptr<DB> db = std::move(*opened);

  net::http::NodeInfo node;
  node.node_id = cfg.node_id;
  node.sync_policy = std::string(to_string(cfg.sync));
  node.version = kVersion;
  node.security = cfg.security;
  node.server_config = cfg.server_config;
  node.backup_dir = cfg.backup_dir;
  net::http::ClientPortCounters client_port;
  node.client_port = &client_port;
  net::http::Limits limits;
  limits.max_body_bytes = cfg.max_body_bytes;
  limits.max_value_bytes = cfg.max_body_bytes;
  net::http::Router router(*db, node, limits);

  auto sopts = server_options(cfg);
  sopts.counters = &client_port;
  net::http::Server server(ex, router, std::move(sopts));
  auto listening = server.listen();
  if (!listening) {
    std::fprintf(stderr, "strata-server: cannot listen on %s:%u: %s\n", cfg.host.c_str(), cfg.port,
                 listening.error().message().c_str());
    auto closed = co_await db->close();
    (void)closed;
    co_return 1;
  }
  server.start();
  std::printf("strata-server listening on %s:%u\n", cfg.host.c_str(), server.port());
  std::fflush(stdout);

  auto [ec, signo] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
  STRATA_LOG(info, "strata-server: signal %d, shutting down", signo);
  co_await server.stop();
  auto closed = co_await db->close();
  if (!closed) {
    std::fprintf(stderr, "strata-server: closing the database failed: %s\n", closed.error().message().c_str());
    co_return 1;
  }
  co_return 0;
}

// SIGHUP: reload the certificates and keys of the client port and the peer port (new connections
// use them; open ones keep theirs). A reload that fails keeps the old ones and says why. Runs on:
// the io_context; ends when `hup` is cancelled. REQUIRES: `hup` outlives the coroutine (it lives
// in main()).
asio::awaitable<void> reload_on_sighup(asio::signal_set& hup, std::shared_ptr<net::tls::TlsContext> client,
                                       std::shared_ptr<net::tls::TlsContext> peer) {
  for (;;) {
    auto [ec, signo] = co_await hup.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (!client && !peer) {
      STRATA_LOG(info, "strata-server: SIGHUP: no TLS certificate to reload");
      continue;
    }
    for (const auto& [tls, port] : {std::pair{client.get(), "client"}, std::pair{peer.get(), "peer"}}) {
      if (!tls) continue;
      auto reloaded = tls->reload();
      if (reloaded) {
        STRATA_LOG(info, "strata-server: SIGHUP: reloaded the %s port's certificate %s and key %s", port,
                   tls->config().cert_file.c_str(), tls->config().key_file.c_str());
      } else {
        STRATA_LOG(error,
                   "strata-server: SIGHUP: reloading the %s port's certificate failed (%s); the previous one stays",
                   port, reloaded.error().message().c_str());
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::string listen = "127.0.0.1:8000";
  std::string allowed_hosts, cors_origins;
  std::string sync = "always";
  std::string log_level = "info";
  std::string log_format = "text";
  std::string compression = "none";
  size_t block_cache_mb = cfg.engine.block_cache_bytes >> 20;
  size_t memtable_mb = cfg.engine.memtable_size_bytes >> 20;
  unsigned hw = std::thread::hardware_concurrency();
  cfg.threads = hw == 0 ? 1 : hw;

  po::options_description desc("strata-server: a Strata key-value node serving the HTTP API\n\nOptions");
  desc.add_options()("help,h", "print this help and exit")("version", "print the version and exit")(
      "config", po::value<std::string>(),
      "a TOML file of options, keys named as the flags (data-dir = \"/var/lib/strata\"); flags, STRATA_* variables and --env-file beat it")(
      "env-file", po::value<std::string>(),
      "a file of STRATA_NAME=VALUE lines (as the environment; the environment beats it, it beats --config)")(
      "listen", po::value(&listen)->default_value(listen), "HOST:PORT to accept HTTP connections on (PORT 0: any)")(
      "data-dir", po::value(&cfg.data_dir)->default_value(cfg.data_dir),
      "directory of the database (created if missing)")("sync", po::value(&sync)->default_value(sync),
                                                        "when writes are acknowledged: always | batch | none")(
      "threads", po::value(&cfg.threads)->default_value(cfg.threads), "I/O threads (default: hardware concurrency)")(
      "max-body-bytes", po::value(&cfg.max_body_bytes)->default_value(cfg.max_body_bytes),
      "largest accepted request body")("node-id", po::value(&cfg.node_id)->default_value(cfg.node_id),
                                       "this node's id (reported by /status; a positive integer in a cluster)")(
      "peers", po::value<std::string>(), "cluster mode: the members' peer addresses, 1=HOST:PORT,2=HOST:PORT,...")(
      "peer-listen", po::value<std::string>(),
      "HOST:PORT for peer connections (default: this node's entry in --peers)")(
      "join", po::value(&cfg.join_url),
      "URL of a cluster member: ask the cluster to add this node (not in the initial configuration)")(
      "advertise-client-url", po::value(&cfg.advertise_client_url),
      "cluster: the URL members and clients are told to reach this node at (leader hints, /v1/cluster/members); "
      "default: http(s)://HOST:PORT of --listen, with this machine's host name when HOST is 0.0.0.0 or ::")(
      "advertise-peer-address", po::value(&cfg.advertise_peer_address),
      "cluster: the HOST:PORT this node gives the cluster when it joins (--join); default: --peer-listen, with "
      "this machine's host name when its host is 0.0.0.0 or ::")(
      "snapshot-threshold", po::value(&cfg.snapshot_threshold)->default_value(cfg.snapshot_threshold),
      "compact the Raft log after this many applied entries (0: never)")(
      "snapshot-trailing", po::value(&cfg.snapshot_trailing)->default_value(cfg.snapshot_trailing),
      "entries kept in the Raft log after a compaction")(
      "raft-log-preallocate-bytes", po::value(&cfg.raft_log_preallocate)->default_value(cfg.raft_log_preallocate),
      "cluster: preallocate the Raft log segment in steps of this many bytes (0: let it grow)")(
      "max-pending-proposals", po::value(&cfg.max_pending_proposals)->default_value(cfg.max_pending_proposals),
      "cluster: writes waiting on this node at most; beyond, 503 overloaded (not applied)")(
      "pipeline-apply", po::bool_switch(&cfg.pipeline_apply),
      "cluster: persist the next Raft Ready while the previous one is applied (off: in sequence)")(
      "tick-ms", po::value(&cfg.tick_ms)->default_value(cfg.tick_ms),
      "Raft tick (election timeout 16-32 ticks, heartbeat 2 ticks)")(
      "request-timeout-ms", po::value(&cfg.request_timeout_ms)->default_value(cfg.request_timeout_ms),
      "cluster: how long a write or linearizable read waits before 503")(
      "enable-fault-hooks", po::bool_switch(&cfg.enable_fault_hooks),
      "cluster, tests only: serve POST /v1/debug/link-fault to cut, drop or delay peer links")(
      "peer-max-frame-bytes",
      po::value(&cfg.peer_limits.max_frame_bytes)->default_value(cfg.peer_limits.max_frame_bytes),
      "cluster: largest peer frame accepted (--max-body-bytes + 1 MiB .. 64 MiB: a frame carries whole log entries)")(
      "peer-max-connections",
      po::value(&cfg.peer_limits.max_inbound_connections)->default_value(cfg.peer_limits.max_inbound_connections),
      "cluster: inbound peer connections at most")(
      "peer-max-connections-per-address",
      po::value(&cfg.peer_limits.max_inbound_per_address)->default_value(cfg.peer_limits.max_inbound_per_address),
      "cluster: inbound peer connections from one remote address at most")(
      "peer-handshake-timeout-ms",
      po::value(&cfg.peer_limits.handshake_timeout_ms)->default_value(cfg.peer_limits.handshake_timeout_ms),
      "cluster: a new peer connection's hello must arrive within this")(
      "peer-frame-timeout-ms",
      po::value(&cfg.peer_limits.frame_timeout_ms)->default_value(cfg.peer_limits.frame_timeout_ms),
      "cluster: a peer frame must arrive whole within this of its first byte")(
      "peer-secret-file", po::value(&cfg.peer_secret_file),
      "cluster: a file holding the cluster secret (16-4096 bytes, the same on every member): peer connections are authenticated by an HMAC-SHA256 handshake")(
      "log-level", po::value(&log_level)->default_value(log_level), "debug | info | warn | error")(
      "log-format", po::value(&log_format)->default_value(log_format),
      "text | json (one object per line: time, level, component, node_id, msg)")(
      "access-log", po::bool_switch(&cfg.http.access_log),
      "log one info line per HTTP request: address, method, target, status, body bytes, milliseconds")(
      "block-cache-mb", po::value(&block_cache_mb)->default_value(block_cache_mb), "engine: block cache MiB (0: none)")(
      "memtable-mb", po::value(&memtable_mb)->default_value(memtable_mb),
      "engine: a memtable is flushed to an SSTable at this many MiB")(
      "compression", po::value(&compression)->default_value(compression),
      "engine: data blocks of new SSTables: none | lz4 | zstd")(
      "bloom-bits-per-key", po::value(&cfg.engine.bloom_bits_per_key)->default_value(cfg.engine.bloom_bits_per_key),
      "engine: SSTable bloom filter bits per key (0: no filter; at most 64)")(
      "memtable-bloom-ratio",
      po::value(&cfg.engine.memtable_bloom_size_ratio)->default_value(cfg.engine.memtable_bloom_size_ratio, "0.015625"),
      "engine: memtable filter bytes per memtable byte (0: none; at most 0.25)")(
      "max-open-files", po::value(&cfg.engine.max_open_files)->default_value(cfg.engine.max_open_files),
      "engine: SSTable readers kept open")("mmap-reads",
                                           po::value(&cfg.engine.mmap_reads)->default_value(cfg.engine.mmap_reads),
                                           "engine: serve verified blocks from memory-mapped SSTables (true | false)")(
      "direct-reads", po::bool_switch(&cfg.engine.use_direct_reads),
      "engine: read SSTables with O_DIRECT, the block cache the only cache (data sets much larger than memory)")(
      "backup-dir", po::value(&cfg.backup_dir),
      "POST /v1/admin/checkpoint (strata checkpoint NAME) writes checkpoints into DIR/NAME (created; a cluster node: of its replicated DB, for strata export); without it checkpoints over HTTP are refused")(
      "cert-file", po::value(&cfg.tls.cert_file),
      "client port: serve HTTPS with this PEM certificate chain (leaf first); reloaded on SIGHUP")(
      "key-file", po::value(&cfg.tls.key_file), "client port: the PEM private key of --cert-file")(
      "trusted-ca-file", po::value(&cfg.tls.trusted_ca_file),
      "client port: PEM CA certificates that client certificates must chain to (with --client-cert-auth)")(
      "client-cert-auth", po::bool_switch(&cfg.tls.client_cert_auth),
      "client port: require a client certificate that chains to --trusted-ca-file (TLS handshakes without one fail)")(
      "peer-cert-file", po::value(&cfg.peer_tls.cert_file),
      "cluster: mutual TLS on the peer port with this PEM certificate chain, which must name this node in a subjectAltName URI strata://node/<id>; every member needs one; reloaded on SIGHUP")(
      "peer-key-file", po::value(&cfg.peer_tls.key_file), "cluster: the PEM private key of --peer-cert-file")(
      "peer-trusted-ca-file", po::value(&cfg.peer_tls.trusted_ca_file),
      "cluster: PEM CA certificates that every member's peer certificate must chain to (required with --peer-cert-file)")(
      "allowed-hosts", po::value(&allowed_hosts),
      "comma-separated host names the HTTP Host header may name besides localhost, loopback addresses, the listen address and the address a client connected to ('*': any)")(
      "cors-origin", po::value(&cors_origins),
      "comma-separated origins (https://host[:port]) allowed to make cross-origin requests (default: none, no CORS headers)")(
      "max-connections", po::value(&cfg.http.max_connections)->default_value(cfg.http.max_connections),
      "client connections at most (over it: the longest-idle one is closed, else 503)")(
      "max-connections-per-address",
      po::value(&cfg.http.max_connections_per_address)->default_value(cfg.http.max_connections_per_address),
      "client connections from one remote address at most (as --max-connections)")(
      "http-header-timeout-ms", po::value(&cfg.http.header_timeout_ms)->default_value(cfg.http.header_timeout_ms),
      "a new client connection must send a whole request header within this; any request header must be whole within this of its first byte")(
      "http-idle-timeout-ms", po::value(&cfg.http.idle_timeout_ms)->default_value(cfg.http.idle_timeout_ms),
      "a keep-alive client connection may wait this long for its next request");
  po::variables_map vm;
  ConfigSources sources;
  try {
    std::string why;
    if (!parse_config_sources(argc, argv, desc, &vm, &sources, &why)) {
      std::fprintf(stderr, "strata-server: %s\n", why.c_str());
      return 2;
    }
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "strata-server: %s\n(see --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (vm.count("version")) {
    std::printf("strata-server %s\n", kVersion);
    return 0;
  }
  if (!parse_listen(listen, &cfg.host, &cfg.port)) {
    std::fprintf(stderr, "strata-server: --listen expects HOST:PORT, got '%s'\n", listen.c_str());
    return 2;
  }
  auto policy = parse_sync_policy(sync);
  if (!policy) {
    std::fprintf(stderr, "strata-server: --sync expects always, batch or none, got '%s'\n", sync.c_str());
    return 2;
  }
  cfg.sync = *policy;
  static const std::pair<std::string_view, LogLevel> kLevels[] = {
      {"debug", LogLevel::debug}, {"info", LogLevel::info}, {"warn", LogLevel::warn}, {"error", LogLevel::error}};
  bool level_known = false;
  for (const auto& [name, level] : kLevels) {
    if (log_level == name) {
      set_log_level(level);
      level_known = true;
    }
  }
  if (!level_known) {
    std::fprintf(stderr, "strata-server: --log-level expects debug, info, warn or error, got '%s'\n",
                 log_level.c_str());
    return 2;
  }
  if (log_format == "json") {
    set_log_format(LogFormat::json);
  } else if (log_format != "text") {
    std::fprintf(stderr, "strata-server: --log-format expects text or json, got '%s'\n", log_format.c_str());
    return 2;
  }
  set_log_node_id(cfg.node_id);
  for (const std::string& w : sources.warnings) STRATA_LOG(warn, "strata-server: %s", w.c_str());
  for (const auto& a : sources.applied) {
    STRATA_LOG(info, "strata-server: config: --%s=%s (%s)", a.name.c_str(), a.value.c_str(), a.source.c_str());
    cfg.server_config.push_back(net::http::ServerSetting{a.name, a.value, a.source});
  }
  auto codec = parse_compression(compression);
  if (!codec) {
    std::fprintf(stderr, "strata-server: --compression expects none, lz4 or zstd, got '%s'\n", compression.c_str());
    return 2;
  }
  cfg.engine.compression = *codec;
  if (block_cache_mb > (size_t{1} << 30) || memtable_mb == 0 || memtable_mb > (size_t{1} << 20)) {
    std::fprintf(stderr, "strata-server: --block-cache-mb must be at most 2^30 and --memtable-mb from 1 to 2^20\n");
    return 2;
  }
  cfg.engine.block_cache_bytes = block_cache_mb << 20;
  cfg.engine.memtable_size_bytes = memtable_mb << 20;
  if (auto valid = validate_options(cfg.engine); !valid) {
    std::fprintf(stderr, "strata-server: the engine flags are out of range (the log above says which)\n");
    return 2;
  }
  if (cfg.threads == 0 || cfg.threads > 1024) {
    std::fprintf(stderr, "strata-server: --threads must be from 1 to 1024\n");
    return 2;
  }
  if (cfg.max_body_bytes == 0) {
    std::fprintf(stderr, "strata-server: --max-body-bytes must be positive\n");
    return 2;
  }
  if (!vm.count("peers")) {
    // Flags that only a cluster node can honour are refused, not ignored.
    for (const char* flag : {"peer-listen", "join", "advertise-client-url", "advertise-peer-address"}) {
      if (vm.count(flag)) {
        std::fprintf(stderr, "strata-server: --%s needs cluster mode (--peers)\n", flag);
        return 2;
      }
    }
  }
  if (vm.count("peers")) {
    if (!parse_peers(vm["peers"].as<std::string>(), &cfg.peers)) {
      std::fprintf(stderr, "strata-server: --peers expects 1=HOST:PORT,2=HOST:PORT,...\n");
      return 2;
    }
    uint64_t id = 0;
    auto [p, ec] = std::from_chars(cfg.node_id.data(), cfg.node_id.data() + cfg.node_id.size(), id);
    if (ec != std::errc() || p != cfg.node_id.data() + cfg.node_id.size() || id == 0) {
      std::fprintf(stderr, "strata-server: with --peers, --node-id must be a positive integer\n");
      return 2;
    }
    cfg.raft_id = id;
    std::string peer_listen;
    if (vm.count("peer-listen")) {
      peer_listen = vm["peer-listen"].as<std::string>();
    } else if (cfg.peers.count(id)) {
      peer_listen = cfg.peers[id];
    } else {
      std::fprintf(stderr, "strata-server: give --peer-listen or list this node in --peers\n");
      return 2;
    }
    if (!parse_listen(peer_listen, &cfg.peer_host, &cfg.peer_port)) {
      std::fprintf(stderr, "strata-server: --peer-listen expects HOST:PORT\n");
      return 2;
    }
    std::string why;
    if (cfg.advertise_client_url.empty()) {
      cfg.advertise_client_url = std::string(cfg.tls.enabled() ? "https://" : "http://") +
                                 apps::host_port(apps::advertised_host(cfg.host), cfg.port);
      if (apps::is_wildcard_host(cfg.host)) {
        STRATA_LOG(info, "strata-server: --listen %s is a wildcard address: advertising %s (--advertise-client-url)",
                   cfg.host.c_str(), cfg.advertise_client_url.c_str());
      }
    } else if (auto url = apps::check_client_url(cfg.advertise_client_url, cfg.tls.enabled(), &why)) {
      cfg.advertise_client_url = *url;
    } else {
      std::fprintf(stderr, "strata-server: --advertise-client-url %s: %s\n", cfg.advertise_client_url.c_str(),
                   why.c_str());
      return 2;
    }
    if (!cfg.advertise_peer_address.empty()) {
      auto address = apps::check_peer_address(cfg.advertise_peer_address, &why);
      if (!address) {
        std::fprintf(stderr, "strata-server: --advertise-peer-address %s: %s\n", cfg.advertise_peer_address.c_str(),
                     why.c_str());
        return 2;
      }
      cfg.advertise_peer_address = *address;
    }
    if (cfg.join_url.empty() && !cfg.peers.count(id)) {
      std::fprintf(stderr, "strata-server: node %llu is not in --peers (use --join to add a node)\n",
                   static_cast<unsigned long long>(id));
      return 2;
    }
    if (cfg.tick_ms == 0) {
      std::fprintf(stderr, "strata-server: --tick-ms must be positive\n");
      return 2;
    }
    const auto& pl = cfg.peer_limits;
    // A peer frame carries a whole log entry, so it must fit the largest write (a request body).
    if (pl.max_frame_bytes < cfg.max_body_bytes + (1u << 20) || pl.max_frame_bytes > net::peer::kMaxFramePayloadBytes ||
        pl.max_inbound_connections == 0 || pl.max_inbound_per_address == 0 || pl.handshake_timeout_ms == 0 ||
        pl.frame_timeout_ms == 0) {
      std::fprintf(stderr,
                   "strata-server: the --peer-* limits must be positive, --peer-max-frame-bytes at least "
                   "--max-body-bytes + 1 MiB and at most 64 MiB\n");
      return 2;
    }
  } else if (!cfg.join_url.empty()) {
    std::fprintf(stderr, "strata-server: --join needs --peers (the current members)\n");
    return 2;
  } else if (cfg.enable_fault_hooks) {
    std::fprintf(stderr, "strata-server: --enable-fault-hooks needs --peers (it faults peer links)\n");
    return 2;
  }
  if (cfg.http.max_connections == 0 || cfg.http.max_connections_per_address == 0 || cfg.http.header_timeout_ms == 0 ||
      cfg.http.idle_timeout_ms == 0) {
    std::fprintf(stderr,
                 "strata-server: --max-connections, --max-connections-per-address and --http-*-timeout-ms "
                 "must be positive\n");
    return 2;
  }
  std::string why;
  if (!parse_allowed_hosts(allowed_hosts, &cfg.http.guard.allowed_hosts, &why) ||
      !parse_cors_origins(cors_origins, &cfg.http.guard.cors_origins, &why)) {
    std::fprintf(stderr, "strata-server: %s\n", why.c_str());
    return 2;
  }
  // The listen address is a name the node answers to (unless it is every address).
  if (!is_unspecified_address(cfg.host)) cfg.http.guard.allowed_hosts.push_back(cfg.host);
  bool secret_readable_by_others = false;
  if (!cfg.peer_secret_file.empty()) {
    if (cfg.peers.empty()) {
      std::fprintf(stderr, "strata-server: --peer-secret-file needs --peers (it authenticates peer connections)\n");
      return 2;
    }
    auto secret = net::peer::load_peer_secret(cfg.peer_secret_file, &why, &secret_readable_by_others);
    if (!secret) {
      std::fprintf(stderr, "strata-server: %s\n", why.c_str());
      return 2;
    }
    cfg.peer_secret = std::move(*secret);
  }
  if (cfg.tls.enabled() || !cfg.tls.trusted_ca_file.empty() || cfg.tls.client_cert_auth) {
    // Checked (and the files read) before anything starts: a bad file is a clear exit 2.
    auto tls = net::tls::TlsContext::create(cfg.tls);
    if (!tls) {
      std::fprintf(stderr, "strata-server: cannot set up TLS on the client port: %s (the log above says why)\n",
                   tls.error().message().c_str());
      return 2;
    }
    cfg.http.tls = std::move(*tls);
  }
  cfg.security.tls = cfg.http.tls != nullptr;
  cfg.security.client_auth = cfg.tls.client_cert_auth ? "client-cert" : "none";
  cfg.peer_tls.peer = true;
  if (cfg.peer_tls.enabled() || !cfg.peer_tls.trusted_ca_file.empty()) {
    if (cfg.peers.empty()) {
      std::fprintf(stderr,
                   "strata-server: --peer-cert-file, --peer-key-file and --peer-trusted-ca-file need --peers\n");
      return 2;
    }
    auto tls = net::tls::TlsContext::create(cfg.peer_tls);
    if (!tls) {
      std::fprintf(stderr, "strata-server: cannot set up TLS on the peer port: %s (the log above says why)\n",
                   tls.error().message().c_str());
      return 2;
    }
    cfg.peer_tls_context = std::move(*tls);
  }
  if (cfg.peers.empty()) {
    cfg.security.peer_auth = "n/a";
  } else if (cfg.peer_tls_context) {
    cfg.security.peer_auth = cfg.peer_secret.empty() ? "mtls" : "mtls+hmac-sha256";
  } else {
    cfg.security.peer_auth = cfg.peer_secret.empty() ? "none" : "hmac-sha256";
  }
  cfg.security.warnings = security_warnings(Exposure{.client_host = cfg.host,
                                                     .client_tls = cfg.security.tls,
                                                     .client_cert_auth = cfg.tls.client_cert_auth,
                                                     .cluster = !cfg.peers.empty(),
                                                     .peer_host = cfg.peer_host,
                                                     .peer_secret = !cfg.peer_secret.empty(),
                                                     .peer_tls = cfg.peer_tls_context != nullptr,
                                                     .secret_file = cfg.peer_secret_file,
                                                     .secret_readable_by_others = secret_readable_by_others});
  for (const std::string& w : cfg.security.warnings) STRATA_LOG(warn, "strata-server: %s", w.c_str());
  std::error_code fs_ec;
  if (!cfg.backup_dir.empty()) {
    std::filesystem::create_directories(cfg.backup_dir, fs_ec);
    if (fs_ec) {
      std::fprintf(stderr, "strata-server: cannot create --backup-dir %s: %s\n", cfg.backup_dir.c_str(),
                   fs_ec.message().c_str());
      return 1;
    }
  }
  std::filesystem::create_directories(cfg.data_dir, fs_ec);
  if (fs_ec) {
    std::fprintf(stderr, "strata-server: cannot create %s: %s\n", cfg.data_dir.c_str(), fs_ec.message().c_str());
    return 1;
  }

  asio::io_context io(static_cast<int>(cfg.threads));
  // Registered before anything else runs, so that a SIGTERM during a long WAL replay still ends in
  // a clean close (it is delivered once the node waits for it).
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::signal_set hup(io, SIGHUP);
  asio::co_spawn(io, reload_on_sighup(hup, cfg.http.tls, cfg.peer_tls_context), asio::detached);
  int exit_code = 1;
  auto main_task =
      cfg.peers.empty() ? run_node(io.get_executor(), cfg, signals) : run_cluster_node(io.get_executor(), cfg, signals);
  asio::co_spawn(io, std::move(main_task), [&](std::exception_ptr e, int rc) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "strata-server: fatal: %s\n", ex.what());
      }
      rc = 1;
    }
    exit_code = rc;
    hup.cancel();
    io.stop();  // background coroutines of a closed DB hold no state worth waiting for
  });
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < cfg.threads; ++i) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return exit_code;
}
