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
  for (size_t i = 0; i < kBase64Alphabet.size(); ++i)
    t[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
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

namespace {

// The raw DbStats counters, by name, for both directions.
struct Counter {
  std::string_view name;
  uint64_t DbStats::* field;
};
constexpr Counter kCounters[] = {
    {"last_sequence", &DbStats::last_sequence},
    {"memtable_size_bytes", &DbStats::memtable_size_bytes},
    {"memtable_keys", &DbStats::memtable_keys},
    {"immutable_memtables", &DbStats::immutable_memtables},
    {"sstable_count", &DbStats::sstable_count},
    {"total_sstable_size_bytes", &DbStats::total_sstable_size_bytes},
    {"puts", &DbStats::puts},
    {"deletes", &DbStats::deletes},
    {"gets", &DbStats::gets},
    {"scans", &DbStats::scans},
    {"bytes_written_user", &DbStats::bytes_written_user},
    {"bytes_written_wal", &DbStats::bytes_written_wal},
    {"bytes_written_flush", &DbStats::bytes_written_flush},
    {"bytes_written_compaction", &DbStats::bytes_written_compaction},
    {"wal_syncs", &DbStats::wal_syncs},
    {"write_groups", &DbStats::write_groups},
    {"flushes", &DbStats::flushes},
    {"stall_micros", &DbStats::stall_micros},
    {"compactions", &DbStats::compactions},
    {"trivial_moves", &DbStats::trivial_moves},
    {"seek_compactions", &DbStats::seek_compactions},
    {"seek_compactions_preempted", &DbStats::seek_compactions_preempted},
    {"bytes_read_compaction", &DbStats::bytes_read_compaction},
    {"compaction_micros", &DbStats::compaction_micros},
    {"compaction_dropped_entries", &DbStats::compaction_dropped_entries},
    {"running_compactions", &DbStats::running_compactions},
    {"table_probes", &DbStats::table_probes},
    {"block_reads", &DbStats::block_reads},
    {"block_reads_page_cache", &DbStats::block_reads_page_cache},
    {"block_reads_mapped", &DbStats::block_reads_mapped},
    {"block_read_bytes", &DbStats::block_read_bytes},
    {"bloom_checks", &DbStats::bloom_checks},
    {"bloom_negatives", &DbStats::bloom_negatives},
    {"block_cache_hits", &DbStats::block_cache_hits},
    {"block_cache_misses", &DbStats::block_cache_misses},
    {"block_cache_usage_bytes", &DbStats::block_cache_usage_bytes},
    {"block_cache_capacity_bytes", &DbStats::block_cache_capacity_bytes},
    {"table_cache_hits", &DbStats::table_cache_hits},
    {"table_cache_misses", &DbStats::table_cache_misses},
    {"open_tables", &DbStats::open_tables},
};

std::optional<uint64_t> u64_of(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<uint64_t>(v->get_int64());
  return std::nullopt;
}

std::optional<double> double_of(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  return std::nullopt;
}

std::optional<int64_t> i64_of(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX))
    return static_cast<int64_t>(v->get_uint64());
  return std::nullopt;
}

std::optional<std::string> string_of(const json::value* v) {
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

}  // namespace

