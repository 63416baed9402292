// ASCII case-insensitive comparison for HTTP header names and tokens (RFC 9110 field names and
// most token values are case-insensitive). Locale-free, no copies: it runs on every request.
// Thread-safety: pure.
#pragma once

#include <string_view>

namespace strata::net::http {

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace strata::net::http
