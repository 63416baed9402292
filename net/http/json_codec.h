// Encoding helpers shared by the HTTP handlers and the CLI: percent-decoding of paths and query
// strings, UTF-8 validation, base64, the JSON form of a key or value, the JSON and Prometheus
// renderings of DbStats, and the JSON of a LookupTrace and of the option list (both directions,
// so that the CLI's HTTP backend reads back what the server wrote).
//
// Why base64: keys and values are arbitrary bytes, JSON strings are Unicode. A byte string that is
// valid UTF-8 is emitted as a JSON string; any other is base64-encoded (RFC 4648, with padding) and
// marked with "encoding":"base64" so that the output is always valid JSON.
// Thread-safety: pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strata/db.h"
#include "strata/stats.h"
#include "strata/trace.h"
#include "lib/replication/kv_service.h"
#include "net/http/prometheus_text.h"

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

// GET /v1/stats body. Every DbStats counter at the top level under its own name (so that
// stats_from_json can read it back), TinyLSM's STATS names (sstable_count, sstables_per_level:
// an array of file counts indexed by level, total_size_bytes, memtable_size_bytes, memtable_keys,
// bytes_written_disk, bytes_written_user, write_amplification), the derived ratios
// (read_amplification, space_amplification, block_cache_hit_rate, table_cache_hit_rate,
// bloom_negative_rate, all in [0, 1] except the amplifications) and these groups:
//   "levels": [{"level", "file_count", "size_bytes", "target_bytes", "compaction_score"}, ...]
//   "amplification": {"write", "read", "space"}
//   "block_cache": {"hits", "misses", "hit_rate", "usage_bytes", "capacity_bytes"}
//   "table_cache": {"hits", "misses", "hit_rate", "open_tables"}
//   "bloom": {"checks", "negatives", "negative_rate"}
//   "compaction": {"count", "trivial_moves", "seek", "seek_preempted", "bytes_read", "bytes_written", "micros",
//                  "dropped_entries", "running"}
//   "stall": {"micros"}
// Sizes in bytes, times in microseconds.
boost::json::object stats_to_json(const DbStats& stats);
// The DbStats that stats_to_json rendered (its top-level counters and "levels"); nullopt when a
// counter is missing or of the wrong type. Used by the CLI's HTTP backend.
std::optional<DbStats> stats_from_json(const boost::json::object& o);

// GET /v1/trace body: {"key" (base64 with "encoding":"base64" when not UTF-8), "read_sequence",
// "found", "value" (null unless found; base64 like the key), "found_sequence" (null when
// unknown), "micros", "sstables_consulted", "bloom_negatives", "block_cache_hits",
// "blocks_read", "steps": [{"source", "level", "file_number", "outcome", "bloom_checked",
// "block_cache_hits", "blocks_read", "bytes_read"}, ...]}.
boost::json::object trace_to_json(const LookupTrace& trace);
// Inverse of trace_to_json; nullopt when malformed.
std::optional<LookupTrace> trace_from_json(const boost::json::object& o);

// GET /v1/config body: {"options": [{"name", "value", "mutable"}, ...]} (values as strings).
boost::json::object options_to_json(const std::vector<OptionInfo>& options);
// Inverse of options_to_json; nullopt when malformed.
std::optional<std::vector<OptionInfo>> options_from_json(const boost::json::object& o);

// GET /metrics body: the same counters in the Prometheus text exposition format (version 0.0.4),
// names prefixed with "strata_".
std::string stats_to_prometheus(const DbStats& stats, std::string_view node_id);

// A cluster node's replication counters (replication::NodeStats): for GET /v1/stats "replication",
// {"proposals", "proposals_refused", "proposal_batches", "applied_entries", "snapshots_sent",
// "snapshots_installed", "log_compactions", "read_index_rounds", "learners_removed",
// "ready_cycles", "entries_persisted", "persist_micros", "messages_sent",
// "entries_applied_early", "messages_invalid": {raft::DropReason name: count, ...}}; and for
// /metrics, the same as strata_raft_* counters (times in seconds; the invalid messages as
// strata_raft_messages_invalid_total{reason="..."}), appended after stats_to_prometheus's.
boost::json::object replication_stats_to_json(const replication::NodeStats& stats);
std::string replication_stats_to_prometheus(const replication::NodeStats& stats);

// The peer transport's counters, gauges and limits (replication::TransportStats): for GET
// /v1/stats "replication"."transport" {"frames_sent", "frames_received", "dropped", "connects",
// "protocol_errors", "connections_refused", "timeouts", "inbound_connections",
// "inbound_buffer_bytes", "max_frame_bytes", "max_inbound_connections",
// "max_inbound_per_address", "handshake_timeout_ms", "frame_timeout_ms"}; for /metrics as
// strata_peer_* (counters *_total, gauges, limits as strata_peer_limit_*; times in seconds).
boost::json::object transport_stats_to_json(const replication::TransportStats& stats);
std::string transport_stats_to_prometheus(const replication::TransportStats& stats);

}  // namespace strata::net::http