json::object stats_to_json(const DbStats& s) {
  json::object o;
  for (const Counter& c : kCounters) o[c.name] = s.*c.field;
  json::array levels;
  json::array per_level;
  for (const auto& l : s.levels) {
    levels.push_back(json::object{{"level", l.level},
                                  {"file_count", l.file_count},
                                  {"size_bytes", l.size_bytes},
                                  {"target_bytes", l.target_bytes},
                                  {"compaction_score", l.compaction_score}});
    per_level.push_back(l.file_count);
  }
  o["levels"] = std::move(levels);
  // TinyLSM's STATS names.
  o["sstables_per_level"] = std::move(per_level);
  o["total_size_bytes"] = s.total_sstable_size_bytes;
  o["bytes_written_disk"] = s.bytes_written_disk();
  o["write_amplification"] = s.write_amplification();
  // Derived ratios.
  o["read_amplification"] = s.read_amplification();
  o["space_amplification"] = s.space_amplification();
  o["block_cache_hit_rate"] = s.block_cache_hit_rate();
  o["table_cache_hit_rate"] = s.table_cache_hit_rate();
  o["bloom_negative_rate"] = s.bloom_negative_rate();
  // Groups.
  o["amplification"] = json::object{
      {"write", s.write_amplification()}, {"read", s.read_amplification()}, {"space", s.space_amplification()}};
  o["block_cache"] = json::object{{"hits", s.block_cache_hits},
                                  {"misses", s.block_cache_misses},
                                  {"hit_rate", s.block_cache_hit_rate()},
                                  {"usage_bytes", s.block_cache_usage_bytes},
                                  {"capacity_bytes", s.block_cache_capacity_bytes}};
  o["table_cache"] = json::object{{"hits", s.table_cache_hits},
                                  {"misses", s.table_cache_misses},
                                  {"hit_rate", s.table_cache_hit_rate()},
                                  {"open_tables", s.open_tables}};
  o["bloom"] = json::object{
      {"checks", s.bloom_checks}, {"negatives", s.bloom_negatives}, {"negative_rate", s.bloom_negative_rate()}};
  o["compaction"] = json::object{{"count", s.compactions},
                                 {"trivial_moves", s.trivial_moves},
                                 {"seek", s.seek_compactions},
                                 {"seek_preempted", s.seek_compactions_preempted},
                                 {"bytes_read", s.bytes_read_compaction},
                                 {"bytes_written", s.bytes_written_compaction},
                                 {"micros", s.compaction_micros},
                                 {"dropped_entries", s.compaction_dropped_entries},
                                 {"running", s.running_compactions}};
  o["stall"] = json::object{{"micros", s.stall_micros}};
  o["sync_policy"] = s.sync_policy;
  o["read_only"] = s.read_only;
  o["read_only_reason"] = s.read_only_reason;
  return o;
}

std::optional<DbStats> stats_from_json(const json::object& o) {
  DbStats s;
  for (const Counter& c : kCounters) {
    auto v = u64_of(o.if_contains(c.name));
    if (!v) return std::nullopt;
    s.*c.field = *v;
  }
  const json::value* levels = o.if_contains("levels");
  if (!levels || !levels->is_array()) return std::nullopt;
  for (const json::value& lv : levels->get_array()) {
    const json::object* l = lv.if_object();
    if (!l) return std::nullopt;
    LevelStats ls;
    auto level = i64_of(l->if_contains("level"));
    auto files = u64_of(l->if_contains("file_count"));
    auto size = u64_of(l->if_contains("size_bytes"));
    auto target = u64_of(l->if_contains("target_bytes"));
    auto score = double_of(l->if_contains("compaction_score"));
    if (!level || !files || !size || !target || !score) return std::nullopt;
    ls.level = static_cast<int>(*level);
    ls.file_count = *files;
    ls.size_bytes = *size;
    ls.target_bytes = *target;
    ls.compaction_score = *score;
    s.levels.push_back(ls);
  }
  auto policy = string_of(o.if_contains("sync_policy"));
  const json::value* ro = o.if_contains("read_only");
  auto reason = string_of(o.if_contains("read_only_reason"));
  if (!policy || !ro || !ro->is_bool() || !reason) return std::nullopt;
  s.sync_policy = std::move(*policy);
  s.read_only = ro->get_bool();
  s.read_only_reason = std::move(*reason);
  return s;
}

json::object trace_to_json(const LookupTrace& t) {
  json::object o;
  put_key_value(o, t.key, t.found ? t.value : std::nullopt, false);
  o["read_sequence"] = t.read_sequence;
  o["found"] = t.found;
  if (t.found_sequence) {
    o["found_sequence"] = *t.found_sequence;
  } else {
    o["found_sequence"] = nullptr;
  }
  o["micros"] = t.micros;
  o["sstables_consulted"] = t.sstables_consulted();
  o["bloom_negatives"] = t.bloom_negatives();
  o["block_cache_hits"] = t.block_cache_hits();
  o["blocks_read"] = t.blocks_read();
  json::array steps;
  for (const auto& st : t.steps) {
    steps.push_back(json::object{{"source", st.source},
                                 {"level", st.level},
                                 {"file_number", st.file_number},
                                 {"outcome", st.outcome},
                                 {"bloom_checked", st.bloom_checked},
                                 {"block_cache_hits", st.block_cache_hits},
                                 {"blocks_read", st.blocks_read},
                                 {"bytes_read", st.bytes_read}});
  }
  o["steps"] = std::move(steps);
  return o;
}

