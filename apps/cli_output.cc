#include "apps/cli_output.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <string>

namespace strata::cli {

void put_bytes(std::string_view bytes) {
  static const bool tty = ::isatty(STDOUT_FILENO) != 0;
  if (!tty) {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    return;
  }
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
      std::printf("\\x%02x", u);
    } else {
      std::fputc(c, stdout);
    }
  }
}

void print_pairs(const std::vector<KeyValue>& rows, bool more) {
  for (const auto& kv : rows) {
    put_bytes(kv.key);
    std::fputs(" = ", stdout);
    put_bytes(kv.value);
    std::fputc('\n', stdout);
  }
  std::printf("(%zu item%s%s)\n", rows.size(), rows.size() == 1 ? "" : "s",
              more ? "; the range holds more: raise the limit, or scan on from past the last key" : "");
}

// "1.5 KiB" etc. (binary units).
std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", n);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100);
  return buf;
}

// Bytes as they print: printable ASCII as is, anything else as \xNN, quoted.
std::string escaped(std::string_view bytes) {
  std::string out = "\"";
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  out.push_back('"');
  return out;
}

void print_stats(const DbStats& s) {
  std::printf("Contents\n");
  std::printf("  last_sequence         %" PRIu64 "\n", s.last_sequence);
  std::printf("  memtable              %" PRIu64 " keys, %s (memtable_keys, memtable_size_bytes); immutable: %" PRIu64
              "\n",
              s.memtable_keys, human_bytes(s.memtable_size_bytes).c_str(), s.immutable_memtables);
  std::printf("  sstables              %" PRIu64 " files, %s (sstable_count, total_size_bytes)\n", s.sstable_count,
              human_bytes(s.total_sstable_size_bytes).c_str());
  std::printf("Levels\n");
  std::printf("  %-5s %7s %12s %12s %7s\n", "level", "files", "size", "target", "score");
  for (const auto& l : s.levels) {
    std::string target = l.level == 0 ? "-" : human_bytes(l.target_bytes);
    std::printf("  L%-4d %7" PRIu64 " %12s %12s %7.2f\n", l.level, l.file_count, human_bytes(l.size_bytes).c_str(),
                target.c_str(), l.compaction_score);
  }
  std::printf("Amplification\n");
  std::printf("  write                 %.2f  (%s written to disk / %s by the user)\n", s.write_amplification(),
              human_bytes(s.bytes_written_disk()).c_str(), human_bytes(s.bytes_written_user).c_str());
  std::printf("  read                  %.2f  (SSTables consulted per get)\n", s.read_amplification());
  std::printf("  space                 %.2f  (SSTable bytes / deepest level's bytes)\n", s.space_amplification());
  std::printf("Traffic\n");
  std::printf("  puts %" PRIu64 ", deletes %" PRIu64 ", gets %" PRIu64 ", scans %" PRIu64 "\n", s.puts, s.deletes,
              s.gets, s.scans);
  std::printf("  written: WAL %s, flush %s, compaction %s; WAL syncs %" PRIu64 ", write groups %" PRIu64 "\n",
              human_bytes(s.bytes_written_wal).c_str(), human_bytes(s.bytes_written_flush).c_str(),
              human_bytes(s.bytes_written_compaction).c_str(), s.wal_syncs, s.write_groups);
  std::printf("Caches and filters\n");
  std::printf("  block cache           hit rate %s (%" PRIu64 " hits, %" PRIu64 " misses), %s of %s\n",
              percent(s.block_cache_hit_rate()).c_str(), s.block_cache_hits, s.block_cache_misses,
              human_bytes(s.block_cache_usage_bytes).c_str(), human_bytes(s.block_cache_capacity_bytes).c_str());
  std::printf("  table cache           hit rate %s (%" PRIu64 " hits, %" PRIu64 " misses), %" PRIu64 " open tables\n",
              percent(s.table_cache_hit_rate()).c_str(), s.table_cache_hits, s.table_cache_misses, s.open_tables);
  std::printf("  bloom filters         negative rate %s (%" PRIu64 " of %" PRIu64 " checks ruled the table out)\n",
              percent(s.bloom_negative_rate()).c_str(), s.bloom_negatives, s.bloom_checks);
  std::printf("  blocks read           %" PRIu64 " (%s)\n", s.block_reads, human_bytes(s.block_read_bytes).c_str());
  std::printf("Background work\n");
  std::printf("  flushes               %" PRIu64 "\n", s.flushes);
  std::printf("  compactions           %" PRIu64 " (+%" PRIu64
              " trivial moves), read %s, written %s, %.3f s, "
              "%" PRIu64 " entries dropped, %" PRIu64 " running\n",
              s.compactions, s.trivial_moves, human_bytes(s.bytes_read_compaction).c_str(),
              human_bytes(s.bytes_written_compaction).c_str(), static_cast<double>(s.compaction_micros) / 1e6,
              s.compaction_dropped_entries, s.running_compactions);
  std::printf("  write stalls          %.3f s\n", static_cast<double>(s.stall_micros) / 1e6);
  std::printf("sync policy %s; %s\n", s.sync_policy.c_str(),
              s.read_only ? ("READ-ONLY: " + s.read_only_reason).c_str() : "writable");
}

void print_trace(const LookupTrace& t) {
  std::printf("TRACE %s at sequence %" PRIu64 " (%" PRIu64 " us)\n", escaped(t.key).c_str(), t.read_sequence, t.micros);
  int i = 0;
  for (const auto& st : t.steps) {
    std::string detail;
    if (st.bloom_checked) detail += "bloom checked";
    if (st.level >= 0 && st.outcome != "bloom_negative") {
      if (!detail.empty()) detail += ", ";
      detail += std::to_string(st.block_cache_hits) + " cache hit(s), " + std::to_string(st.blocks_read) +
                " block(s) read (" + human_bytes(st.bytes_read) + ")";
    }
    std::printf("  %2d. %-24s %-15s %s\n", ++i, st.source.c_str(), st.outcome.c_str(), detail.c_str());
  }
  if (t.found && t.value) {
    std::printf("result: found %s", escaped(*t.value).c_str());
    if (t.found_sequence) std::printf(" (sequence %" PRIu64 ")", *t.found_sequence);
    std::printf("\n");
  } else {
    std::printf("result: not found\n");
  }
  std::printf("%" PRIu64 " SSTable(s) consulted, %" PRIu64 " bloom negative(s), %" PRIu64
              " block cache hit(s), %" PRIu64 " block(s) read\n",
              t.sstables_consulted(), t.bloom_negatives(), t.block_cache_hits(), t.blocks_read());
}

void print_options(const std::vector<OptionInfo>& options) {
  std::printf("%-32s %-20s %s\n", "name", "value", "mutable");
  for (const auto& o : options) {
    std::printf("%-32s %-20s %s\n", o.name.c_str(), o.value.c_str(), o.mutable_at_runtime ? "yes" : "no");
  }
}

}  // namespace strata::cli
