// Test-only fault hooks over HTTP (strata-server --enable-fault-hooks; without the flag the Router
// has no FaultHooks and these routes answer 404 route_not_found like any unknown path).
//
//   POST /v1/debug/link-fault {"to": N, "cut": bool, "drop_probability": 0..1, "delay_ms": 0..60000}
//        sets the fault of this node's outbound peer link to node N (net/peer LinkFault; absent
//        fields are 0/false, so {"to": N} heals the link). 200 {"ok":true,"to":N,...}.
//        400 bad_json / bad_field; 404 unknown_peer when N is not one of the hooks' peers.
//   GET  /v1/debug/link-fault  the transport's counters {"frames_sent","frames_received",
//        "dropped","connects","protocol_errors"} and the peers that can be faulted.
//
// A partition between A and B needs a cut on both nodes (A -> B on A, B -> A on B): a link
// fault only affects what this node sends. Used by the Jepsen-style test's nemesis
// (tests/jepsen/nemesis.h).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "net/http/handlers.h"
#include "net/peer/peer_transport.h"

namespace strata::net::http {

namespace json = boost::json;

namespace {

constexpr uint32_t kMaxDelayMs = 60'000;

Response link_fault_stats(const FaultHooks& hooks) {
  peer::PeerTransportStats s = hooks.transport->stats();
  json::object o;
  o["frames_sent"] = s.frames_sent;
  o["frames_received"] = s.frames_received;
  o["dropped"] = s.dropped;
  o["connects"] = s.connects;
  o["protocol_errors"] = s.protocol_errors;
  json::array peers;
  for (uint64_t id : hooks.peers) peers.push_back(id);
  o["peers"] = std::move(peers);
  return json_response(200, json::serialize(o));
}

}  // namespace

Response handle_debug_link_fault(const FaultHooks& hooks, Request req) {
  if (req.method != Method::post) return link_fault_stats(hooks);
  boost::system::error_code ec;
  json::value doc = json::parse(req.body, ec);
  if (ec || !doc.is_object()) return error_response(400, "bad_json", "the body must be a JSON object");
  const json::object& o = doc.get_object();
  const json::value* to = o.if_contains("to");
  if (!to || !to->is_number()) return error_response(400, "bad_field", "field \"to\" must be a node id");
  uint64_t id = to->to_number<uint64_t>(ec);
  if (ec) return error_response(400, "bad_field", "field \"to\" must be a node id");
  if (std::find(hooks.peers.begin(), hooks.peers.end(), id) == hooks.peers.end()) {
    return error_response(404, "unknown_peer", "node " + std::to_string(id) + " is not a peer of this node");
  }
  peer::LinkFault fault;
  if (const json::value* cut = o.if_contains("cut")) {
    if (!cut->is_bool()) return error_response(400, "bad_field", "field \"cut\" must be a boolean");
    fault.cut = cut->get_bool();
  }
  if (const json::value* p = o.if_contains("drop_probability")) {
    double v = p->is_number() ? p->to_number<double>(ec) : -1;
    if (ec || !(v >= 0 && v <= 1))
      return error_response(400, "bad_field", "field \"drop_probability\" must be in [0, 1]");
    fault.drop_probability = v;
  }
  if (const json::value* d = o.if_contains("delay_ms")) {
    uint64_t v = d->is_number() ? d->to_number<uint64_t>(ec) : kMaxDelayMs + 1;
    if (ec || v > kMaxDelayMs) return error_response(400, "bad_field", "field \"delay_ms\" must be 0..60000");
    fault.delay_ms = static_cast<uint32_t>(v);
  }
  hooks.transport->set_link_fault(id, fault);
  json::object out;
  out["ok"] = true;
  out["to"] = id;
  out["cut"] = fault.cut;
  out["drop_probability"] = fault.drop_probability;
  out["delay_ms"] = fault.delay_ms;
  return json_response(200, json::serialize(out));
}

}  // namespace strata::net::http