std::optional<LookupTrace> trace_from_json(const json::object& o) {
  LookupTrace t;
  bool b64 = false;
  if (const json::value* enc = o.if_contains("encoding")) {
    if (!enc->is_string() || enc->get_string() != "base64") return std::nullopt;
    b64 = true;
  }
  auto key = string_of(o.if_contains("key"));
  if (!key) return std::nullopt;
  if (b64) {
    key = base64_decode(*key);
    if (!key) return std::nullopt;
  }
  t.key = std::move(*key);
  const json::value* found = o.if_contains("found");
  if (!found || !found->is_bool()) return std::nullopt;
  t.found = found->get_bool();
  const json::value* value = o.if_contains("value");
  if (!value) return std::nullopt;
  if (!value->is_null()) {
    auto v = string_of(value);
    if (!v) return std::nullopt;
    if (b64) {
      v = base64_decode(*v);
      if (!v) return std::nullopt;
    }
    t.value = std::move(*v);
  }
  auto read_seq = u64_of(o.if_contains("read_sequence"));
  auto micros = u64_of(o.if_contains("micros"));
  if (!read_seq || !micros) return std::nullopt;
  t.read_sequence = *read_seq;
  t.micros = *micros;
  const json::value* fs = o.if_contains("found_sequence");
  if (!fs) return std::nullopt;
  if (!fs->is_null()) {
    auto v = u64_of(fs);
    if (!v) return std::nullopt;
    t.found_sequence = *v;
  }
  const json::value* steps = o.if_contains("steps");
  if (!steps || !steps->is_array()) return std::nullopt;
  for (const json::value& sv : steps->get_array()) {
    const json::object* so = sv.if_object();
    if (!so) return std::nullopt;
    LookupTrace::Step st;
    auto source = string_of(so->if_contains("source"));
    auto level = i64_of(so->if_contains("level"));
    auto file = u64_of(so->if_contains("file_number"));
    auto outcome = string_of(so->if_contains("outcome"));
    const json::value* bloom = so->if_contains("bloom_checked");
    auto hits = u64_of(so->if_contains("block_cache_hits"));
    auto blocks = u64_of(so->if_contains("blocks_read"));
    auto bytes = u64_of(so->if_contains("bytes_read"));
    if (!source || !level || !file || !outcome || !bloom || !bloom->is_bool() || !hits || !blocks || !bytes) {
      return std::nullopt;
    }
    st.source = std::move(*source);
    st.level = static_cast<int>(*level);
    st.file_number = *file;
    st.outcome = std::move(*outcome);
    st.bloom_checked = bloom->get_bool();
    st.block_cache_hits = *hits;
    st.blocks_read = *blocks;
    st.bytes_read = *bytes;
    t.steps.push_back(std::move(st));
  }
  return t;
}

json::object options_to_json(const std::vector<OptionInfo>& options) {
  json::array list;
  for (const auto& opt : options) {
    list.push_back(json::object{{"name", opt.name}, {"value", opt.value}, {"mutable", opt.mutable_at_runtime}});
  }
  return json::object{{"options", std::move(list)}};
}

std::optional<std::vector<OptionInfo>> options_from_json(const json::object& o) {
  const json::value* list = o.if_contains("options");
  if (!list || !list->is_array()) return std::nullopt;
  std::vector<OptionInfo> out;
  for (const json::value& v : list->get_array()) {
    const json::object* e = v.if_object();
    if (!e) return std::nullopt;
    auto name = string_of(e->if_contains("name"));
    auto value = string_of(e->if_contains("value"));
    const json::value* m = e->if_contains("mutable");
    if (!name || !value || !m || !m->is_bool()) return std::nullopt;
    out.push_back(OptionInfo{std::move(*name), std::move(*value), m->get_bool()});
  }
  return out;
}

