// What a cluster node tells others to reach it at: its client URL (announced to peers in the
// hello frame, shown in /v1/cluster/members and in leader hints that clients and joining nodes
// follow) and its peer address (given to the cluster when it joins with --join). etcd's
// --advertise-client-urls and --initial-advertise-peer-urls.
//
// A node listening on a wildcard address (0.0.0.0, ::) cannot be reached there, so by default it
// announces this machine's host name instead (a container's or a StatefulSet pod's name); the
// flags --advertise-client-url and --advertise-peer-address choose explicitly.
//
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strata::apps {

// "0.0.0.0", "::", "[::]" or empty: an address that means "every interface".
bool is_wildcard_host(std::string_view host);

// HOST:PORT with an IPv6 literal in brackets ("[::1]:7000").
std::string host_port(std::string_view host, uint16_t port);

// The host to announce for a socket bound to `listen_host`: `listen_host` itself, or this
// machine's host name (gethostname) when it is a wildcard ("localhost" if that fails).
std::string advertised_host(std::string_view listen_host);

// Checks an --advertise-client-url: http:// (or https:// when the client port serves TLS),
// a host that is not a wildcard, a port, nothing after it but an optional "/". Returns the URL
// without the trailing "/", or nullopt with *why naming what is wrong.
std::optional<std::string> check_client_url(std::string_view url, bool tls, std::string* why);

// Checks an --advertise-peer-address: HOST:PORT ([IPv6]:PORT) with a host that is not a
// wildcard and a port in 1..65535. Returns it, or nullopt with *why.
std::optional<std::string> check_peer_address(std::string_view address, std::string* why);

}  // namespace strata::apps
