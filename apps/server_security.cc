#include "apps/server_security.h"

#include "net/http/request_guard.h"

namespace strata {

namespace {

// Splits "a,b" into its items; false for an empty item ("a,,b", "a,").
bool split_list(std::string_view list, std::vector<std::string_view>* items) {
  if (list.empty()) return true;
  size_t pos = 0;
  for (;;) {
    size_t comma = list.find(',', pos);
    std::string_view item = list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item.empty()) return false;
    items->push_back(item);
    if (comma == std::string_view::npos) return true;
    pos = comma + 1;
  }
}

// A listen host: a name, an IPv4 address or a bare IPv6 address ("::1").
bool loopback(std::string_view host) {
  return net::http::is_loopback_host(host) || net::http::is_loopback_host(net::http::RequestGuard::host_of(host));
}

}  // namespace

bool parse_allowed_hosts(std::string_view list, std::vector<std::string>* out, std::string* why) {
  std::vector<std::string_view> items;
  bool ok = split_list(list, &items);
  for (std::string_view item : items) {
    if (item == "*") {
      out->emplace_back(item);
      continue;
    }
    if (item.find_first_of("/ @\t") != std::string_view::npos || net::http::RequestGuard::host_of(item).empty()) {
      ok = false;
      break;
    }
    out->emplace_back(item);
  }
  if (!ok)
    *why =
        "--allowed-hosts expects host names or addresses separated by commas (or *), got '" + std::string(list) + "'";
  return ok;
}

bool parse_cors_origins(std::string_view list, std::vector<std::string>* out, std::string* why) {
  std::vector<std::string_view> items;
  bool ok = split_list(list, &items);
  for (std::string_view item : items) {
    std::string_view rest;
    if (item.starts_with("http://")) {
      rest = item.substr(7);
    } else if (item.starts_with("https://")) {
      rest = item.substr(8);
    } else {
      ok = false;
      break;
    }
    if (rest.empty() || rest.find_first_of("/ *@?#\t") != std::string_view::npos ||
        net::http::RequestGuard::host_of(rest).empty()) {
      ok = false;
      break;
    }
    out->emplace_back(item);
  }
  if (!ok) {
    *why =
        "--cors-origin expects origins such as https://console.example:8443 separated by commas (no path, no *), got '" +
        std::string(list) + "'";
  }
  return ok;
}

bool is_unspecified_address(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

std::vector<std::string> security_warnings(const Exposure& e) {
  std::vector<std::string> out;
  const std::string client_where = e.client_host.empty() ? std::string("every address") : e.client_host;
  if (!loopback(e.client_host) && !e.client_tls) {
    out.push_back("the client port listens on " + client_where +
                  ", beyond loopback, without TLS (--cert-file, --key-file) or client authentication: anyone who "
                  "can reach it, or watch the network, can read and change every key and the cluster's membership; "
                  "firewall it or listen on 127.0.0.1");
  } else if (!loopback(e.client_host) && !e.client_cert_auth) {
    out.push_back("the client port listens on " + client_where +
                  " with TLS but without client authentication (--client-cert-auth): anyone who can reach it can "
                  "read and change every key and the cluster's membership");
  }
  if (e.cluster && !e.peer_secret && !e.peer_tls && !loopback(e.peer_host)) {
    out.push_back("the peer port listens on " + (e.peer_host.empty() ? std::string("every address") : e.peer_host) +
                  ", beyond loopback, without mutual TLS (--peer-cert-file) or --peer-secret-file: anyone who can "
                  "reach it can speak for a member of the cluster");
  } else if (e.cluster && !e.peer_tls && !loopback(e.peer_host)) {
    out.push_back("the peer port listens on " + (e.peer_host.empty() ? std::string("every address") : e.peer_host) +
                  ", beyond loopback, authenticated by --peer-secret-file but without TLS (--peer-cert-file): "
                  "anyone who can watch the network reads every replicated key and value");
  }
  if (e.peer_secret && e.secret_readable_by_others) {
    out.push_back("the peer secret file " + e.secret_file + " can be read by other users than its owner; chmod 600 it");
  }
  return out;
}

}  // namespace strata