std::string stats_to_prometheus(const DbStats& s, std::string_view node_id) {
  std::string out;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  append_metric(out, "last_sequence", "gauge", "Sequence number of the last acknowledged write.", d(s.last_sequence));
  append_metric(out, "memtable_size_bytes", "gauge", "Arena bytes of the active memtable.", d(s.memtable_size_bytes));
  append_metric(out, "memtable_keys", "gauge", "Entries in the active memtable.", d(s.memtable_keys));
  append_metric(out, "immutable_memtables", "gauge", "Immutable memtables waiting for their flush.",
                d(s.immutable_memtables));
  append_metric(out, "sstables", "gauge", "Live SSTables.", d(s.sstable_count));
  append_metric(out, "sstable_size_bytes", "gauge", "Total size of live SSTables.", d(s.total_sstable_size_bytes));
  append_metric(out, "puts_total", "counter", "Put operations.", d(s.puts));
  append_metric(out, "deletes_total", "counter", "Delete operations.", d(s.deletes));
  append_metric(out, "gets_total", "counter", "Get operations.", d(s.gets));
  append_metric(out, "scans_total", "counter", "Scan operations.", d(s.scans));
  append_metric(out, "bytes_written_user_total", "counter", "Key and value bytes handed to writes.",
                d(s.bytes_written_user));
  append_metric(out, "bytes_written_wal_total", "counter", "Bytes written to the WAL.", d(s.bytes_written_wal));
  append_metric(out, "bytes_written_flush_total", "counter", "SSTable bytes written by flushes.",
                d(s.bytes_written_flush));
  append_metric(out, "bytes_written_compaction_total", "counter", "SSTable bytes written by compactions.",
                d(s.bytes_written_compaction));
  append_metric(out, "wal_syncs_total", "counter", "WAL fdatasync calls.", d(s.wal_syncs));
  const std::pair<std::string_view, HistogramSnapshot> wal_sync[] = {{"", s.wal_sync_latency}};
  append_histogram_family(out, "wal_sync_duration_seconds",
                          "Synced WAL writes (the write and its fdatasync) of the DB's group commit.", "", wal_sync);
  append_metric(out, "write_groups_total", "counter", "Group commits (WAL writes).", d(s.write_groups));
  append_metric(out, "flushes_total", "counter", "Memtable flushes.", d(s.flushes));
  append_metric(out, "stall_seconds_total", "counter", "Time writers were delayed or stopped (memtables, L0).",
                d(s.stall_micros) / 1e6);
  append_metric(out, "block_reads_total", "counter", "Data blocks read from disk.", d(s.block_reads));
  append_metric(out, "block_reads_page_cache_total", "counter",
                "Data blocks read from files that the OS page cache held (no I/O wait).", d(s.block_reads_page_cache));
  append_metric(out, "block_reads_mapped_total", "counter", "Data blocks served from SSTable memory mappings.",
                d(s.block_reads_mapped));
  append_metric(out, "bloom_negatives_total", "counter", "Table lookups avoided by bloom filters.",
                d(s.bloom_negatives));
  append_metric(out, "write_amplification", "gauge", "Bytes written to disk per byte written by the user.",
                s.write_amplification());
  append_metric(out, "read_amplification", "gauge", "SSTables consulted per get.", s.read_amplification());
  append_metric(out, "space_amplification", "gauge", "SSTable bytes per byte of the deepest non-empty level.",
                s.space_amplification());
  append_metric(out, "bytes_written_disk_total", "counter",
                "Bytes written to disk by the WAL, flushes and compactions.", d(s.bytes_written_disk()));
  append_metric(out, "compactions_total", "counter", "Compactions that merged files.", d(s.compactions));
  append_metric(out, "trivial_moves_total", "counter", "Files moved to the next level without rewriting.",
                d(s.trivial_moves));
  append_metric(out, "seek_compactions_total", "counter", "Compactions started by seek budgets.",
                d(s.seek_compactions));
  append_metric(out, "seek_compactions_preempted_total", "counter",
                "Low-priority seek compactions stopped by a flush and retried.", d(s.seek_compactions_preempted));
  append_metric(out, "compaction_read_bytes_total", "counter", "Input bytes of compactions.",
                d(s.bytes_read_compaction));
  append_metric(out, "compaction_seconds_total", "counter", "Time spent in compaction jobs.",
                d(s.compaction_micros) / 1e6);
  append_metric(out, "compaction_dropped_entries_total", "counter", "Hidden versions and bottom tombstones dropped.",
                d(s.compaction_dropped_entries));
  append_metric(out, "running_compactions", "gauge", "Compactions running now.", d(s.running_compactions));
  append_metric(out, "table_probes_total", "counter", "SSTables consulted by gets.", d(s.table_probes));
  append_metric(out, "block_read_bytes_total", "counter", "On-disk bytes of data blocks read.", d(s.block_read_bytes));
  append_metric(out, "bloom_checks_total", "counter", "Table lookups that consulted a bloom filter.",
                d(s.bloom_checks));
  append_metric(out, "bloom_negative_rate", "gauge", "Fraction of bloom checks that ruled the table out.",
                s.bloom_negative_rate());
  append_metric(out, "block_cache_hits_total", "counter", "Block cache hits.", d(s.block_cache_hits));
  append_metric(out, "block_cache_misses_total", "counter", "Block cache misses.", d(s.block_cache_misses));
  append_metric(out, "block_cache_hit_rate", "gauge", "Block cache hits per lookup.", s.block_cache_hit_rate());
  append_metric(out, "block_cache_usage_bytes", "gauge", "Bytes held by the block cache.",
                d(s.block_cache_usage_bytes));
  append_metric(out, "block_cache_capacity_bytes", "gauge", "Capacity of the block cache.",
                d(s.block_cache_capacity_bytes));
  append_metric(out, "table_cache_hits_total", "counter", "Table cache hits.", d(s.table_cache_hits));
  append_metric(out, "table_cache_misses_total", "counter", "Table cache misses.", d(s.table_cache_misses));
  append_metric(out, "table_cache_hit_rate", "gauge", "Table cache hits per lookup.", s.table_cache_hit_rate());
  append_metric(out, "open_tables", "gauge", "SSTable readers held by the table cache.", d(s.open_tables));
  append_metric(out, "read_only", "gauge", "1 when the DB refuses writes after a failed write or sync.",
                s.read_only ? 1 : 0);
  out += "# HELP strata_level_files Files per LSM level.\n# TYPE strata_level_files gauge\n";
  for (const auto& l : s.levels) {
    out += "strata_level_files{level=\"" + std::to_string(l.level) + "\"} " + std::to_string(l.file_count) + "\n";
  }
  out += "# HELP strata_level_size_bytes Bytes per LSM level.\n# TYPE strata_level_size_bytes gauge\n";
  for (const auto& l : s.levels) {
    out += "strata_level_size_bytes{level=\"" + std::to_string(l.level) + "\"} " + std::to_string(l.size_bytes) + "\n";
  }
  out +=
      "# HELP strata_level_target_bytes Size that triggers a compaction of the level (L1+).\n"
      "# TYPE strata_level_target_bytes gauge\n";
  for (const auto& l : s.levels) {
    out +=
        "strata_level_target_bytes{level=\"" + std::to_string(l.level) + "\"} " + std::to_string(l.target_bytes) + "\n";
  }
  out +=
      "# HELP strata_level_compaction_score Compaction score of the level (>= 1: due).\n"
      "# TYPE strata_level_compaction_score gauge\n";
  for (const auto& l : s.levels) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", l.compaction_score);
    out += "strata_level_compaction_score{level=\"" + std::to_string(l.level) + "\"} " + buf + "\n";
  }
  std::string labels = "{node_id=\"" + label_value(node_id) + "\",sync_policy=\"" + label_value(s.sync_policy) + "\"}";
  append_metric(out, "node_info", "gauge", "Constant 1, labelled with the node's identity.", 1, labels);
  return out;
}

