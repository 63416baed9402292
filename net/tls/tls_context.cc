#include "net/tls/tls_context.h"

#include <boost/asio/ssl/context.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>

#include "lib/util/logging.h"

namespace strata::net::tls {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only. TLS 1.3's suites are all of that kind
// and keep OpenSSL's defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

bool readable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  std::fclose(f);
  return true;
}

// Loads a PEM file with `load`; maps a failure to not_found (cannot open) or corruption (not
// what it should be), logged with OpenSSL's reason.
template <class Load>
Result<void> load_pem(const char* what, const std::string& path, Load load) {
  if (!readable(path)) {
    STRATA_LOG(error, "tls: cannot open the %s file %s", what, path.c_str());
    return make_error_code(Errc::not_found);
  }
  boost::system::error_code ec;
  load(ec);
  if (ec) {
    STRATA_LOG(error, "tls: the %s file %s cannot be used: %s", what, path.c_str(), ec.message().c_str());
    return make_error_code(Errc::corruption);
  }
  return ok();
}

Result<std::shared_ptr<ssl::context>> build(const TlsConfig& c) {
  const char* prefix = c.peer ? "--peer-" : "--";
  if (c.cert_file.empty() || c.key_file.empty()) {
    STRATA_LOG(error, "tls: a certificate needs its key and a key its certificate (%scert-file and %skey-file)", prefix,
               prefix);
    return make_error_code(Errc::invalid_argument);
  }
  if (c.peer && c.trusted_ca_file.empty()) {
    STRATA_LOG(error,
               "tls: peer TLS needs --peer-trusted-ca-file (the cluster CA every member's certificate chains to)");
    return make_error_code(Errc::invalid_argument);
  }
  if (c.client_cert_auth && c.trusted_ca_file.empty()) {
    STRATA_LOG(error, "tls: --client-cert-auth needs --trusted-ca-file (the CA client certificates must chain to)");
    return make_error_code(Errc::invalid_argument);
  }
  // A peer context both accepts and dials.
  auto ctx = std::make_shared<ssl::context>(c.peer ? ssl::context::tls : ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    STRATA_LOG(error, "tls: OpenSSL refused the cipher list");
    return make_error_code(Errc::invalid_argument);
  }
  STRATA_TRY(load_pem("certificate", c.cert_file,
                      [&](boost::system::error_code& ec) { ctx->use_certificate_chain_file(c.cert_file, ec); }));
  bool mismatch = false;
  STRATA_TRY(load_pem("key", c.key_file, [&](boost::system::error_code& ec) {
    ctx->use_private_key_file(c.key_file, ssl::context::pem, ec);
    // OpenSSL checks the pair here already; say it in the words of the check below.
    mismatch = ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
    if (mismatch) ec = {};
  }));
  if (mismatch || SSL_CTX_check_private_key(native) != 1) {
    STRATA_LOG(error, "tls: the key in %s does not belong to the certificate in %s", c.key_file.c_str(),
               c.cert_file.c_str());
    return make_error_code(Errc::corruption);
  }
  if (!c.trusted_ca_file.empty()) {
    STRATA_TRY(load_pem("trusted CA", c.trusted_ca_file,
                        [&](boost::system::error_code& ec) { ctx->load_verify_file(c.trusted_ca_file, ec); }));
  }
  if (c.client_cert_auth || c.peer) {
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    // Session resumption with client certificates needs a session id context.
    static const unsigned char kSessionContext[] = "strata";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::create(TlsConfig config) {
  std::shared_ptr<TlsContext> t(new TlsContext(std::move(config)));
  STRATA_TRY_ASSIGN(t->current_, build(t->config_));
  return t;
}

std::shared_ptr<ssl::context> TlsContext::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

Result<void> TlsContext::reload() {
  STRATA_TRY_ASSIGN(std::shared_ptr<ssl::context> next, build(config_));
  std::lock_guard lock(mu_);
  current_ = std::move(next);
  return ok();
}

}  // namespace strata::net::tls
