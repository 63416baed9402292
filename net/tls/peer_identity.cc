#include "net/tls/peer_identity.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <charconv>

namespace strata::net::tls {

namespace {
constexpr std::string_view kNodeUriPrefix = "strata://node/";
}  // namespace

std::string node_id_uri(uint64_t id) { return std::string(kNodeUriPrefix) + std::to_string(id); }

uint64_t parse_node_id_uri(std::string_view uri) {
  if (!uri.starts_with(kNodeUriPrefix)) return 0;
  std::string_view digits = uri.substr(kNodeUriPrefix.size());
  if (digits.empty() || digits.front() == '0') return 0;
  uint64_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size()) return 0;
  return id;
}

Result<uint64_t> certificate_node_id(const x509_st* cert) {
  if (cert == nullptr) return make_error_code(Errc::not_found);
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return make_error_code(Errc::not_found);
  uint64_t found = 0;
  int node_uris = 0;
  bool malformed = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = name->d.uniformResourceIdentifier;
    std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<size_t>(ASN1_STRING_length(s)));
    if (!uri.starts_with(kNodeUriPrefix)) continue;
    ++node_uris;
    found = parse_node_id_uri(uri);
    if (found == 0) malformed = true;
  }
  GENERAL_NAMES_free(names);
  if (node_uris == 0) return make_error_code(Errc::not_found);
  if (node_uris > 1 || malformed) return make_error_code(Errc::invalid_argument);
  return found;
}

}  // namespace strata::net::tls
