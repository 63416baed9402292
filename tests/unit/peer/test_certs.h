// Certificates for the peer TLS tests, made in memory with OpenSSL's API at test time (nothing
// secret is committed) and written as PEM files into a directory: a CA, and member certificates
// it signs whose subjectAltName the test chooses (net/tls/peer_identity.h).
// Thread-safety: one test thread.
#pragma once

#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <string>

namespace strata::net::peer::testing {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

// A certificate and its key (P-256), in memory and as files.
struct Issued {
  X509Ptr cert;
  KeyPtr key;
  std::string cert_file;
  std::string key_file;
};

class TestCa {
 public:
  // A self-signed CA named `name`, its files in `dir`.
  TestCa(std::string dir, const std::string& name) : dir_(std::move(dir)) { ca_ = make(name, "", /*days=*/2, nullptr); }
  const std::string& file() const { return ca_.cert_file; }

  // A member certificate signed by this CA: `san` is the subjectAltName value in openssl's
  // config syntax ("URI:strata://node/1,DNS:localhost"; empty: none). days <= 0: expired.
  Issued issue(const std::string& name, const std::string& san, int days = 2) { return make(name, san, days, &ca_); }

 private:
  static void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    REQUIRE(ext != nullptr);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }

  Issued make(const std::string& name, const std::string& san, int days, const Issued* ca) {
    Issued out;
    out.key.reset(EVP_EC_gen("P-256"));
    REQUIRE(out.key);
    out.cert.reset(X509_new());
    X509* x = out.cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial_);
    // An expired certificate ended a day ago; a valid one started an hour ago.
    X509_gmtime_adj(X509_getm_notBefore(x), days > 0 ? -3600 : -3 * 86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), days > 0 ? days * 86400L : -86400L);
    X509_set_pubkey(x, out.key.get());
    X509_NAME* subject = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1,
                               -1, 0);
    X509* issuer = ca ? ca->cert.get() : x;
    X509_set_issuer_name(x, X509_get_subject_name(issuer));
    if (ca == nullptr) {
      add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
      add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      add_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
      if (!san.empty()) add_ext(x, issuer, NID_subject_alt_name, san);
    }
    REQUIRE(X509_sign(x, ca ? ca->key.get() : out.key.get(), EVP_sha256()) > 0);
    out.cert_file = dir_ + "/" + name + ".pem";
    out.key_file = dir_ + "/" + name + ".key";
    std::FILE* f = std::fopen(out.cert_file.c_str(), "w");
    REQUIRE(f != nullptr);
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(out.key_file.c_str(), "w");
    REQUIRE(f != nullptr);
    PEM_write_PrivateKey(f, out.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    return out;
  }

  std::string dir_;
  Issued ca_;
  long serial_ = 0;
};

}  // namespace strata::net::peer::testing
