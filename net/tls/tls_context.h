// TlsContext: TLS for one of a node's ports, built from PEM files and reloadable while the node
// runs (strata-server reloads on SIGHUP):
//  - the client port (TlsConfig::peer false): the server side of HTTPS;
//  - the peer port (TlsConfig::peer true): mutual TLS between members. One context both accepts
//    and dials; each end presents its certificate (cert_file) and requires the other's, which
//    must chain to trusted_ca_file (the cluster CA). Which node a certificate speaks for is read
//    with certificate_node_id() (net/tls/peer_identity.h); the transport checks it.
//
// What a context enforces (OpenSSL through asio::ssl; choices follow Mozilla's "intermediate"
// server profile and etcd's defaults):
//  - TLS 1.2 minimum (TLS 1.3 preferred when the client has it); no compression, no renegotiation,
//    the server's cipher order; TLS 1.2 ciphers limited to ECDHE key exchange with AES-GCM or
//    ChaCha20-Poly1305 (forward secrecy, AEAD only);
//  - the certificate chain (cert_file, leaf first) must match the private key (key_file, not
//    encrypted);
//  - with client_cert_auth (always on the peer port), a client must present a certificate that chains to
//  trusted_ca_file,
//    or the handshake fails (etcd's --client-cert-auth). Without it, trusted_ca_file is unused.
//
// Reload: reload() builds a new context from the same files; on success new connections use it
// (connections already open keep theirs), on failure the old one stays and the error is returned.
// So replacing a certificate that is about to expire is: write the new files, send SIGHUP.
//
// Errors (Result): invalid_argument (missing option, e.g. a key without a certificate or
// client_cert_auth without trusted_ca_file), not_found (a file that cannot be opened), corruption
// (a file that is not the PEM it should be, or a key that does not match the certificate); a peer
// context without trusted_ca_file is invalid_argument. Each
// is also logged with OpenSSL's reason.
// Thread-safety: current() and reload() from any thread (a mutex guards the pointer).
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "strata/result.h"

namespace boost::asio::ssl {
class context;
}

namespace strata::net::tls {

struct TlsConfig {
  std::string cert_file;          // PEM: this node's certificate, then any intermediates
  std::string key_file;           // PEM: its private key
  std::string trusted_ca_file;    // PEM: the CAs the other end's certificate must chain to
  bool client_cert_auth = false;  // client port only; the peer port always requires certificates
  bool peer = false;              // a context for the peer port (see above)

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

class TlsContext {
 public:
  // Builds the first context. Errors: see above.
  static Result<std::shared_ptr<TlsContext>> create(TlsConfig config);

  // The context a new connection should use; it stays valid as long as the pointer is held.
  std::shared_ptr<boost::asio::ssl::context> current() const;

  // Rebuilds from the files. Errors: as create(); then current() is unchanged.
  Result<void> reload();

  const TlsConfig& config() const { return config_; }

 private:
  explicit TlsContext(TlsConfig config) : config_(std::move(config)) {}

  const TlsConfig config_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace strata::net::tls
