// Transport: how a replication Node talks to its peers. The Node (node.h) depends only on this
// interface; net/peer/peer_transport.h implements it over TCP, and tests may implement it in
// memory. lib/ never includes net/.
//
// Delivery: send() is best effort (messages may be dropped, delayed or, across reconnects,
// duplicated; never corrupted) — Raft tolerates all of that. Snapshots are different: a DB
// checkpoint is streamed as chunks followed by the `snap` message itself over one ordered stream,
// and send_snapshot() returns ok only after the receiver acknowledged that it has the whole
// checkpoint staged durably and stepped the message into its Raft core.
//
// Thread-safety: send() may be called from any thread. send_snapshot() may run concurrently with
// send() and with other send_snapshot() calls to other peers.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "lib/raft/messages.h"
#include "strata/result.h"

namespace strata::replication {

// The transport's counters, gauges and limits (net/peer/peer_transport.h), exported with the
// node's stats (GET /v1/stats "replication"."transport", /metrics strata_peer_*).
struct TransportStats {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t dropped = 0;                 // queue full, unknown peer, or a fault hook
  uint64_t connects = 0;                // successful outbound connections
  uint64_t protocol_errors = 0;         // inbound connections closed for a malformed frame or hello
  uint64_t connections_refused = 0;     // inbound connections over a cap, closed at once
  uint64_t timeouts = 0;                // inbound connections closed by the handshake or frame deadline
  uint64_t auth_failures = 0;           // handshakes refused for a missing or wrong MAC, or a certificate
                                        // naming another node (either side)
  uint64_t tls_handshake_failures = 0;  // TLS handshakes that failed (no certificate, another CA,
                                        // expired, plain TCP), either side
  uint64_t inbound_connections = 0;     // gauge: inbound connections open now
  uint64_t inbound_buffer_bytes = 0;    // gauge: bytes allocated for frames being received
  // Limits (constant for the transport's lifetime).
  uint64_t max_frame_bytes = 0;
  uint64_t max_inbound_connections = 0;
  uint64_t max_inbound_per_address = 0;
  uint64_t handshake_timeout_ms = 0;
  uint64_t frame_timeout_ms = 0;
  bool authenticated = false;  // a cluster secret authenticates every connection
  bool tls = false;            // every connection uses mutual TLS
};

// One piece of one file of a DB checkpoint. Files are sent in order, each from offset 0 in
// consecutive chunks; an empty file is one chunk with no data.
struct SnapshotChunk {
  uint64_t snapshot_id = 0;  // unique per attempt (sender id, counter)
  std::string file;          // a plain file name (no '/'), checked by the receiver
  uint64_t offset = 0;
  std::string data;
  bool operator==(const SnapshotChunk&) const = default;
};

// Produces the chunks of one snapshot, in order. nullopt: no more chunks.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  virtual uint64_t snapshot_id() const = 0;
  virtual boost::asio::awaitable<Result<std::optional<SnapshotChunk>>> next() = 0;
};

// What the transport calls on the receiving node.
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // A Raft message from a peer (anything but a snapshot).
  virtual void on_message(raft::Message m) = 0;
  // A peer identified itself (its HTTP URL, for /status and redirects). Any thread.
  virtual void on_peer_hello(uint64_t id, std::string http_url) = 0;
  // A chunk of snapshot `chunk.snapshot_id` from `from`. Errors abort the stream.
  virtual boost::asio::awaitable<Result<void>> on_snapshot_chunk(uint64_t from, SnapshotChunk chunk) = 0;
  // The end of snapshot `snapshot_id`: every chunk arrived; `m` is the Raft `snap` message.
  // Returns after the checkpoint is durable and `m` was stepped; its result is sent back.
  virtual boost::asio::awaitable<Result<void>> on_snapshot_end(uint64_t snapshot_id, raft::Message m) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues `m` for m.to. Never blocks; drops when the link's queue is full or unknown peer.
  virtual void send(raft::Message m) = 0;
  // Streams the chunks of `src` and then `m` (a `snap` message) to m.to; see above.
  // Errors: unavailable (cannot connect), io_error, timed_out, or the receiver's error.
  virtual boost::asio::awaitable<Result<void>> send_snapshot(raft::Message m, SnapshotSource& src) = 0;
  // Adds or changes the address of a peer (membership changes). Any thread.
  virtual void set_peer_address(uint64_t id, std::string host_port) = 0;
  // Counters and limits (zeros for a transport that keeps none). Any thread.
  virtual TransportStats stats() const { return {}; }
};

}  // namespace strata::replication
