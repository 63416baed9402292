#include "net/http/response_head.h"

#include <charconv>

#include "net/http/ascii.h"

namespace strata::net::http {

namespace {

bool safe_field_text(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void append_number(uint64_t n, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  (void)ec;  // 24 digits hold any uint64_t
  out->append(buf, end);
}

void append_field(std::string_view name, std::string_view value, std::string* out) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

}  // namespace

bool status_has_no_body(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

void append_response_head(const Response& res, std::string_view reason, size_t body_size, const HeadOptions& options,
                          std::string* out) {
  out->append("HTTP/1.1 ");
  append_number(static_cast<uint64_t>(res.status), out);
  out->push_back(' ');
  if (safe_field_text(reason)) out->append(reason);
  out->append("\r\n");
  if (!options.server_name.empty() && safe_field_text(options.server_name)) {
    append_field("Server", options.server_name, out);
  }
  if (!res.content_type.empty() && safe_field_text(res.content_type)) {
    append_field("Content-Type", res.content_type, out);
  }
  for (const auto& [name, value] : res.headers) {
    if (name.empty() || !safe_field_text(name) || !safe_field_text(value)) continue;
    if (iequals(name, "Content-Length") || iequals(name, "Connection") || iequals(name, "Transfer-Encoding")) continue;
    append_field(name, value, out);
  }
  if (!status_has_no_body(res.status)) {
    out->append("Content-Length: ");
    append_number(body_size, out);
    out->append("\r\n");
  }
  if (!options.keep_alive) {
    out->append("Connection: close\r\n");
  } else if (options.http10_client) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n");
}

}  // namespace strata::net::http
