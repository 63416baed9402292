#include "net/http/json_codec.h"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <cstdio>

namespace strata::net::http {

namespace json = boost::json;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> make_base64_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (size_t i = 0; i < kBase64Alphabet.size(); ++i) t[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr auto kBase64Table = make_base64_table();

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view name = part.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    auto dn = percent_decode(name, true);
    auto dv = percent_decode(value, true);
    if (!dn || !dv) return std::nullopt;
    out.emplace_back(std::move(*dn), std::move(*dv));
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong lead (C0, C1) or above F4
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF) return false;
    if (cp >= 0xD800 && cp <= 0xDFFF) return false;
    i += len;
  }
  return true;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = p[i] << 16;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      auto c = static_cast<unsigned char>(text[i + k]);
      if (c == '=' && last && k >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      int d = kBase64Table[c];
      if (d < 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<char>((v >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xFF));
  }
  return out;
}

void put_key_value(json::object& out, std::string_view key, const std::optional<std::string>& value,
                   bool force_base64) {
  bool b64 = force_base64 || !is_valid_utf8(key) || (value && !is_valid_utf8(*value));
  if (b64) {
    out["key"] = base64_encode(key);
    if (value) {
      out["value"] = base64_encode(*value);
    } else {
      out["value"] = nullptr;
    }
    out["encoding"] = "base64";
  } else {
    out["key"] = key;
    if (value) {
      out["value"] = *value;
    } else {
      out["value"] = nullptr;
    }
  }
}

json::object stats_to_json(const DbStats& s) {
  json::object o;
  o["last_sequence"] = s.last_sequence;
  o["memtable_size_bytes"] = s.memtable_size_bytes;
  o["memtable_keys"] = s.memtable_keys;
  o["immutable_memtables"] = s.immutable_memtables;
  o["sstable_count"] = s.sstable_count;
  o["total_sstable_size_bytes"] = s.total_sstable_size_bytes;
  json::array levels;
  for (const auto& l : s.levels) {
    levels.push_back(json::object{{"level", l.level}, {"file_count", l.file_count}, {"size_bytes", l.size_bytes}});
  }
  o["levels"] = std::move(levels);
  o["puts"] = s.puts;
  o["deletes"] = s.deletes;
  o["gets"] = s.gets;
  o["scans"] = s.scans;
  o["bytes_written_user"] = s.bytes_written_user;
  o["bytes_written_wal"] = s.bytes_written_wal;
  o["bytes_written_flush"] = s.bytes_written_flush;
  o["bytes_written_compaction"] = s.bytes_written_compaction;
  o["wal_syncs"] = s.wal_syncs;
  o["write_groups"] = s.write_groups;
  o["flushes"] = s.flushes;
  o["stall_micros"] = s.stall_micros;
  o["block_reads"] = s.block_reads;
  o["bloom_negatives"] = s.bloom_negatives;
  o["write_amplification"] = s.write_amplification();
  o["sync_policy"] = s.sync_policy;
  o["read_only"] = s.read_only;
  o["read_only_reason"] = s.read_only_reason;
  return o;
}

namespace {

void metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, double value,
            std::string_view labels = {}) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  out += "# HELP strata_";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE strata_";
  out += name;
  out += ' ';
  out += type;
  out += "\nstrata_";
  out += name;
  out += labels;
  out += ' ';
  out += buf;
  out += '\n';
}

// Escapes a Prometheus label value (backslash, double quote, newline).
std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string stats_to_prometheus(const DbStats& s, std::string_view node_id) {
  std::string out;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  metric(out, "last_sequence", "gauge", "Sequence number of the last acknowledged write.", d(s.last_sequence));
  metric(out, "memtable_size_bytes", "gauge", "Arena bytes of the active memtable.", d(s.memtable_size_bytes));
  metric(out, "memtable_keys", "gauge", "Entries in the active memtable.", d(s.memtable_keys));
  metric(out, "immutable_memtables", "gauge", "Immutable memtables waiting for their flush.", d(s.immutable_memtables));
  metric(out, "sstable_count", "gauge", "Live SSTables.", d(s.sstable_count));
  metric(out, "sstable_size_bytes", "gauge", "Total size of live SSTables.", d(s.total_sstable_size_bytes));
  metric(out, "puts_total", "counter", "Put operations.", d(s.puts));
  metric(out, "deletes_total", "counter", "Delete operations.", d(s.deletes));
  metric(out, "gets_total", "counter", "Get operations.", d(s.gets));
  metric(out, "scans_total", "counter", "Scan operations.", d(s.scans));
  metric(out, "bytes_written_user_total", "counter", "Key and value bytes handed to writes.", d(s.bytes_written_user));
  metric(out, "bytes_written_wal_total", "counter", "Bytes written to the WAL.", d(s.bytes_written_wal));
  metric(out, "bytes_written_flush_total", "counter", "SSTable bytes written by flushes.", d(s.bytes_written_flush));
  metric(out, "bytes_written_compaction_total", "counter", "SSTable bytes written by compactions.",
         d(s.bytes_written_compaction));
  metric(out, "wal_syncs_total", "counter", "WAL fdatasync calls.", d(s.wal_syncs));
  metric(out, "write_groups_total", "counter", "Group commits (WAL writes).", d(s.write_groups));
  metric(out, "flushes_total", "counter", "Memtable flushes.", d(s.flushes));
  metric(out, "stall_seconds_total", "counter", "Time writers waited for flushes.", d(s.stall_micros) / 1e6);
  metric(out, "block_reads_total", "counter", "Data blocks read from disk.", d(s.block_reads));
  metric(out, "bloom_negatives_total", "counter", "Table lookups avoided by bloom filters.", d(s.bloom_negatives));
  metric(out, "write_amplification", "gauge", "Bytes written to disk per byte written by the user.",
         s.write_amplification());
  metric(out, "read_only", "gauge", "1 when the DB refuses writes after a failed write or sync.", s.read_only ? 1 : 0);
  out += "# HELP strata_level_files Files per LSM level.\n# TYPE strata_level_files gauge\n";
  for (const auto& l : s.levels) {
    out += "strata_level_files{level=\"" + std::to_string(l.level) + "\"} " + std::to_string(l.file_count) + "\n";
  }
  out += "# HELP strata_level_size_bytes Bytes per LSM level.\n# TYPE strata_level_size_bytes gauge\n";
  for (const auto& l : s.levels) {
    out += "strata_level_size_bytes{level=\"" + std::to_string(l.level) + "\"} " + std::to_string(l.size_bytes) + "\n";
  }
  std::string labels = "{node_id=\"" + label_value(node_id) + "\",sync_policy=\"" + label_value(s.sync_policy) + "\"}";
  metric(out, "node_info", "gauge", "Constant 1, labelled with the node's identity.", 1, labels);
  return out;
}

}  // namespace strata::net::http
