// Peer identity: which cluster member a certificate speaks for (mutual TLS on the peer port,
// docs/security.md "Peer authentication").
//
// A member's certificate names its node id in a subjectAltName of type URI, `strata://node/<id>`
// (<id> in decimal, 1 to 2^64-1, no leading zeros), e.g. made with openssl's
// `-addext subjectAltName=URI:strata://node/3`. Other SAN entries (DNS names, addresses) may sit
// beside it and are ignored. A certificate that names no node, or more than one, speaks for none:
// a member's certificate is issued for exactly one node id. The check itself is the transport's:
// the dialling side compares the id with the node it dialled, the accepting side with the id the
// peer's hello claims (net/peer/peer_transport.h).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "strata/result.h"

struct x509_st;  // OpenSSL's X509

namespace strata::net::tls {

// "strata://node/<id>".
std::string node_id_uri(uint64_t id);

// The id in a SAN URI, or 0 when `uri` is not a well-formed node URI.
uint64_t parse_node_id_uri(std::string_view uri);

// The node id the certificate names. Errors: not_found (no node URI), invalid_argument (more than
// one node URI, or one that is malformed: a `strata://node/` prefix with a bad id).
Result<uint64_t> certificate_node_id(const x509_st* cert);

}  // namespace strata::net::tls
