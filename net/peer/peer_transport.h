// PeerTransport: replication::Transport over TCP between the nodes of a cluster, on the node's
// executor pool (docs/format/peer_protocol.md).
//
//  - One outbound link per peer: a coroutine that connects (exponential backoff from
//    min_backoff_ms to max_backoff_ms between attempts; a peer named by a host name is looked up
//    again at every attempt, on a thread of its own and for at most connect_timeout_ms, with at
//    most kMaxLookupsInFlight lookups at once; while lookups fail, the addresses of the last one
//    that succeeded are dialled, and from start() every peer name is looked up until one lookup
//    succeeds, so there is one), sends a hello frame, then writes the
//    link's queue of frames in batches. The queue is bounded (max_queue_bytes): send() drops a
//    message that does not fit, which Raft tolerates. A write error closes the connection; the
//    frames being written are lost and the link reconnects.
//  - Inbound connections: one coroutine each, reading frames with a bounded size and a checksum;
//    a protocol error closes the connection. Raft messages go to TransportHandler::on_message.
//    Bounds (docs/format/peer_protocol.md, "Limits"): a frame's payload buffer grows as its bytes
//    arrive (at most twice what arrived plus 64 KiB, never sized by the header alone) up to
//    max_frame_bytes; the hello must arrive within handshake_timeout_ms of the accept, and a
//    frame within frame_timeout_ms of its first byte (an idle connection between frames is
//    kept); at most max_inbound_connections inbound connections, max_inbound_per_address from
//    one remote address (more are closed at once). TCP keepalive reaps connections of vanished
//    peers. Counters, gauges and limits: stats().
//  - Authentication (PeerTransportOptions::secret): the opener's hello carries a nonce, the
//    receiver answers with a challenge (its nonce and a MAC), the opener checks it and answers
//    with its MAC; a connection that fails either check is closed and counted in auth_failures
//    (peer_auth.h, docs/format/peer_protocol.md "Authentication").
//  - Mutual TLS (PeerTransportOptions::tls): every connection runs a TLS handshake before the
//    hello, in which both ends present certificates that must chain to the cluster CA. The
//    dialling side checks that the certificate names the node it dialled, the accepting side that
//    it names the node the hello claims (net/tls/peer_identity.h); a refusal closes the connection
//    and counts in auth_failures (another node's certificate) or tls_handshake_failures (no
//    certificate, another CA, expired, or plain TCP). With both a secret and TLS, both checks run.
//    Each connection takes the context current when it opens, so a SIGHUP reload applies to new
//    connections.
//  - Snapshots: send_snapshot() opens a dedicated connection, streams the chunks and the `snap`
//    message, and waits (snapshot_timeout_ms) for the receiver's acknowledgement.
//  - Test hooks per directed link (this node -> peer): cut (drop everything, snapshots fail),
//    drop with a probability, delay every batch by delay_ms.
//
// Executors: every coroutine of the transport runs on one strand of the executor given to the
// constructor, so the link state needs no locks; send() posts onto that strand.
// Thread-safety: all public methods may be called from any thread.
// Lifetime: stop() must complete before destruction; the handler must outlive stop().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lib/replication/transport.h"
#include "lib/util/random.h"
#include "net/peer/frame.h"

namespace strata::net::tls {
class TlsContext;
}

