// PeerAuth: the cluster-secret handshake that authenticates a peer connection without TLS
// (docs/format/peer_protocol.md, "Authentication"). Pure computation, no sockets: the transport
// (peer_transport.cc) moves the frames, this decides what they hold and whether they are right.
//
//   opener -> receiver   hello v2   id_o | url | version 2 | nonce_o          (kNonceBytes)
//   receiver -> opener   challenge  id_r | nonce_r | MAC("challenge", hello, id_r, nonce_r)
//   opener -> receiver   auth       MAC("auth", hello, id_r, nonce_r)
//   MAC(label, ...) = HMAC-SHA256(secret, "strata-peer-v2 " label | bytes hello | fixed64 id_r
//                                          | bytes nonce_r)   (bytes = varint length + bytes)
//
// Both sides contribute a fresh random nonce, so a recorded hello and auth replayed on a new
// connection fail (the receiver's nonce differs). The opener checks the challenge first (mutual
// authentication: it sends nothing of the cluster's to a listener without the secret, nor to the
// wrong node), and the two labels differ, so neither MAC can stand in for the other. The MACs
// cover the whole hello, so the URL a peer announces is authenticated with its id.
// What it does not do: protect the frames after the handshake (an attacker on the network path
// can still read or alter them; that needs TLS).
//
// Without a secret (disabled) the hello is version 1 and nothing else is exchanged. A receiver
// refuses a hello whose version does not match its own configuration, with permission_denied.
//
// Thread-safety: const methods are safe from any thread; make_hello and challenge draw from the
// RandomBytes, which is called from one thread at a time (the transport's strand).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/util/random.h"
#include "strata/result.h"
#include "net/peer/frame.h"

namespace strata::net::peer {

// A secret shorter than this is refused (a cluster secret is not a password: use
// `openssl rand -hex 32`); longer than kMaxSecretBytes is not a secret file.
inline constexpr size_t kMinSecretBytes = 16;
inline constexpr size_t kMaxSecretBytes = 4096;

// Reads the secret in `path`: its bytes without one trailing "\n" or "\r\n". Errors:
// invalid_argument (unreadable, shorter than kMinSecretBytes or longer than kMaxSecretBytes),
// with the reason in *why. *group_or_other_readable tells whether the file's mode lets others
// than its owner read it (the caller warns).
Result<std::string> load_peer_secret(const std::string& path, std::string* why, bool* group_or_other_readable);

// HMAC-SHA256 of `data` under `key` (kMacBytes).
std::string hmac_sha256(std::string_view key, std::string_view data);
// Compares in time independent of where a and b differ (CRYPTO_memcmp). false on length mismatch.
bool macs_equal(std::string_view a, std::string_view b);

class PeerAuth {
 public:
  // `secret` empty: no authentication (protocol version 1). REQUIRES: `random` outlives this.
  PeerAuth(std::string secret, RandomBytes& random) : secret_(std::move(secret)), random_(random) {}

  bool enabled() const { return !secret_.empty(); }

  // Opener: the hello to send; version 2 with a fresh nonce when enabled, else version 1.
  Hello make_hello(uint64_t self, std::string http_url);

  // Opener: checks the receiver's challenge to `hello_payload` (the encoded hello it sent): it
  // must name `expected_receiver` and carry the right MAC. Returns the auth frame's payload.
  // Errors: corruption (malformed), permission_denied (wrong MAC, or another node answered).
  // REQUIRES: enabled().
  Result<std::string> answer(std::string_view hello_payload, uint64_t expected_receiver,
                             std::string_view challenge_payload) const;

  // Receiver: whether `hello` may start a connection to node `self` under this configuration.
  // Errors: permission_denied (a version 1 hello while enabled: no MAC; version 2 while
  // disabled: the peer has a secret and we do not), with the reason in *why.
  Result<void> accept_version(const Hello& hello, std::string* why) const;

  // Receiver: a fresh challenge to `hello_payload` (payload to send, and the nonce to keep for
  // check_auth). REQUIRES: enabled() and accept_version passed.
  struct Issued {
    std::string payload;
    std::string nonce;
  };
  Issued challenge(std::string_view hello_payload, uint64_t self);

  // Receiver: checks the opener's auth frame against the challenge it was issued. Errors:
  // corruption (malformed), permission_denied (wrong MAC: no secret, another secret, a replay).
  Result<void> check_auth(std::string_view hello_payload, uint64_t self, std::string_view nonce,
                          std::string_view auth_payload) const;

 private:
  std::string mac(std::string_view label, std::string_view hello_payload, uint64_t receiver,
                  std::string_view receiver_nonce) const;

  std::string secret_;
  RandomBytes& random_;
};

}  // namespace strata::net::peer
