// Test certificates made with the openssl command line at test time (nothing secret is
// committed): a CA, and server, client or cluster-member certificates it signs (P-256 keys).
// Thread-safety: one test thread.
#pragma once

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace strata::testing {

// Runs a shell command; its exit status.
inline int sh(const std::string& cmd) {
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {}

  // A self-signed CA: pem(name), key(name).
  void make_ca(const std::string& name) {
    REQUIRE(sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + key(name) +
               " -out " + pem(name) + " -days 2 -subj /CN=" + name + " 2>/dev/null") == 0);
  }
  // A certificate for `name` signed by `ca`: a server certificate for localhost and 127.0.0.1
  // (also good as a client certificate), or a client certificate. days < 0: expired already.
  void make_cert(const std::string& name, const std::string& ca, bool server, int days = 2) {
    std::string ext = dir_ + "/" + name + ".ext";
    std::ofstream(ext) << (server
                               ? "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
                               : "extendedKeyUsage=clientAuth\n");
    sign(name, ca, ext, days);
  }
  // A cluster member's peer certificate for node `node_id` (net/tls/peer_identity.h): a server
  // and client certificate for localhost and 127.0.0.1 whose SAN also names strata://node/<id>.
  void make_node_cert(const std::string& name, const std::string& ca, uint64_t node_id) {
    std::string ext = dir_ + "/" + name + ".ext";
    std::ofstream(ext) << "subjectAltName=DNS:localhost,IP:127.0.0.1,URI:strata://node/" << node_id
                       << "\nextendedKeyUsage=serverAuth,clientAuth\n";
    sign(name, ca, ext, 2);
  }
  std::string pem(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

 private:
  // A key for `name` and its certificate signed by `ca` with the extensions in `ext`.
  void sign(const std::string& name, const std::string& ca, const std::string& ext, int days) {
    REQUIRE(sh("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + key(name) + " -out " +
               dir_ + "/" + name + ".csr -subj /CN=" + name + " 2>/dev/null") == 0);
    REQUIRE(sh("openssl x509 -req -in " + dir_ + "/" + name + ".csr -CA " + pem(ca) + " -CAkey " + key(ca) +
               " -CAcreateserial -out " + pem(name) + " -days " + std::to_string(days) + " -extfile " + ext +
               " 2>/dev/null") == 0);
  }

  std::string dir_;
};

}  // namespace strata::testing