namespace {

json::object invalid_messages_to_json(const std::array<uint64_t, raft::kDropReasonCount>& counts) {
  json::object o;
  for (size_t i = 1; i < counts.size(); ++i) o[raft::to_string(static_cast<raft::DropReason>(i))] = counts[i];
  return o;
}

}  // namespace

json::object replication_stats_to_json(const replication::NodeStats& s) {
  return json::object{{"proposals", s.proposals},
                      {"proposals_refused", s.proposals_refused},
                      {"proposal_batches", s.proposal_batches},
                      {"applied_entries", s.applied_entries},
                      {"snapshots_sent", s.snapshots_sent},
                      {"snapshots_installed", s.snapshots_installed},
                      {"log_compactions", s.compactions},
                      {"read_index_rounds", s.read_index_rounds},
                      {"learners_removed", s.learners_removed},
                      {"ready_cycles", s.ready_cycles},
                      {"entries_persisted", s.entries_persisted},
                      {"persist_micros", s.persist_micros},
                      {"messages_sent", s.messages_sent},
                      {"entries_applied_early", s.entries_applied_early},
                      {"messages_invalid", invalid_messages_to_json(s.messages_invalid)}};
}

std::string replication_stats_to_prometheus(const replication::NodeStats& s) {
  std::string out;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  append_metric(out, "raft_proposals_total", "counter", "Writes proposed to Raft by this node.", d(s.proposals));
  append_metric(out, "raft_proposals_refused_total", "counter", "Writes refused as overloaded (max pending proposals).",
                d(s.proposals_refused));
  append_metric(out, "raft_proposal_batches_total", "counter", "Batches of proposals stepped into Raft.",
                d(s.proposal_batches));
  append_metric(out, "raft_applied_entries_total", "counter", "Committed log entries applied to the DB.",
                d(s.applied_entries));
  append_metric(out, "raft_snapshots_sent_total", "counter", "DB snapshots sent to followers.", d(s.snapshots_sent));
  append_metric(out, "raft_snapshots_installed_total", "counter", "DB snapshots installed from a leader.",
                d(s.snapshots_installed));
  append_metric(out, "raft_log_compactions_total", "counter", "Raft log compactions.", d(s.compactions));
  append_metric(out, "raft_read_index_rounds_total", "counter", "ReadIndex rounds for linearizable reads.",
                d(s.read_index_rounds));
  append_metric(out, "raft_learners_removed_total", "counter", "Learners removed after an interrupted join.",
                d(s.learners_removed));
  append_metric(out, "raft_ready_cycles_total", "counter", "Ready cycles of the replication loop.", d(s.ready_cycles));
  append_metric(out, "raft_entries_persisted_total", "counter", "Raft log entries persisted.", d(s.entries_persisted));
  append_metric(out, "raft_persist_seconds_total", "counter",
                "Time spent persisting the Raft log (write and fdatasync).", d(s.persist_micros) / 1e6);
  append_metric(out, "raft_messages_sent_total", "counter", "Raft messages handed to the peer transport.",
                d(s.messages_sent));
  append_metric(out, "raft_entries_applied_early_total", "counter",
                "Committed entries the leader applied as soon as an acknowledgement committed them.",
                d(s.entries_applied_early));
  append_metric(out, "raft_leader_changes_total", "counter", "Times this node saw another node become the leader.",
                d(s.leader_changes));
  const std::pair<std::string_view, HistogramSnapshot> persist[] = {{"", s.persist_latency}};
  append_histogram_family(out, "raft_log_persist_duration_seconds",
                          "Raft log persists of the Ready loop (the append and its fdatasync).", "", persist);
  const std::pair<std::string_view, HistogramSnapshot> proposal[] = {{"", s.proposal_latency}};
  append_histogram_family(
      out, "raft_proposal_duration_seconds",
      "Writes from their proposal to their result on this node (committed by a quorum and applied).", "", proposal);
  std::vector<std::pair<std::string_view, double>> invalid;
  for (size_t i = 1; i < s.messages_invalid.size(); ++i) {
    invalid.emplace_back(raft::to_string(static_cast<raft::DropReason>(i)), d(s.messages_invalid[i]));
  }
  append_metric_family(out, "raft_messages_invalid_total", "counter",
                       "Peer messages dropped without being acted on, by reason.", "reason", invalid);
  return out;
}

