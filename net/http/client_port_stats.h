// ClientPortCounters: the client (HTTP) port's connection counters, gauges and limits, written
// by the Server (server.cc) and read by the handlers of GET /v1/stats ("http") and GET /metrics
// (strata_http_*); docs/http_api.md "Client connections". ClientPortStats is a snapshot of them.
//
// Thread-safety: every counter is an atomic (relaxed: each is a statistic on its own); the limits
// are set before the server starts and not changed after. snapshot() is safe from any thread.
#pragma once

#include <boost/json/object.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "strata/histogram.h"
#include "net/http/request_guard.h"

namespace strata::net::http {

// The key-value requests whose durations are kept (the Server times Router::handle: from the
// routed request to its response, errors included; Router::timed_op classifies): get (GET /v1/kv/{key}, GET /get), put
// (PUT /v1/kv/{key}, POST /set), delete (DELETE /v1/kv/{key}, POST /delete), multi_get, scan (GET /v1/kv), batch.
enum class RequestOp { get, put, del, multi_get, scan, batch };
inline constexpr size_t kRequestOpCount = 6;
const char* to_string(RequestOp op);

struct ClientPortStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_open = 0;                 // gauge
  uint64_t connections_refused_total_cap = 0;    // over max_connections, nothing idle to close
  uint64_t connections_refused_per_address = 0;  // over max_connections_per_address, nothing idle
  uint64_t connections_evicted = 0;              // idle connections closed to admit a new one
  uint64_t header_timeouts = 0;                  // no complete request header within header_timeout_ms
  uint64_t idle_timeouts = 0;                    // keep-alive connections closed after idle_timeout_ms
  uint64_t io_timeouts = 0;                      // a body not read, or an answer not written, within io_timeout_ms
  uint64_t tls_handshakes = 0;                   // TLS handshakes completed (a TLS client port)
  uint64_t tls_handshake_failures = 0;           // refused or failed: no or a wrong client certificate, plain
                                                 // HTTP to the TLS port, a timeout, an unsupported version
  std::array<uint64_t, kGuardReasonCount> requests_refused{};        // by GuardReason
  std::array<HistogramSnapshot, kRequestOpCount> request_latency{};  // by RequestOp
  // Limits.
  uint64_t max_connections = 0;
  uint64_t max_connections_per_address = 0;
  uint64_t header_timeout_ms = 0;
  uint64_t idle_timeout_ms = 0;
  uint64_t io_timeout_ms = 0;
};

struct ClientPortCounters {
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_refused_total_cap{0};
  std::atomic<uint64_t> connections_refused_per_address{0};
  std::atomic<uint64_t> connections_evicted{0};
  std::atomic<uint64_t> header_timeouts{0};
  std::atomic<uint64_t> idle_timeouts{0};
  std::atomic<uint64_t> io_timeouts{0};
  std::atomic<uint64_t> tls_handshakes{0};
  std::atomic<uint64_t> tls_handshake_failures{0};
  std::array<std::atomic<uint64_t>, kGuardReasonCount> requests_refused{};
  std::array<LatencyHistogram, kRequestOpCount> request_latency;  // by RequestOp (the Server times them)
  // Limits: set once, before the server starts.
  uint64_t max_connections = 0;
  uint64_t max_connections_per_address = 0;
  uint64_t header_timeout_ms = 0;
  uint64_t idle_timeout_ms = 0;
  uint64_t io_timeout_ms = 0;

  // Adds one to `c` (relaxed).
  static void bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
  ClientPortStats snapshot() const;
};

// {"connections_accepted", "connections_open", "connections_refused": {"total_cap",
// "per_address"}, "connections_evicted", "timeouts": {"header", "idle", "io"},
// "requests_refused": {"transfer_encoding", "host", "origin", "content_type"}, "limits":
// {"max_connections", "max_connections_per_address", "header_timeout_ms", "idle_timeout_ms",
// "io_timeout_ms"}}
boost::json::object client_port_stats_to_json(const ClientPortStats& s);
// strata_http_connections_accepted_total, strata_http_connections_open,
// strata_http_connections_refused_total{reason="total_cap|per_address"},
// strata_http_connections_evicted_total, strata_http_timeouts_total{phase="header|idle|io"},
// strata_http_tls_handshakes_total{result="completed|failed"},
// strata_http_requests_refused_total{reason=...}, strata_http_limit_* gauges,
// strata_http_request_duration_seconds{op=...} (a histogram).
std::string client_port_stats_to_prometheus(const ClientPortStats& s);

}  // namespace strata::net::http
