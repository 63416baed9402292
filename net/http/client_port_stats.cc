#include "net/http/client_port_stats.h"

#include <utility>
#include <vector>

#include "net/http/json_codec.h"

namespace strata::net::http {

namespace json = boost::json;

const char* to_string(RequestOp op) {
  switch (op) {
    case RequestOp::get: return "get";
    case RequestOp::put: return "put";
    case RequestOp::del: return "delete";
    case RequestOp::multi_get: return "multi_get";
    case RequestOp::scan: return "scan";
    case RequestOp::batch: return "batch";
  }
  return "unknown";
}

ClientPortStats ClientPortCounters::snapshot() const {
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  ClientPortStats s;
  s.connections_accepted = get(connections_accepted);
  s.connections_open = get(connections_open);
  s.connections_refused_total_cap = get(connections_refused_total_cap);
  s.connections_refused_per_address = get(connections_refused_per_address);
  s.connections_evicted = get(connections_evicted);
  s.header_timeouts = get(header_timeouts);
  s.idle_timeouts = get(idle_timeouts);
  s.io_timeouts = get(io_timeouts);
  s.tls_handshakes = get(tls_handshakes);
  s.tls_handshake_failures = get(tls_handshake_failures);
  for (size_t i = 0; i < kGuardReasonCount; ++i) s.requests_refused[i] = get(requests_refused[i]);
  for (size_t i = 0; i < kRequestOpCount; ++i) s.request_latency[i] = request_latency[i].snapshot();
  s.max_connections = max_connections;
  s.max_connections_per_address = max_connections_per_address;
  s.header_timeout_ms = header_timeout_ms;
  s.idle_timeout_ms = idle_timeout_ms;
  s.io_timeout_ms = io_timeout_ms;
  return s;
}

json::object client_port_stats_to_json(const ClientPortStats& s) {
  json::object refused;
  for (size_t i = 0; i < kGuardReasonCount; ++i) {
    refused[to_string(static_cast<GuardReason>(i))] = s.requests_refused[i];
  }
  return json::object{
      {"connections_accepted", s.connections_accepted},
      {"connections_open", s.connections_open},
      {"connections_refused", json::object{{"total_cap", s.connections_refused_total_cap},
                                           {"per_address", s.connections_refused_per_address}}},
      {"connections_evicted", s.connections_evicted},
      {"timeouts", json::object{{"header", s.header_timeouts}, {"idle", s.idle_timeouts}, {"io", s.io_timeouts}}},
      {"tls_handshakes", json::object{{"completed", s.tls_handshakes}, {"failed", s.tls_handshake_failures}}},
      {"requests_refused", std::move(refused)},
      {"limits", json::object{{"max_connections", s.max_connections},
                              {"max_connections_per_address", s.max_connections_per_address},
                              {"header_timeout_ms", s.header_timeout_ms},
                              {"idle_timeout_ms", s.idle_timeout_ms},
                              {"io_timeout_ms", s.io_timeout_ms}}}};
}

std::string client_port_stats_to_prometheus(const ClientPortStats& s) {
  std::string out;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  append_metric(out, "http_connections_accepted_total", "counter", "Client connections accepted.",
                d(s.connections_accepted));
  append_metric(out, "http_connections_open", "gauge", "Client connections open.", d(s.connections_open));
  std::pair<std::string_view, double> caps[] = {{"total_cap", d(s.connections_refused_total_cap)},
                                                {"per_address", d(s.connections_refused_per_address)}};
  append_metric_family(out, "http_connections_refused_total", "counter",
                       "Client connections refused (503) over a connection cap with no idle connection to close.",
                       "reason", caps);
  append_metric(out, "http_connections_evicted_total", "counter",
                "Idle keep-alive client connections closed to admit a new connection at a cap.",
                d(s.connections_evicted));
  std::pair<std::string_view, double> timeouts[] = {
      {"header", d(s.header_timeouts)}, {"idle", d(s.idle_timeouts)}, {"io", d(s.io_timeouts)}};
  append_metric_family(out, "http_timeouts_total", "counter",
                       "Client connections closed by a deadline: header (no whole request header in time), idle "
                       "(keep-alive), io (body or answer).",
                       "phase", timeouts);
  std::pair<std::string_view, double> handshakes[] = {{"completed", d(s.tls_handshakes)},
                                                      {"failed", d(s.tls_handshake_failures)}};
  append_metric_family(out, "http_tls_handshakes_total", "counter",
                       "TLS handshakes on the client port: completed, or failed (refused client certificate, not "
                       "TLS, timeout).",
                       "result", handshakes);
  std::vector<std::pair<std::string_view, double>> refused;
  for (size_t i = 0; i < kGuardReasonCount; ++i) {
    refused.emplace_back(to_string(static_cast<GuardReason>(i)), d(s.requests_refused[i]));
  }
  append_metric_family(out, "http_requests_refused_total", "counter",
                       "Requests refused by the browser-safety checks (501, 421, 403, 415).", "reason", refused);
  std::vector<std::pair<std::string_view, HistogramSnapshot>> latency;
  for (size_t i = 0; i < kRequestOpCount; ++i) {
    latency.emplace_back(to_string(static_cast<RequestOp>(i)), s.request_latency[i]);
  }
  append_histogram_family(out, "http_request_duration_seconds",
                          "Key-value requests from routing to the response, errors included, by operation.", "op",
                          latency);
  append_metric(out, "http_limit_max_connections", "gauge", "Client connections allowed in total.",
                d(s.max_connections));
  append_metric(out, "http_limit_max_connections_per_address", "gauge",
                "Client connections allowed per remote address.", d(s.max_connections_per_address));
  append_metric(out, "http_limit_header_timeout_seconds", "gauge",
                "Time a client has to send a whole request header once it connected or started it.",
                d(s.header_timeout_ms) / 1e3);
  append_metric(out, "http_limit_idle_timeout_seconds", "gauge", "Time a keep-alive connection may stay idle.",
                d(s.idle_timeout_ms) / 1e3);
  append_metric(out, "http_limit_io_timeout_seconds", "gauge", "Time to read a request body or write an answer.",
                d(s.io_timeout_ms) / 1e3);
  return out;
}

}  // namespace strata::net::http
