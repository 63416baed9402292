// How a Jepsen client turns an HTTP answer into an operation outcome (history.h). The rules are
// the cluster error contract of docs/http_api.md:
//
//  write (PUT/DELETE /v1/kv/{key}):
//    200                                                    -> ok
//    503 with "write_may_have_been_applied": false (e.g. not_leader: nothing was proposed)
//                                                           -> fail
//    the connection was refused and no kept-alive connection could have carried the request
//    first (libcurl silently retries a request whose reused connection died; KvClient decides)
//                                                           -> fail
//    anything else: a client timeout, a reset connection, 503 timed_out / no_quorum
//    ("write_may_have_been_applied": true), 5xx, a body we cannot read
//                                                           -> unknown (never guessed either way)
//  read (GET /v1/kv/{key}, linearizable by default):
//    200 -> ok with the body as the value; 404 {"code":"not_found"} -> ok, absent;
//    anything else -> fail (a read that failed has no effect and tells nothing).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>

#include "tests/jepsen/history.h"

namespace strata::jepsen {

struct HttpAnswer {
  long status = 0;               // 0: no HTTP answer (transport error)
  bool connect_refused = false;  // nothing was sent: the connection was refused, none was reused
  std::string body;
};

Outcome classify_write(const HttpAnswer& a);

// The outcome of a read and, when ok, the value read (nullopt = absent).
Outcome classify_read(const HttpAnswer& a, std::optional<std::string>* value);

}  // namespace strata::jepsen