json::object transport_stats_to_json(const replication::TransportStats& s) {
  return json::object{{"frames_sent", s.frames_sent},
                      {"frames_received", s.frames_received},
                      {"dropped", s.dropped},
                      {"connects", s.connects},
                      {"protocol_errors", s.protocol_errors},
                      {"connections_refused", s.connections_refused},
                      {"timeouts", s.timeouts},
                      {"auth_failures", s.auth_failures},
                      {"tls_handshake_failures", s.tls_handshake_failures},
                      {"authenticated", s.authenticated},
                      {"tls", s.tls},
                      {"inbound_connections", s.inbound_connections},
                      {"inbound_buffer_bytes", s.inbound_buffer_bytes},
                      {"max_frame_bytes", s.max_frame_bytes},
                      {"max_inbound_connections", s.max_inbound_connections},
                      {"max_inbound_per_address", s.max_inbound_per_address},
                      {"handshake_timeout_ms", s.handshake_timeout_ms},
                      {"frame_timeout_ms", s.frame_timeout_ms}};
}

std::string transport_stats_to_prometheus(const replication::TransportStats& s) {
  std::string out;
  auto d = [](uint64_t v) { return static_cast<double>(v); };
  append_metric(out, "peer_frames_sent_total", "counter", "Peer frames written.", d(s.frames_sent));
  append_metric(out, "peer_frames_received_total", "counter", "Peer frames read.", d(s.frames_received));
  append_metric(out, "peer_messages_dropped_total", "counter",
                "Outbound Raft messages dropped (queue full, unknown peer, fault hook).", d(s.dropped));
  append_metric(out, "peer_connects_total", "counter", "Outbound peer connections established.", d(s.connects));
  append_metric(out, "peer_protocol_errors_total", "counter",
                "Inbound peer connections closed for a malformed frame or hello.", d(s.protocol_errors));
  append_metric(out, "peer_connections_refused_total", "counter",
                "Inbound peer connections refused over a connection cap.", d(s.connections_refused));
  append_metric(out, "peer_timeouts_total", "counter",
                "Inbound peer connections closed by the handshake or frame deadline.", d(s.timeouts));
  append_metric(
      out, "peer_auth_failures_total", "counter",
      "Peer handshakes refused for a missing or wrong MAC or a certificate naming another node (a forged, replayed or "
      "misconfigured peer).",
      d(s.auth_failures));
  append_metric(out, "peer_tls_handshake_failures_total", "counter",
                "Peer TLS handshakes that failed (no certificate, another CA, expired, plain TCP).",
                d(s.tls_handshake_failures));
  append_metric(out, "peer_authenticated", "gauge", "1 when a cluster secret authenticates every peer connection.",
                s.authenticated ? 1 : 0);
  append_metric(out, "peer_tls", "gauge", "1 when every peer connection uses mutual TLS.", s.tls ? 1 : 0);
  append_metric(out, "peer_inbound_connections", "gauge", "Inbound peer connections open.", d(s.inbound_connections));
  append_metric(out, "peer_inbound_buffer_bytes", "gauge", "Bytes allocated for peer frames being received.",
                d(s.inbound_buffer_bytes));
  append_metric(out, "peer_limit_max_frame_bytes", "gauge", "Largest peer frame payload accepted.",
                d(s.max_frame_bytes));
  append_metric(out, "peer_limit_max_inbound_connections", "gauge", "Inbound peer connections allowed in total.",
                d(s.max_inbound_connections));
  append_metric(out, "peer_limit_max_inbound_per_address", "gauge",
                "Inbound peer connections allowed per remote address.", d(s.max_inbound_per_address));
  append_metric(out, "peer_limit_handshake_timeout_seconds", "gauge",
                "Time a new peer connection has to send its hello.", d(s.handshake_timeout_ms) / 1e3);
  append_metric(out, "peer_limit_frame_timeout_seconds", "gauge", "Time a peer frame has to arrive once it started.",
                d(s.frame_timeout_ms) / 1e3);
  return out;
}

}  // namespace strata::net::http
