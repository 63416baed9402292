#include "net/peer/peer_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "lib/util/assert.h"
#include "lib/util/coding.h"

namespace strata::net::peer {

namespace {

constexpr std::string_view kChallengeLabel = "strata-peer-v2 challenge";
constexpr std::string_view kAuthLabel = "strata-peer-v2 auth";

ErrorCode denied() { return make_error_code(Errc::permission_denied); }

}  // namespace

Result<std::string> load_peer_secret(const std::string& path, std::string* why, bool* group_or_other_readable) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot read the peer secret file " + path;
    return make_error_code(Errc::invalid_argument);
  }
  std::string secret;
  // One byte past the limit tells an oversized file apart without reading all of it.
  secret.resize(kMaxSecretBytes + 3);
  in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  secret.resize(static_cast<size_t>(in.gcount()));
  if (secret.ends_with("\r\n")) {
    secret.resize(secret.size() - 2);
  } else if (secret.ends_with('\n')) {
    secret.pop_back();
  }
  if (secret.size() < kMinSecretBytes || secret.size() > kMaxSecretBytes) {
    *why = "the peer secret in " + path + " must be " + std::to_string(kMinSecretBytes) + " to " +
           std::to_string(kMaxSecretBytes) + " bytes (e.g. `openssl rand -hex 32 > " + path + "`)";
    return make_error_code(Errc::invalid_argument);
  }
  struct stat st{};
  *group_or_other_readable = ::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
  return secret;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::string out(kMacBytes, '\0');
  unsigned int len = 0;
  unsigned char* r =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), reinterpret_cast<unsigned char*>(out.data()), &len);
  STRATA_ASSERT_MSG(r != nullptr && len == kMacBytes, "HMAC-SHA256 failed");
  return out;
}

bool macs_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string PeerAuth::mac(std::string_view label, std::string_view hello_payload, uint64_t receiver,
                          std::string_view receiver_nonce) const {
  std::string data(label);
  put_length_prefixed(&data, hello_payload);
  put_fixed64(&data, receiver);
  put_length_prefixed(&data, receiver_nonce);
  return hmac_sha256(secret_, data);
}

Hello PeerAuth::make_hello(uint64_t self, std::string http_url) {
  Hello h{.node_id = self, .http_url = std::move(http_url)};
  if (!enabled()) return h;
  h.version = kPeerProtocolVersionAuth;
  h.nonce.resize(kNonceBytes);
  random_.fill(std::span(reinterpret_cast<uint8_t*>(h.nonce.data()), h.nonce.size()));
  return h;
}

Result<std::string> PeerAuth::answer(std::string_view hello_payload, uint64_t expected_receiver,
                                     std::string_view challenge_payload) const {
  STRATA_ASSERT(enabled());
  STRATA_TRY_ASSIGN(Challenge c, decode_challenge(challenge_payload));
  if (c.receiver_id != expected_receiver) return denied();
  if (!macs_equal(c.mac, mac(kChallengeLabel, hello_payload, c.receiver_id, c.nonce))) return denied();
  return encode_auth(mac(kAuthLabel, hello_payload, c.receiver_id, c.nonce));
}

Result<void> PeerAuth::accept_version(const Hello& hello, std::string* why) const {
  if (enabled() && hello.version != kPeerProtocolVersionAuth) {
    *why = "its hello carries no MAC (it has no --peer-secret-file)";
    return denied();
  }
  if (!enabled() && hello.version != kPeerProtocolVersion) {
    *why = "it authenticates with a cluster secret and this node has none (--peer-secret-file)";
    return denied();
  }
  return ok();
}

PeerAuth::Issued PeerAuth::challenge(std::string_view hello_payload, uint64_t self) {
  STRATA_ASSERT(enabled());
  Issued out;
  out.nonce.resize(kNonceBytes);
  random_.fill(std::span(reinterpret_cast<uint8_t*>(out.nonce.data()), out.nonce.size()));
  out.payload = encode_challenge(
      Challenge{.receiver_id = self, .nonce = out.nonce, .mac = mac(kChallengeLabel, hello_payload, self, out.nonce)});
  return out;
}

Result<void> PeerAuth::check_auth(std::string_view hello_payload, uint64_t self, std::string_view nonce,
                                  std::string_view auth_payload) const {
  STRATA_ASSERT(enabled());
  STRATA_TRY_ASSIGN(std::string got, decode_auth(auth_payload));
  if (!macs_equal(got, mac(kAuthLabel, hello_payload, self, nonce))) return denied();
  return ok();
}

}  // namespace strata::net::peer
