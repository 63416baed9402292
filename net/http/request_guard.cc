#include "net/http/request_guard.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "net/http/ascii.h"

namespace strata::net::http {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

// An IP address in binary (4 or 16 bytes); nullopt for a name.
struct Ip {
  int family = 0;
  std::array<unsigned char, 16> bytes{};
  bool operator==(const Ip&) const = default;
};
std::optional<Ip> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= 64) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  Ip ip;
  if (::inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (::inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return std::nullopt;
}

bool is_loopback_ip(const Ip& ip) {
  if (ip.family == AF_INET) return ip.bytes[0] == 127;
  static constexpr std::array<unsigned char, 16> kLoopback6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr std::array<unsigned char, 12> kMapped4{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ip.bytes == kLoopback6) return true;
  return std::equal(kMapped4.begin(), kMapped4.end(), ip.bytes.begin()) && ip.bytes[12] == 127;  // ::ffff:127.x
}

Response refusal(int status, std::string_view code, std::string_view message) {
  return error_response(status, code, message);
}

// The media type of a Content-Type value, without parameters (as sent: compare with iequals).
std::string_view media_type(std::string_view content_type) {
  return trim(content_type.substr(0, content_type.find(';')));
}

bool changes_state(Method m) { return m == Method::put || m == Method::post || m == Method::del; }

}  // namespace

std::string_view to_string(GuardReason r) {
  switch (r) {
    case GuardReason::transfer_encoding: return "transfer_encoding";
    case GuardReason::host: return "host";
    case GuardReason::origin: return "origin";
    case GuardReason::content_type: return "content_type";
  }
  return "unknown";
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  auto ip = parse_ip(host);
  return ip && is_loopback_ip(*ip);
}

RequestGuard::RequestGuard(GuardOptions options) : options_(std::move(options)) {
  for (std::string& h : options_.allowed_hosts) {
    if (h == "*") any_host_ = true;
    h = host_of(h);
  }
}

std::string RequestGuard::host_of(std::string_view v) {
  v = trim(v);
  std::string_view host;
  if (!v.empty() && v.front() == '[') {
    size_t close = v.find(']');
    if (close == std::string_view::npos) return {};
    host = v.substr(1, close - 1);
    std::string_view rest = v.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return {};
  } else {
    size_t colon = v.find(':');
    // More than one colon without brackets: an IPv6 literal that a Host header may not carry bare.
    if (colon != std::string_view::npos && v.find(':', colon + 1) != std::string_view::npos) return {};
    host = v.substr(0, colon);
  }
  if (host.ends_with('.')) host.remove_suffix(1);
  return lower(host);
}

bool RequestGuard::host_allowed(std::string_view host_header, std::string_view local_address) const {
  if (any_host_) return true;
  std::string host = host_of(host_header);
  if (host.empty()) return false;
  if (is_loopback_host(host)) return true;
  auto ip = parse_ip(host);
  if (ip) {
    // A page cannot make a browser send an address it did not connect to: the address the client
    // reached us on is always a right Host (DNS rebinding needs a name).
    auto local = parse_ip(local_address);
    if (local && *local == *ip) return true;
  }
  for (const std::string& allowed : options_.allowed_hosts) {
    if (allowed == host) return true;
    if (ip) {
      auto a = parse_ip(allowed);
      if (a && *a == *ip) return true;
    }
  }
  return false;
}

bool RequestGuard::is_cors_origin(std::string_view origin) const {
  return std::any_of(options_.cors_origins.begin(), options_.cors_origins.end(),
                     [&](const std::string& o) { return iequals(o, origin); });
}

bool RequestGuard::origin_allowed(std::string_view origin, std::optional<std::string_view> host) const {
  if (is_cors_origin(origin)) return true;
  // Same origin: a page served by this node (its console) at the Host the request names.
  if (!host) return false;
  std::string_view h = trim(*host);
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() == scheme.size() + h.size() && iequals(origin.substr(0, scheme.size()), scheme) &&
        iequals(origin.substr(scheme.size()), h)) {
      return true;
    }
  }
  return false;
}

std::optional<Refusal> RequestGuard::check(const RequestHead& head) const {
  if (head.transfer_encoding && !iequals(trim(*head.transfer_encoding), "chunked")) {
    return Refusal{GuardReason::transfer_encoding,
                   refusal(501, "unsupported_transfer_encoding",
                           "Transfer-Encoding '" + std::string(*head.transfer_encoding) +
                               "' is not supported: send the body as is (Content-Length) or chunked")};
  }
  if (head.host && !host_allowed(*head.host, head.local_address)) {
    return Refusal{GuardReason::host,
                   refusal(421, "host_not_allowed",
                           "Host '" + std::string(*head.host) +
                               "' does not name this node; use its address or a name given to --allowed-hosts")};
  }
  if (!changes_state(head.method)) return std::nullopt;
  if (head.origin && !origin_allowed(*head.origin, head.host)) {
    return Refusal{GuardReason::origin, refusal(403, "origin_not_allowed",
                                                "cross-origin request from '" + std::string(*head.origin) +
                                                    "' refused; allow an origin with --cors-origin")};
  }
  if (head.content_type) {
    std::string_view type = media_type(*head.content_type);
    bool json = iequals(type, "application/json") ||
                (type.size() > 12 && iequals(type.substr(0, 12), "application/") && iends_with(type, "+json"));
    if (json || iequals(type, "application/octet-stream")) return std::nullopt;
  } else if (!head.has_body) {
    return std::nullopt;
  }
  return Refusal{GuardReason::content_type,
                 refusal(415, "unsupported_media_type",
                         "a " + std::string(head.method_name) +
                             " with a body must have Content-Type application/json (JSON bodies) or "
                             "application/octet-stream (raw values)" +
                             (head.content_type ? ", not '" + std::string(*head.content_type) + "'" : std::string()))};
}

std::optional<Response> RequestGuard::preflight(const RequestHead& head) const {
  if (head.method != Method::other || head.method_name != "OPTIONS" || !head.origin ||
      !head.access_control_request_method || !is_cors_origin(*head.origin)) {
    return std::nullopt;
  }
  Response r;
  r.status = 204;
  r.headers.emplace_back("Access-Control-Allow-Origin", std::string(*head.origin));
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, PUT, POST, DELETE");
  r.headers.emplace_back("Access-Control-Allow-Headers", "Content-Type");
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  r.headers.emplace_back("Vary", "Origin");
  return r;
}

void RequestGuard::decorate(std::optional<std::string_view> origin, Response* res) const {
  if (!origin || !is_cors_origin(*origin)) return;
  res->headers.emplace_back("Access-Control-Allow-Origin", std::string(*origin));
  res->headers.emplace_back("Vary", "Origin");
}

}  // namespace strata::net::http
