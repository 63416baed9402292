#include "apps/server_advertise.h"

#include <unistd.h>

#include <charconv>

namespace strata::apps {

namespace {

// Splits HOST:PORT ([V6]:PORT); false when malformed or the port is not 1..65535.
bool split_host_port(std::string_view s, std::string_view* host, uint16_t* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = s.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return false;  // an IPv6 literal must be in brackets
  }
  std::string_view p = s.substr(colon + 1);
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || v == 0 || v > 65535) return false;
  *host = h;
  *port = static_cast<uint16_t>(v);
  return true;
}

bool valid_host_chars(std::string_view h) {
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '_';
    if (!ok) return false;
  }
  return !h.empty();
}

}  // namespace

bool is_wildcard_host(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

std::string host_port(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos && host.front() != '[') {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  return out + ":" + std::to_string(port);
}

std::string advertised_host(std::string_view listen_host) {
  if (!is_wildcard_host(listen_host)) return std::string(listen_host);
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::optional<std::string> check_client_url(std::string_view url, bool tls, std::string* why) {
  std::string_view scheme = tls ? "https://" : "http://";
  if (!url.starts_with(scheme)) {
    *why = std::string("must start with ") + std::string(scheme) +
           (tls ? " (the client port serves TLS)" : " (the client port serves plain HTTP)");
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  std::string_view host;
  uint16_t port = 0;
  if (rest.find('/') != std::string_view::npos || rest.find('@') != std::string_view::npos ||
      !split_host_port(rest, &host, &port) || !valid_host_chars(host)) {
    *why = "expected " + std::string(scheme) + "HOST:PORT (no path, no user)";
    return std::nullopt;
  }
  if (is_wildcard_host(host)) {
    *why = "names a wildcard address, which nobody can connect to";
    return std::nullopt;
  }
  return std::string(scheme) + host_port(host, port);
}

std::optional<std::string> check_peer_address(std::string_view address, std::string* why) {
  std::string_view host;
  uint16_t port = 0;
  if (!split_host_port(address, &host, &port) || !valid_host_chars(host)) {
    *why = "expected HOST:PORT";
    return std::nullopt;
  }
  if (is_wildcard_host(host)) {
    *why = "names a wildcard address, which nobody can connect to";
    return std::nullopt;
  }
  return host_port(host, port);
}

}  // namespace strata::apps