namespace strata::net::peer {

// Host name lookups running at once (each on its own thread); an attempt beyond it fails as if
// the peer were unreachable. Lookups end by the C library's own timeout even when abandoned, and
// each link has at most one new one per attempt, so this is reached only by a resolver that
// hangs for much longer than that.
inline constexpr size_t kMaxLookupsInFlight = 16;

struct LinkFault {
  bool cut = false;             // drop everything sent on the link
  double drop_probability = 0;  // drop each message with this probability
  uint32_t delay_ms = 0;        // hold each batch this long before writing it
};

struct PeerTransportOptions {
  uint64_t node_id = 0;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;               // 0: any free port (see port())
  std::string http_url;                   // announced in the hello frame
  std::map<uint64_t, std::string> peers;  // id -> "host:port" (this node's own entry is ignored)
  size_t max_queue_bytes = 64 << 20;
  uint32_t min_backoff_ms = 20;
  uint32_t max_backoff_ms = 1000;
  uint32_t connect_timeout_ms = 2000;
  // A link's connection whose sent bytes stay unacknowledged this long is closed and dialled
  // again (TCP_USER_TIMEOUT; TCP keepalive covers an idle one). A peer that vanished without a
  // reset, such as a killed container or pod whose address now answers nothing, otherwise keeps
  // the link writing into a dead connection for the kernel's ~15 minutes of retransmissions, and
  // the peer, restarted elsewhere, hears nothing from this node meanwhile. Not applied to snapshot
  // connections (snapshot_timeout_ms bounds them, and a receiver busy installing may stop reading).
  uint32_t user_timeout_ms = 10'000;
  uint32_t snapshot_timeout_ms = 120'000;
  // Inbound limits (see above). max_frame_bytes is capped at kMaxFramePayloadBytes.
  uint32_t max_frame_bytes = kMaxFramePayloadBytes;
  size_t max_inbound_connections = 256;
  size_t max_inbound_per_address = 32;
  uint32_t handshake_timeout_ms = 5000;
  uint32_t frame_timeout_ms = 30'000;
  // The cluster secret (--peer-secret-file; empty: none). With it every connection is
  // authenticated by the HMAC handshake of peer_auth.h, in both directions; without it a hello
  // is taken at its word. Every member must have the same secret, or none.
  std::string secret;
  // Mutual TLS on the peer port (a TlsContext made with TlsConfig::peer; nullptr: plain TCP).
  // Every member must use TLS, or none.
  std::shared_ptr<tls::TlsContext> tls;
  // Where the handshake's nonces come from; nullptr: OsRandomBytes. REQUIRES: outlives the
  // transport. Tests inject a SeededRandomBytes.
  RandomBytes* random = nullptr;
  // Looks a peer's host name up: its IP addresses as text, in the order to try them; nullptr:
  // getaddrinfo (/etc/hosts, then DNS). An IP address in a peer address is never looked up.
  // Called on a thread of its own for each connection attempt (so it may block), and waited for
  // at most connect_timeout_ms: a DNS query that got lost costs one attempt, not the C library's
  // whole retry schedule (30 s was seen), and the next attempt looks the name up afresh; while
  // lookups fail the last addresses found are dialled. Tests inject a slow or failing one.
  // REQUIRES: callable from any thread, and after the transport is gone.
  std::function<Result<std::vector<std::string>>(const std::string& host)> resolve;
};

// Counters (frames, drops, connects, protocol errors, refusals, timeouts), gauges (inbound
// connections, bytes of frames being received) and the limits above.
using PeerTransportStats = replication::TransportStats;

class PeerTransport final : public replication::Transport {
 public:
  PeerTransport(boost::asio::any_io_executor executor, PeerTransportOptions options,
                replication::TransportHandler* handler);
  ~PeerTransport() override;
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // Binds and listens. Errors: busy (address in use), invalid_argument (bad host), io_error.
  Result<void> listen();
  // REQUIRES: listen() succeeded.
  uint16_t port() const;
  // Starts accepting and the outbound links.
  void start();
  // Closes every connection and waits (bounded) for the transport's coroutines to end.
  boost::asio::awaitable<void> stop();

  void send(raft::Message m) override;
  boost::asio::awaitable<Result<void>> send_snapshot(raft::Message m, replication::SnapshotSource& src) override;
  void set_peer_address(uint64_t id, std::string host_port) override;

  void set_link_fault(uint64_t to, LinkFault fault);
  PeerTransportStats stats() const override;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace strata::net::peer
