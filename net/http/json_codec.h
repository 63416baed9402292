// Encoding helpers shared by the HTTP handlers and the CLI: percent-decoding of paths and query
// strings, UTF-8 validation, base64, the JSON form of a key or value, and the JSON and Prometheus
// renderings of DbStats.
//
// Why base64: keys and values are arbitrary bytes, JSON strings are Unicode. A byte string that is
// valid UTF-8 is emitted as a JSON string; any other is base64-encoded (RFC 4648, with padding) and
// marked with "encoding":"base64" so that the output is always valid JSON.
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/db/stats.h"

namespace strata::net::http {

// Decodes %XY escapes. With `plus_is_space` (query strings, application/x-www-form-urlencoded),
// '+' becomes ' '. nullopt when an escape is malformed ("%4", "%zz").
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

// Encodes every byte outside RFC 3986 "unreserved" as %XY (so '/' becomes %2F).
std::string percent_encode(std::string_view s);

// Splits "a=1&b=%20x" into decoded pairs. nullopt when an escape is malformed. Empty segments
// ("a=1&&b=2") are skipped; "flag" without '=' has an empty value.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not padded base64 of the standard alphabet.
std::optional<std::string> base64_decode(std::string_view text);

// Adds {"key": ..., "value": ...} to `out`, base64-encoding both (with "encoding":"base64") when
// `force_base64` or when either is not valid UTF-8. A missing value (nullopt) becomes null.
void put_key_value(boost::json::object& out, std::string_view key, const std::optional<std::string>& value,
                   bool force_base64);

// GET /v1/stats body: every DbStats counter plus write_amplification and the per-level table.
boost::json::object stats_to_json(const DbStats& stats);

// GET /metrics body: the same counters in the Prometheus text exposition format (version 0.0.4),
// names prefixed with "strata_".
std::string stats_to_prometheus(const DbStats& stats, std::string_view node_id);

}  // namespace strata::net::http
