// strata-server's security configuration from its flags: the --allowed-hosts and --cors-origin
// lists, and the warnings it gives at start (and in /status "security"."warnings") when a port
// is reachable beyond loopback without the protection that exists for it (docs/security.md).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace strata {

// "a,b,c" (host names or addresses, an optional :port ignored; "*" alone: any Host) appended to
// *out. Empty `list`: nothing. false (and *why) for an empty item or one with '/', spaces or '@'.
bool parse_allowed_hosts(std::string_view list, std::vector<std::string>* out, std::string* why);
// "https://a.example,http://b:8080" appended to *out: each an origin (scheme http or https, a
// host, an optional port; no path, no "*"). false (and *why) otherwise.
bool parse_cors_origins(std::string_view list, std::vector<std::string>* out, std::string* why);
// "0.0.0.0", "::" (and "" ): every address of the machine.
bool is_unspecified_address(std::string_view host);

struct Exposure {
  std::string client_host;  // --listen's host
  bool client_tls = false;  // --cert-file
  bool client_cert_auth = false;
  bool cluster = false;
  std::string peer_host;  // the peer listen host (cluster only)
  bool peer_secret = false;
  bool peer_tls = false;  // --peer-cert-file (mutual TLS between members)
  std::string secret_file;
  bool secret_readable_by_others = false;
};
// One sentence per risk, for the log and /status. Empty when both ports are on loopback (or the
// peer port has a secret or mutual TLS) and the secret file is private.
std::vector<std::string> security_warnings(const Exposure& e);

}  // namespace strata
